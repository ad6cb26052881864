"""Key management (``/v1/keys``, scope ``keys:manage``)."""

from __future__ import annotations

import threading
import urllib.parse
from typing import Any, Iterator, Mapping, Optional, Sequence, cast

from ._calls import READ, WRITE, DateLike, camel_keys, day, json_answer
from .models import IssuedKey, KeyInfo, KeyPage, Usage
from .options import camel
from .transport import Call, Transport


class Keys:
    """Key management (``/v1/keys``, scope ``keys:manage``). Reach it as ``client.keys``."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def _call_json(self, call: Call, cancel: Optional[threading.Event]) -> Any:
        return json_answer(self._transport.call(call, cancel=cancel).body)

    @staticmethod
    def _path(key_id: str) -> str:
        return "/v1/keys/" + urllib.parse.quote(key_id, safe="")

    def create(
        self,
        name: str,
        scopes: Sequence[str],
        *,
        expires_at: Optional[str] = None,
        limits: Optional[Mapping[str, int]] = None,
        allowed_hosts: Optional[Sequence[str]] = None,
        allowed_ips: Optional[Sequence[str]] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        cancel: Optional[threading.Event] = None,
    ) -> IssuedKey:
        """Creates a key. The answer's ``key`` is the only time the key is ever shown: store it now.

        ``limits`` takes ``rate``, ``burst``, ``daily`` and ``concurrent``.
        """
        body = camel_keys(
            {"name": name, "scopes": list(scopes), "expires_at": expires_at, "limits": limits,
             "allowed_hosts": allowed_hosts, "allowed_ips": allowed_ips, "metadata": metadata}
        )
        return cast(IssuedKey, self._call_json(Call("POST", "/v1/keys", WRITE, body=body), cancel))

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None, cancel: Optional[threading.Event] = None) -> KeyPage:
        """One page of keys (hints only, never keys); pass the answer's ``next`` as ``cursor`` for more."""
        return cast(KeyPage, self._call_json(Call("GET", "/v1/keys", READ, query={"limit": limit, "cursor": cursor}), cancel))

    def all(self, *, cancel: Optional[threading.Event] = None) -> Iterator[KeyInfo]:
        """Every key, page by page."""
        cursor: Optional[str] = None
        while True:
            page = self.list(limit=100, cursor=cursor, cancel=cancel)
            yield from page["data"]
            cursor = page["next"]
            if not cursor:
                return

    def get(self, key_id: str, *, cancel: Optional[threading.Event] = None) -> KeyInfo:
        """One key by id; :class:`~pageshot.NotFoundError` when there is none."""
        return cast(KeyInfo, self._call_json(Call("GET", self._path(key_id), READ), cancel))

    def update(self, key_id: str, *, cancel: Optional[threading.Event] = None, **changes: Any) -> KeyInfo:
        """Changes a key's settings (``name``, ``scopes``, ``expires_at``, ``limits``,
        ``allowed_hosts``, ``allowed_ips``, ``metadata``) or disables it (``disabled=True``)."""
        body = {camel(name): value for name, value in changes.items()}
        return cast(KeyInfo, self._call_json(Call("PATCH", self._path(key_id), WRITE, body=body), cancel))

    def revoke(self, key_id: str, *, cancel: Optional[threading.Event] = None) -> KeyInfo:
        """Revokes a key for good; revoking a revoked key is harmless (so it is retried like a read)."""
        return cast(KeyInfo, self._call_json(Call("DELETE", self._path(key_id), READ), cancel))

    def rotate(self, key_id: str, *, grace_period_seconds: Optional[int] = None, cancel: Optional[threading.Event] = None) -> IssuedKey:
        """Issues a new key with the same settings; the old one keeps working for
        ``grace_period_seconds`` (default 0: revoked at once)."""
        body = camel_keys({"grace_period_seconds": grace_period_seconds})
        return cast(IssuedKey, self._call_json(Call("POST", self._path(key_id) + "/rotate", WRITE, body=body), cancel))

    def usage(self, key_id: str, from_date: DateLike = None, to_date: DateLike = None, *, cancel: Optional[threading.Event] = None) -> Usage:
        """A key's usage per UTC day and in total (default the last 30 days)."""
        query = {"from": day(from_date), "to": day(to_date)}
        return cast(Usage, self._call_json(Call("GET", self._path(key_id) + "/usage", READ, query=query), cancel))


__all__ = ["Keys"]
