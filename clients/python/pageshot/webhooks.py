"""Checking PageShot's webhook deliveries: Standard Webhooks (https://www.standardwebhooks.com/)
signatures, with the standard library only."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import time
from datetime import datetime
from typing import Any, List, Optional, Union, cast

from .errors import PageShotError, WebhookVerificationError
from .models import WebhookEvent

_SECRET_PREFIX = "whsec_"
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
#: ASCII digits only: int() would also take " 12", "1_2" and other scripts' digits.
_DIGITS = re.compile(r"[0-9]+")


def _header(headers: Any, name: str) -> Optional[str]:
    """The one value of a header, whatever the case of its name (a dict, Django's
    ``request.headers``, Flask's, ``http.client.HTTPMessage``…); None when absent or repeated."""
    values: List[Any] = [value for key, value in headers.items() if str(key).lower() == name]
    # Repeated (two spellings in a dict, two lines in an HTTPMessage): which one was signed is not ours to guess.
    if len(values) != 1:
        return None
    value = values[0]
    if isinstance(value, (list, tuple)):
        items = cast(List[Any], list(value))
        value = items[0] if len(items) == 1 else None
    return value if isinstance(value, str) else None


def _secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (the prefix may be left out, as other
    Standard Webhooks libraries allow)."""
    encoded = secret[len(_SECRET_PREFIX):] if isinstance(secret, str) and secret.startswith(_SECRET_PREFIX) else secret
    # The message never repeats the secret: it would end up in logs.
    malformed = 'The webhook secret must be "whsec_" and base64, as create_webhook_secret() returned it.'
    if not isinstance(encoded, str) or not _BASE64.fullmatch(encoded):
        raise PageShotError(malformed)
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise PageShotError(malformed) from None


def _body_bytes(raw_body: Union[bytes, bytearray, memoryview, str]) -> bytes:
    """The exact bytes received: the signature covers bytes, so re-serialized JSON would not verify."""
    if isinstance(raw_body, str):
        return raw_body.encode("utf-8")
    if isinstance(raw_body, (bytes, bytearray, memoryview)):
        return bytes(raw_body)
    raise PageShotError("raw_body must be the body exactly as received (bytes or str), not parsed JSON.")


def _unix_seconds(now: Union[float, datetime, None]) -> int:
    if now is None:
        return math.floor(time.time())
    if isinstance(now, datetime):
        return math.floor(now.timestamp())
    return math.floor(now)


def verify_webhook(
    secret: str,
    headers: Any,
    raw_body: Union[bytes, bytearray, memoryview, str],
    tolerance_seconds: float = 300,
    now: Union[float, datetime, None] = None,
) -> WebhookEvent:
    """Checks that a webhook delivery comes from PageShot (Standard Webhooks) and returns its
    parsed payload: ``webhook-signature`` must hold a ``v1`` HMAC-SHA256 of
    ``webhook-id``.``webhook-timestamp``.body made with your secret, and the timestamp must be
    within ``tolerance_seconds`` of your clock, either way.

    Pass the body exactly as received (Flask: ``request.get_data()``, Django: ``request.body``),
    not parsed and re-serialized JSON. A delivery may be repeated with the same
    ``webhook-id``: use it to do the work once.

    >>> event = verify_webhook(os.environ["PAGESHOT_WEBHOOK_SECRET"], request.headers, request.get_data())
    >>> if event["type"] == "job.succeeded": download(event["data"]["id"])

    :param secret: the key's secret, ``whsec_…``, from :meth:`~pageshot.PageShot.create_webhook_secret`.
    :param headers: the request's headers, names in any case (anything with ``items()``).
    :param tolerance_seconds: how far the timestamp may be from ``now`` (default 300, as the
        standard advises): older deliveries may be replays, newer ones are forged.
    :param now: your clock (Unix seconds or an aware ``datetime``; default the current time).
    :raises WebhookVerificationError: the delivery must not be trusted (answer it with a 4xx).
    :raises PageShotError: the secret or ``raw_body`` is malformed: the receiver's mistake.
    """
    if isinstance(tolerance_seconds, bool) or not isinstance(tolerance_seconds, (int, float)) or not tolerance_seconds >= 0:
        raise PageShotError("tolerance_seconds must be a number >= 0.")
    key = _secret_key(secret)
    body = _body_bytes(raw_body)

    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not msg_id:
        raise WebhookVerificationError("No single webhook-id header.")
    if not timestamp:
        raise WebhookVerificationError("No single webhook-timestamp header.")
    if not signatures:
        raise WebhookVerificationError("No single webhook-signature header.")

    if not _DIGITS.fullmatch(timestamp):
        raise WebhookVerificationError("The webhook-timestamp is not Unix seconds.")
    age = _unix_seconds(now) - int(timestamp)
    if age > tolerance_seconds:
        raise WebhookVerificationError(f"The webhook timestamp is {age} s old, more than the {tolerance_seconds} s allowed.")
    if -age > tolerance_seconds:
        raise WebhookVerificationError(f"The webhook timestamp is {-age} s ahead, more than the {tolerance_seconds} s allowed.")

    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode("utf-8") + body, hashlib.sha256).digest()
    expected = base64.b64encode(mac)
    # Space-separated "version,signature" entries: several while a secret is rotated. Only v1 is ours.
    matches = any(
        version == "v1" and hmac.compare_digest(signature.encode("utf-8", "replace"), expected)
        for version, _, signature in (entry.partition(",") for entry in signatures.split(" "))
    )
    if not matches:
        raise WebhookVerificationError("No webhook signature matches the secret.")
    try:
        return cast(WebhookEvent, json.loads(body.decode("utf-8")))
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
        raise WebhookVerificationError("The webhook payload is not JSON.") from None


__all__ = ["verify_webhook"]
