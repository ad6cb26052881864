"""What the resource methods share: how each kind of call may be repeated, and reading answers."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, Dict, Mapping, Optional, Union

from .errors import PageShotError
from .options import camel
from .retry import Repeatable

DateLike = Union[str, date, datetime, None]

#: Reads are repeatable after a lost connection or a timeout.
READ = Repeatable(on_connection_error=True, on_timeout=True)
#: Creating, changing and rotating keys are not: the first attempt may have done it.
WRITE = Repeatable(on_connection_error=False, on_timeout=False)
#: A screenshot is safe to repeat after a lost connection; a timed-out one may still be
#: rendering, so not after a timeout.
SCREENSHOT = Repeatable(on_connection_error=True, on_timeout=False)
#: A job submission is repeated only when the server refused it before doing anything
#: (429, busy 503): after a lost answer the job may exist, and a second one would render,
#: count against the quota and call the webhook twice.
SUBMIT = Repeatable(on_connection_error=False, on_timeout=False)
#: Creating a webhook secret replaces the old one at once. If an answer is lost the old
#: secret is dead already and the new one was never seen: asking again is the fix.
NEW_SECRET = READ


def camel_keys(values: Mapping[str, Any]) -> Dict[str, Any]:
    """The API's camelCase names of keyword arguments, None values left out."""
    return {camel(name): value for name, value in values.items() if value is not None}


def day(value: DateLike) -> Optional[str]:
    """``YYYY-MM-DD`` of a date (a datetime's UTC day); strings pass through for the server to check."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def json_answer(answer_body: bytes) -> Any:
    try:
        return json.loads(answer_body.decode("utf-8"))
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
        # A 2xx that is not JSON came from something other than PageShot (a proxy's page).
        raise PageShotError("The answer is not PageShot's JSON.") from None
