"""Signed embed links: a ``GET /screenshot`` URL that carries its own authorisation (the
key's id, an expiry time and an HMAC-SHA256 over every parameter), so a capture can sit in
an ``<img src>`` without an API key. The canonical form follows the server's contract
exactly (the README's "Signed links"): RFC 3986 encoding, pairs sorted.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
import urllib.parse
from datetime import datetime
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import PageShotError
from .options import scalar_options

#: Longest life of a link the server accepts (a year), in seconds.
MAX_EXPIRES_IN = 31_536_000
#: Parameters the signature itself adds; an option of the same name would be ambiguous.
_RESERVED = ("keyId", "expires", "signature")


def rfc3986(text: str) -> str:
    """Every UTF-8 byte but ``A-Z a-z 0-9 - . _ ~`` as ``%XX`` (uppercase hex)."""
    return urllib.parse.quote(text, safe="")


def canonical_query(pairs: Sequence[Tuple[str, str]]) -> str:
    """Every (name, value) pair but ``signature``, each side RFC 3986-encoded, sorted by
    encoded name then encoded value (code-unit order), joined as ``name=value`` with ``&``."""
    encoded = sorted((rfc3986(name), rfc3986(value)) for name, value in pairs if name != "signature")
    return "&".join(f"{name}={value}" for name, value in encoded)


def signature(secret: str, canonical: str) -> str:
    """Lowercase hex HMAC-SHA256 of ``GET\\n/screenshot\\n`` + the canonical query."""
    message = f"GET\n/screenshot\n{canonical}".encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def _query_value(name: str, value: Any) -> str:
    """Booleans ``true``/``false``, numbers in decimal (a whole float without ``.0``), text as is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate has no UTF-8 bytes: no URL can carry it.
            raise PageShotError(f"Option {name!r} of a signed link holds a lone surrogate, which no URL can carry.") from None
        return value
    raise PageShotError(f"Option {name!r} of a signed link must be a str, a bool or a finite number.")


def _unix_seconds(now: Union[float, datetime, None]) -> int:
    if now is None:
        return int(time.time())
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise PageShotError("now must be an aware datetime (with a tzinfo) or Unix seconds.")
        return math.floor(now.timestamp())
    if isinstance(now, (int, float)) and not isinstance(now, bool) and math.isfinite(now):
        return math.floor(now)
    raise PageShotError("now must be an aware datetime or Unix seconds.")


def sign_url(
    base_url: str, secret: str, key_id: str, options: Mapping[str, Any], expires_in: int, now: Union[float, datetime, None]
) -> str:
    """The absolute URL of a signed ``GET /screenshot`` for ``options`` (names checked)."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or not 1 <= expires_in <= MAX_EXPIRES_IN:
        raise PageShotError(f"expires_in must be a whole number of seconds from 1 to {MAX_EXPIRES_IN}.")
    for name in options:
        if name in _RESERVED or name in ("key_id",):
            raise PageShotError(f"{name!r} is set by signed_url() itself; it cannot be an option.")
    pairs: List[Tuple[str, str]] = [(name, _query_value(name, value)) for name, value in scalar_options(options).items()]
    pairs += [("keyId", key_id), ("expires", str(_unix_seconds(now) + expires_in))]
    canonical = canonical_query(pairs)
    # The canonical query is itself a valid query string; the server decodes it back to the same pairs.
    return f"{base_url.rstrip('/')}/screenshot?{canonical}&signature={signature(secret, canonical)}"


class SigningKey:
    """A signing secret and the id of its key; its ``repr`` shows the id only."""

    __slots__ = ("secret", "key_id")

    def __init__(self, secret: str, key_id: str) -> None:
        self.secret = secret
        self.key_id = key_id

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id!r})"


def merge_options(options: Optional[Mapping[str, Any]], kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    """``signed_url({...})`` or ``signed_url(url=..., width=...)``, or both (a name in both is refused)."""
    if options is None:
        return kwargs
    if not isinstance(options, Mapping):
        raise PageShotError("signed_url() takes a mapping of screenshot options, or keyword arguments.")
    both = set(options) & set(kwargs)
    if both:
        raise PageShotError(f"Option {sorted(both)[0]!r} is given twice.")
    return {**options, **kwargs}


__all__ = ["SigningKey", "canonical_query", "signature", "sign_url"]
