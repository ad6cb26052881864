"""What the answer to a capture says: :class:`Screenshot` (the bytes in memory) and
:class:`SavedScreenshot` (the bytes written to a file), with the headers read the same way."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple, Union, cast

from .errors import PageShotError
from .rate_limit import RateLimit
from .transport import Answer


def _server_timing(header: str) -> Tuple[Dict[str, float], Dict[str, float]]:
    """``queue;dur=3, navigation;dur=120, render;dur=170`` → ``({"queue_ms": 3, "render_ms": 170},
    {"navigation": 120})``: queue and render (the total), and every other entry as a phase, in order;
    or ``cache;desc="hit";dur=0.4`` (``cache_ms``) for an answer from the result cache, which is no phase."""
    timing: Dict[str, float] = {}
    phases: Dict[str, float] = {}
    for entry in header.split(","):
        name, *params = [part.strip() for part in entry.split(";")]
        durations = [param[4:].strip('"') for param in params if param.lower().startswith("dur=")]
        try:
            ms = float(durations[0]) if durations else None
        except ValueError:
            ms = None
        if not name or ms is None:
            continue
        if name in ("queue", "render", "cache"):
            timing[f"{name}_ms"] = ms
        else:
            phases[name] = ms
    return timing, phases


def _int_header(headers: Mapping[str, str], name: str) -> Optional[int]:
    value = (headers.get(name) or "").strip()
    # isdigit() alone takes "²" and other digits int() refuses.
    return int(value) if value.isascii() and value.isdigit() else None


#: What ``X-Cache`` says when PageShot sends it.
_CACHE_STATUSES = ("HIT", "MISS", "BYPASS")


def _cache_status(headers: Mapping[str, str]) -> Optional[str]:
    """``X-Cache`` as PageShot sends it; anything else (a CDN in front that sets its own, say
    ``Hit from cloudfront``) is not about PageShot's cache, so None."""
    value = (headers.get("x-cache") or "").strip().upper()
    return value if value in _CACHE_STATUSES else None


def capture_fields(answer: Answer) -> Dict[str, Any]:
    """Everything a capture's answer says but its bytes, as the fields of :class:`Screenshot`
    and :class:`SavedScreenshot`."""
    headers = answer.headers
    timing, phases = _server_timing(headers.get("server-timing") or "")
    return dict(
        content_type=answer.content_type,
        rate_limit=answer.rate_limit,
        request_id=answer.request_id,
        timing=timing,
        phases=phases,
        final_url=headers.get("x-pageshot-final-url") or None,
        target_status=_int_header(headers, "x-pageshot-target-status"),
        truncated=(headers.get("x-pageshot-truncated") or "").strip().lower() == "true",
        pages=_int_header(headers, "x-pageshot-pages"),
        cache=_cache_status(headers),
        etag=headers.get("etag") or None,
        age=_int_header(headers, "age"),
        not_modified=answer.not_modified,
    )


@dataclass(frozen=True)
class Screenshot:
    """A capture: an image, or a PDF (``format="pdf"`` or :meth:`PageShot.pdf`)."""

    #: The bytes of the image (or of the PDF); empty when ``not_modified``.
    image: bytes = field(repr=False)
    #: ``image/png``, ``image/jpeg``, ``image/webp`` or ``application/pdf``; ``""`` when
    #: ``not_modified`` (the bytes you hold keep their type).
    content_type: str
    #: Where the key stands after this request, if the server said.
    rate_limit: Optional[RateLimit]
    #: The server's request id.
    request_id: Optional[str]
    #: Milliseconds queued (``queue_ms``) and rendering (``render_ms``) on the server
    #: (``Server-Timing``), when sent.
    timing: Dict[str, float] = field(default_factory=lambda: cast(Dict[str, float], {}))
    #: Milliseconds in each phase of the render, in order: ``navigation``, ``waits``,
    #: ``scroll``, ``delay``, ``capture`` (those that ran), from ``Server-Timing``.
    phases: Dict[str, float] = field(default_factory=lambda: cast(Dict[str, float], {}))
    #: The page's address when captured, after redirects (``X-PageShot-Final-Url``);
    #: None for ``html`` and very long addresses.
    final_url: Optional[str] = None
    #: HTTP status of the target's document (``X-PageShot-Target-Status``); None for ``html``.
    target_status: Optional[int] = None
    #: True when a size cap cut the page or element short (``X-PageShot-Truncated``).
    truncated: bool = False
    #: Page count of a PDF (``X-PageShot-Pages``); None for images.
    pages: Optional[int] = None
    #: What the server's result cache did (``X-Cache``): ``"HIT"`` answered from it (or from an
    #: identical capture running at the same time), ``"MISS"`` rendered and stored,
    #: ``"BYPASS"`` rendered and not stored (``cache_ttl=0``); None from a server without the cache.
    cache: Optional[str] = None
    #: The strong entity tag of the bytes (``ETag``, quoted as sent); pass it as
    #: ``if_none_match=`` to a later call.
    etag: Optional[str] = None
    #: Seconds since the cached result was rendered (``Age``), on HIT and MISS; None on BYPASS.
    age: Optional[int] = None
    #: True when the server answered 304 Not Modified to ``if_none_match=``: the bytes you
    #: hold (tagged ``etag``) are still the answer, and none were sent again.
    not_modified: bool = False

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the image (or PDF) to ``path``.

        :raises PageShotError: when ``not_modified``: there are no bytes, and writing none
            would empty the file that holds them.
        """
        if self.not_modified:
            raise PageShotError("Nothing to save: the server answered 304 Not Modified, the bytes you hold are current.")
        with open(path, "wb") as file:
            file.write(self.image)


@dataclass(frozen=True)
class SavedScreenshot:
    """A capture written to a file by :meth:`PageShot.screenshot_to_file`: where, how many
    bytes, and everything else the answer said (the fields of :class:`Screenshot` but ``image``)."""

    #: The path written (None when the target was a file object).
    path: Optional[str]
    #: Bytes written (0 when ``not_modified``: the file was not touched).
    size: int
    content_type: str
    rate_limit: Optional[RateLimit]
    request_id: Optional[str]
    timing: Dict[str, float] = field(default_factory=lambda: cast(Dict[str, float], {}))
    phases: Dict[str, float] = field(default_factory=lambda: cast(Dict[str, float], {}))
    final_url: Optional[str] = None
    target_status: Optional[int] = None
    truncated: bool = False
    pages: Optional[int] = None
    cache: Optional[str] = None
    etag: Optional[str] = None
    age: Optional[int] = None
    not_modified: bool = False


__all__ = ["SavedScreenshot", "Screenshot", "capture_fields"]
