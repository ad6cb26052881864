"""Reading the server's rate-limit headers, in whichever form it sends them.

PageShot always sends the de-facto ``X-RateLimit-*`` trio, and beside it the IETF
draft's fields in the form ``PAGESHOT_RATELIMIT_HEADERS`` picks:
draft-ietf-httpapi-ratelimit-headers-10 (``RateLimit`` / ``RateLimit-Policy`` lists of
named items), -07 (``RateLimit: limit=…, remaining=…, reset=…``) or -06
(``RateLimit-Limit`` / ``-Remaining`` / ``-Reset``). Also ``Retry-After`` (RFC 9110
§10.2.3).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Dict, Mapping, Optional, Tuple, cast

_INTEGER = re.compile(r"^\s*\d+\s*$")


@dataclass(frozen=True)
class RateLimitPolicy:
    """One policy as the draft-10 fields describe it (``burst``, ``daily``)."""

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

    #: Requests the closest-to-refusing policy allows.
    limit: int
    #: Requests left before it refuses.
    remaining: int
    #: When ``remaining`` next grows (UTC): ``X-RateLimit-Reset`` (server clock) when
    #: sent, else the IETF field's delta seconds counted from :attr:`observed_at`.
    reset: datetime
    #: Every policy by name, from draft-10 fields; empty when the server sent another form.
    policies: Dict[str, RateLimitPolicy] = field(default_factory=lambda: cast(Dict[str, RateLimitPolicy], {}))
    #: When this answer arrived (client clock, UTC).
    observed_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def _integer(value: Optional[str]) -> Optional[int]:
    return int(value) if value is not None and _INTEGER.match(value) else None


#: A policy's name in draft-10: a String (or Token) item. draft-7's ``limit=5`` members
#: and draft-6/-7's bare integer policies (``500;w=3``) name nothing.
_NAME = re.compile(r'^\s*(?:"([^"]+)"|([A-Za-z*][\w:/!#$%&\'*+.^`|~-]*))\s*$')


def _items(value: Optional[str]) -> Dict[str, Dict[str, int]]:
    """Splits an RFC 8941 list of ``"name";k=v`` items into name → parameters."""
    items: Dict[str, Dict[str, int]] = {}
    for member in (value or "").split(","):
        raw_name, *params = member.split(";")
        match = _NAME.match(raw_name)
        if not match:
            continue
        parsed: Dict[str, int] = {}
        for param in params:
            key, _, raw = param.partition("=")
            number = _integer(raw)
            if number is not None:
                parsed[key.strip()] = number
        items[match.group(1) or match.group(2)] = parsed
    return items


def _draft10_policies(headers: Mapping[str, str]) -> Dict[str, RateLimitPolicy]:
    """Each named policy with its ``r`` and ``t``, and ``q`` / ``w`` from ``RateLimit-Policy``."""
    quotas = _items(headers.get("ratelimit-policy"))
    policies: Dict[str, RateLimitPolicy] = {}
    for name, params in _items(headers.get("ratelimit")).items():
        if "r" in params and "t" in params:
            quota = quotas.get(name, {})
            policies[name] = RateLimitPolicy(params["r"], params["t"], quota.get("q"), quota.get("w"))
    return policies


#: The closest policy's limit, remaining and reset, before they become a RateLimit.
_Closest = Tuple[int, int, datetime]


def _trio(limit: Optional[int], remaining: Optional[int], reset: Optional[datetime]) -> Optional[_Closest]:
    if limit is None or remaining is None or reset is None:
        return None
    return limit, remaining, reset


def _after(now: datetime, seconds: Optional[int]) -> Optional[datetime]:
    return None if seconds is None else now + timedelta(seconds=seconds)


def _de_facto(headers: Mapping[str, str]) -> Optional[_Closest]:
    reset = _integer(headers.get("x-ratelimit-reset"))
    return _trio(
        _integer(headers.get("x-ratelimit-limit")),
        _integer(headers.get("x-ratelimit-remaining")),
        None if reset is None else datetime.fromtimestamp(reset, timezone.utc),
    )


def _draft7(headers: Mapping[str, str], now: datetime) -> Optional[_Closest]:
    """``RateLimit`` as an RFC 8941 Dictionary with integer ``limit``, ``remaining``, ``reset``."""
    fields: Dict[str, Optional[int]] = {}
    for member in (headers.get("ratelimit") or "").split(","):
        key, sep, value = member.partition("=")
        if sep:
            fields[key.strip()] = _integer(value)
    return _trio(fields.get("limit"), fields.get("remaining"), _after(now, fields.get("reset")))


def _draft6(headers: Mapping[str, str], now: datetime) -> Optional[_Closest]:
    """Separate ``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` (delta seconds)."""
    return _trio(
        _integer(headers.get("ratelimit-limit")),
        _integer(headers.get("ratelimit-remaining")),
        _after(now, _integer(headers.get("ratelimit-reset"))),
    )


def _closest_policy(policies: Dict[str, RateLimitPolicy], now: datetime) -> Optional[_Closest]:
    """The draft-10 policy closest to refusing (fewest left; on a tie, the longer wait)."""
    named = [policy for policy in policies.values() if policy.quota is not None]
    if not named:
        return None
    closest = min(named, key=lambda policy: (policy.remaining, -policy.reset_seconds))
    return cast(int, closest.quota), closest.remaining, now + timedelta(seconds=closest.reset_seconds)


def parse_rate_limit(headers: Mapping[str, str], now: Optional[datetime] = None) -> Optional[RateLimit]:
    """The rate-limit state an answer's headers describe, or None when they describe none.

    ``X-RateLimit-*`` is preferred (its reset is exact to the second); without it (a
    proxy may strip ``X-`` fields) the IETF fields of draft 10, 7 or 6 stand in.
    ``headers`` must look names up case-insensitively (``http.client.HTTPMessage`` does).
    """
    observed = now or datetime.now(timezone.utc)
    policies = _draft10_policies(headers)
    closest = (
        _de_facto(headers)
        or _draft7(headers, observed)
        or _draft6(headers, observed)
        or _closest_policy(policies, observed)
    )
    if closest is None:
        return None
    limit, remaining, reset = closest
    return RateLimit(limit, remaining, reset, policies, observed)


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
    """Seconds until the closest policy's reset, for a 429 without ``Retry-After``:
    ``X-RateLimit-Reset`` on the server's clock when sent, else the IETF field's delta."""
    reset = _integer(headers.get("x-ratelimit-reset"))
    if reset is not None:
        return max(0.0, reset - _server_now(headers))
    now = datetime.now(timezone.utc)
    state = parse_rate_limit(headers, now)
    return None if state is None else max(0.0, (state.reset - now).total_seconds())
