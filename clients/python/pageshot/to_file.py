"""Writing a capture as it arrives, never holding it whole: to a path (all or nothing) or
to a file object you opened.

To a path, each attempt writes a new hidden file beside the target and only a complete
answer is renamed over it (:func:`os.replace`, atomic on one file system): a failed or
retried capture never leaves a partial file, nor appends to one, and an existing file is
replaced only by a whole new one.

To a file object, a retry rewinds it (``seek`` + ``truncate``) to where it stood, when
it can; one that cannot (a pipe, a socket) is retried only until its first byte.
"""

from __future__ import annotations

import os
import secrets
from typing import IO, Any, Iterator, Optional

from .errors import PageShotError


def _file_error(action: str, where: Any, error: BaseException) -> PageShotError:
    # A PageShotError, not an OSError: the transport reads OSErrors as a lost connection and retries them.
    return PageShotError(f"Could not {action} {where}: {error}")


def check_target(path: str | os.PathLike[str]) -> None:
    """Refuses early, before a request is spent, a path whose folder is missing or not
    writable: a render that cannot be stored would only count against the quota."""
    folder: str = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
        raise PageShotError(f"Cannot write {os.fspath(path)!r}: its folder {folder!r} is missing or not writable.")


class PartFile:
    """The sink of one capture to a path: each attempt's bytes go to a new hidden file
    beside the target (``.<name>.<random>.part``); :meth:`commit` renames the complete one
    over the target."""

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self.target = os.fspath(target)
        self.part: Optional[str] = None
        self.size = 0

    def __call__(self, chunks: Iterator[bytes]) -> int:
        """Writes one attempt's body; errors reading it pass through for the transport to
        judge (retry or not), errors writing are a :class:`PageShotError`. On any error the
        part file is removed."""
        self.discard()
        folder, name = os.path.split(os.path.abspath(self.target))
        part = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.part")
        try:
            file = open(part, "xb")
        except OSError as error:
            raise _file_error("create", part, error) from None
        self.part, self.size = part, 0
        try:
            with file:
                for chunk in chunks:
                    try:
                        file.write(chunk)
                    except OSError as error:
                        raise _file_error("write", part, error) from None
                    self.size += len(chunk)
                try:
                    file.flush()
                    # On disk before the rename makes it the target: a crash never leaves a short file under the real name.
                    os.fsync(file.fileno())
                except OSError as error:
                    raise _file_error("write", part, error) from None
        except BaseException:
            self.discard()
            raise
        return self.size

    def commit(self) -> None:
        """Renames the complete part file over the target."""
        if self.part is None:
            return
        try:
            os.replace(self.part, self.target)
        except OSError as error:
            self.discard()
            raise _file_error("rename the capture to", self.target, error) from None
        self.part = None

    def discard(self) -> None:
        """Removes the part file, if any."""
        if self.part is not None:
            try:
                os.unlink(self.part)
            except OSError:
                pass
            self.part = None


class FileObjectSink:
    """The sink of one capture to a binary file object opened by the caller."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.size = 0
        try:
            self.start: Optional[int] = file.tell() if file.seekable() else None
        except (OSError, ValueError):
            self.start = None

    def may_retry(self) -> bool:
        """A retry is possible while nothing was written, or when the file can be rewound."""
        return self.size == 0 or self.start is not None

    def __call__(self, chunks: Iterator[bytes]) -> int:
        """Writes one attempt's body. When it fails part way, a seekable file is rewound at
        once, so it never keeps a partial capture; another one keeps what was written, and
        :meth:`may_retry` then stops the retries."""
        self.size = 0
        try:
            for chunk in chunks:
                try:
                    self.file.write(chunk)
                except (OSError, ValueError) as error:
                    raise _file_error("write to", self.file, error) from None
                self.size += len(chunk)
            try:
                self.file.flush()
            except (OSError, ValueError) as error:
                raise _file_error("write to", self.file, error) from None
        except BaseException:
            self._rewind()
            raise
        return self.size

    def _rewind(self) -> None:
        """Back to where the file stood before the capture (best effort: the capture's own error is the one to raise)."""
        if self.size and self.start is not None:
            try:
                self.file.seek(self.start)
                self.file.truncate()
                self.size = 0
            except (OSError, ValueError):
                pass


__all__ = ["FileObjectSink", "PartFile", "check_target"]
