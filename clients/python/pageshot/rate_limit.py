"""Reading the server's rate-limit headers.

The de-facto ``X-RateLimit-*`` trio, the IETF draft's ``RateLimit`` /
``RateLimit-Policy`` fields (draft-ietf-httpapi-ratelimit-headers-10) and
``Retry-After`` (RFC 9110 §10.2.3).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Dict, Mapping, Optional, cast

_INTEGER = re.compile(r"^\s*\d+\s*$")


@dataclass(frozen=True)
class RateLimitPolicy:
    """One policy as the IETF fields describe it (``burst``, ``daily``)."""

    #: Requests left (``r``).
    remaining: int
    #: Seconds until more are available (``t``), from :attr:`RateLimit.observed_at`.
    reset_seconds: int
    #: Requests per window (``q``), when ``RateLimit-Policy`` was sent.
    quota: Optional[int] = None
    #: The window in seconds (``w``), when ``RateLimit-Policy`` was sent.
    window_seconds: Optional[int] = None


@dataclass(frozen=True)
class RateLimit:
    """Where the key stands, from the last answer that said so.

    ``limit``, ``remaining`` and ``reset`` describe the policy closest to refusing;
    ``policies`` has each one by name.
    """

    #: Requests the closest-to-refusing policy allows (``X-RateLimit-Limit``).
    limit: int
    #: Requests left before it refuses (``X-RateLimit-Remaining``).
    remaining: int
    #: When ``remaining`` next grows (``X-RateLimit-Reset``, server clock, UTC).
    reset: datetime
    #: Every policy by name, from the IETF fields; empty when the server sent none.
    policies: Dict[str, RateLimitPolicy] = field(default_factory=lambda: cast(Dict[str, RateLimitPolicy], {}))
    #: When this answer arrived (client clock, UTC).
    observed_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def _integer(value: Optional[str]) -> Optional[int]:
    return int(value) if value is not None and _INTEGER.match(value) else None


def _items(value: Optional[str]) -> Dict[str, Dict[str, int]]:
    """Splits an RFC 8941 list of ``"name";k=v`` items into name → parameters."""
    items: Dict[str, Dict[str, int]] = {}
    for member in (value or "").split(","):
        name, *params = member.strip().split(";")
        name = name.strip().strip('"')
        if not name:
            continue
        parsed: Dict[str, int] = {}
        for param in params:
            key, _, raw = param.partition("=")
            if _INTEGER.match(raw):
                parsed[key.strip()] = int(raw)
        items[name] = parsed
    return items


def parse_rate_limit(headers: Mapping[str, str]) -> Optional[RateLimit]:
    """The rate-limit state an answer's headers describe, or None when they describe none.

    ``headers`` must look names up case-insensitively (``http.client.HTTPMessage`` does).
    """
    limit = _integer(headers.get("x-ratelimit-limit"))
    remaining = _integer(headers.get("x-ratelimit-remaining"))
    reset = _integer(headers.get("x-ratelimit-reset"))
    if limit is None or remaining is None or reset is None:
        return None
    quotas = _items(headers.get("ratelimit-policy"))
    policies: Dict[str, RateLimitPolicy] = {}
    for name, params in _items(headers.get("ratelimit")).items():
        if "r" in params and "t" in params:
            quota = quotas.get(name, {})
            policies[name] = RateLimitPolicy(params["r"], params["t"], quota.get("q"), quota.get("w"))
    return RateLimit(limit, remaining, datetime.fromtimestamp(reset, timezone.utc), policies)


def _server_now(headers: Mapping[str, str]) -> float:
    """The server's clock (its ``Date`` header) when it sent one, else ours."""
    try:
        return parsedate_to_datetime(headers.get("date") or "").timestamp()
    except (TypeError, ValueError, IndexError):
        return time.time()


def retry_after_seconds(headers: Mapping[str, str]) -> Optional[float]:
    """Seconds the server asked us to wait (``Retry-After``: delay-seconds or an HTTP
    date, compared with the server's own ``Date``), else None."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    seconds = _integer(value)
    if seconds is not None:
        return float(seconds)
    try:
        at = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, at - _server_now(headers))


def reset_after_seconds(headers: Mapping[str, str]) -> Optional[float]:
    """Seconds until ``X-RateLimit-Reset`` on the server's clock; for a 429 without
    ``Retry-After``."""
    reset = _integer(headers.get("x-ratelimit-reset"))
    if reset is None:
        return None
    return max(0.0, reset - _server_now(headers))
