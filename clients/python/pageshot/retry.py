"""When and how long the client waits before trying a call again.

The rules are the same as the TypeScript SDK's; the README has them in one table.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional, TypeVar

from .error_codes import ERROR_CODES, RetryAdvice
from .errors import APIConnectionError, APIError, APITimeoutError, CancelledError, PageShotError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How the client retries (every field has a default on :class:`pageshot.PageShot`)."""

    #: Retries after the first attempt (0 = never retry).
    max_retries: int = 3
    #: No retry starts later than this many seconds after the first attempt began.
    max_retry_time: float = 120.0
    #: First backoff step; the n-th retry waits a random time up to base × 2**n (full jitter).
    base_delay: float = 0.5
    #: Largest backoff step when the server gave no time to wait.
    max_delay: float = 20.0
    #: Wait out a used-up daily quota (``QUOTA_EXCEEDED``) even past ``max_retry_time``.
    retry_quota_exceeded: bool = False


@dataclass(frozen=True)
class Repeatable:
    """What may be repeated of one kind of call when no answer came back."""

    #: Retry after a failed or broken connection.
    on_connection_error: bool
    #: Retry after the per-attempt timeout.
    on_timeout: bool


@dataclass(frozen=True)
class RetryEvent:
    """A retry about to happen, passed to ``on_retry`` for logging."""

    #: The attempt that failed (1 = the first request).
    attempt: int
    #: Seconds the client waits before the next attempt.
    delay: float
    #: What the failed attempt raised.
    error: PageShotError


@dataclass(frozen=True)
class _Verdict:
    wait: Optional[float]
    unbounded: bool


def retry_advice(error: APIError) -> RetryAdvice:
    """The retry advice for an error answer: the server's table (:mod:`pageshot.error_codes`)
    for a code it lists. A code this client does not know (a newer server, a proxy in
    front) is judged by what the answer shows: a 429 is a limit that passes, and a 503
    whose body says ``"status": "busy"`` is load shedding; anything else is not retried."""
    known = ERROR_CODES.get(error.code)
    if known is not None:
        return known.retry
    if error.status == 429:
        return "yes"
    if error.status == 503 and (error.body or {}).get("status") == "busy":
        return "yes"
    return "no"


def retry_verdict(error: PageShotError, repeatable: Repeatable, policy: RetryPolicy, wait: Optional[float]) -> Optional[_Verdict]:
    """Whether ``error`` is worth another attempt, and the server's wait when it gave one.

    Refusals the server made before doing any work (429 limits, 503 busy) are safe to
    repeat for every call; failures without an answer only for calls marked repeatable,
    since the first attempt may have done its work.
    """
    if isinstance(error, APIError):
        advice = retry_advice(error)
        # "at-reset" (a used-up daily quota) waits for the renewal, past max_retry_time only when asked to.
        if advice == "at-reset":
            return _Verdict(wait, policy.retry_quota_exceeded)
        return _Verdict(wait, False) if advice == "yes" else None
    if isinstance(error, APITimeoutError):
        return _Verdict(None, False) if repeatable.on_timeout else None
    if isinstance(error, APIConnectionError):
        return _Verdict(None, False) if repeatable.on_connection_error else None
    return None


def backoff(retry: int, policy: RetryPolicy, wait: Optional[float], rand: Callable[[], float] = random.random) -> float:
    """Seconds before retry number ``retry`` (0-based).

    Without a server time it is full jitter (a random time up to base × 2**retry,
    capped), so clients that failed together spread out. With one, it is that time plus
    up to one base step, so it is never earlier than the server asked.
    """
    if wait is not None:
        return wait + rand() * policy.base_delay
    return rand() * min(policy.max_delay, policy.base_delay * 2.0**retry)


def sleep(seconds: float, cancel: Optional[threading.Event], waiting_for: str = "to retry") -> None:
    """Sleeps, or raises :class:`CancelledError` as soon as ``cancel`` is set (``waiting_for``
    names the wait in its message)."""
    if cancel is None:
        time.sleep(seconds)
    elif cancel.wait(seconds):
        raise CancelledError(f"The call was cancelled while waiting {waiting_for}.")


def with_retries(
    attempt: Callable[[], T],
    *,
    policy: RetryPolicy,
    repeatable: Repeatable,
    wait_of: Callable[[PageShotError], Optional[float]],
    cancel: Optional[threading.Event] = None,
    on_retry: Optional[Callable[[RetryEvent], None]] = None,
    may_retry: Optional[Callable[[], bool]] = None,
) -> T:
    """Runs ``attempt`` until it succeeds, the error is not retryable, ``max_retries`` is
    used up, or the next attempt would start past ``max_retry_time``; then raises the last
    error (its ``attempts`` says how many were made). A wait the budget cannot cover is
    not slept at all: the caller gets the error, with its ``retry_after``, at once.

    ``may_retry``, when given, is asked after each failure: False ends the call there
    (a capture already partly written somewhere that cannot be rewound)."""
    started = time.monotonic()
    retry = 0
    while True:
        if cancel is not None and cancel.is_set():
            raise CancelledError("The call was cancelled.")
        try:
            return attempt()
        except PageShotError as error:
            error.attempts = retry + 1
            if retry >= policy.max_retries or (may_retry is not None and not may_retry()):
                raise
            verdict = retry_verdict(error, repeatable, policy, wait_of(error))
            if verdict is None:
                raise
            delay = backoff(retry, policy, verdict.wait)
            if not verdict.unbounded and time.monotonic() + delay - started > policy.max_retry_time:
                raise
            if on_retry is not None:
                on_retry(RetryEvent(retry + 1, delay, error))
            try:
                sleep(delay, cancel)
            except CancelledError as cancelled:
                cancelled.attempts = retry + 1
                raise
            retry += 1
