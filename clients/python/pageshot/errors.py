"""Errors raised by the PageShot client.

Everything the client raises is a :class:`PageShotError`. Answers from the server are
:class:`APIError` subclasses, one per kind of answer a caller handles differently;
failures without an answer are :class:`APIConnectionError` / :class:`APITimeoutError`;
a cancelled call is :class:`CancelledError`.

No error ever holds the API key: errors are built from the server's answer (which never
echoes a key), text that could carry it is redacted, and urllib's own exceptions are not
chained in.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type


class PageShotError(Exception):
    """Base class of every error the client raises."""

    #: How many requests were sent before giving up (1 when it was not retried).
    attempts: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class APIError(PageShotError):
    """An error answer from the server.

    Branch on :attr:`code` (stable API, see the README's error table). :attr:`status` is
    the HTTP status, :attr:`request_id` joins up with the server's logs, :attr:`body` is
    the whole JSON error body (``field``, ``requiredScope``, ``targetStatus``, …).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        request_id: Optional[str] = None,
        retry_after: Optional[float] = None,
        body: Optional[Dict[str, Any]] = None,
    ) -> None:
        super().__init__(message)
        #: HTTP status of the answer.
        self.status = status
        #: Stable machine-readable code, e.g. ``VALIDATION_ERROR`` or ``QUEUE_FULL``.
        self.code = code
        #: The server's request id (``X-Request-Id``).
        self.request_id = request_id
        #: Seconds after which a retry may succeed, when the server said so.
        self.retry_after = retry_after
        #: The JSON error body, or None when the answer was not PageShot's JSON.
        self.body = body or None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, message={self.message!r}, request_id={self.request_id!r})"


class ValidationError(APIError):
    """400 (``VALIDATION_ERROR``, ``INVALID_JSON``, …), 413 or 415: fix the request."""

    @property
    def field(self) -> Optional[str]:
        """The option the server complained about, when it named one."""
        value = (self.body or {}).get("field")
        return value if isinstance(value, str) else None


class AuthenticationError(APIError):
    """401: no usable key reached the server (``MISSING_API_KEY``). Never retried."""


class PermissionDeniedError(APIError):
    """403: the key is unknown, revoked, expired or disabled, lacks a scope, is used from a
    forbidden IP, or the target is forbidden; a signed link that does not match or has
    expired (``SIGNATURE_INVALID``, ``SIGNATURE_EXPIRED``). Never retried."""


class NotFoundError(APIError):
    """404: no such key (``KEY_NOT_FOUND``), job (``JOB_NOT_FOUND``, also for another
    key's job), signing secret (``SIGNING_SECRET_NOT_FOUND``) or route (``NOT_FOUND``)."""


class ConflictError(APIError):
    """409: the key is revoked and cannot be changed (``KEY_ALREADY_REVOKED``) or was
    already replaced by a rotation (``KEY_ALREADY_ROTATED``), or a job's result is not
    there to fetch: still queued or running (``JOB_NOT_READY``, with ``retry_after``; poll
    the job, not retried) or the job failed (``JOB_FAILED``, with :attr:`job_error`)."""

    @property
    def job_error(self) -> Optional[str]:
        """The failed job's error code (``RENDER_TIMEOUT``, …), on ``JOB_FAILED``."""
        value = (self.body or {}).get("jobError")
        return value if isinstance(value, str) else None


class GoneError(APIError):
    """410: it existed and is gone for good: a job's result past its lifetime (``JOB_RESULT_EXPIRED``)."""


class RateLimitError(APIError):
    """429: a limit refused the request (``RATE_LIMITED``, ``QUOTA_EXCEEDED``,
    ``CONCURRENCY_LIMITED``, ``TOO_MANY_AUTH_FAILURES``). Raised once retries are used
    up, or at once when waiting cannot help."""

    @property
    def limit(self) -> Optional[int]:
        """The limit that refused (the burst, the daily quota or the concurrency cap)."""
        value = (self.body or {}).get("limit")
        return value if isinstance(value, int) else None

    @property
    def policy(self) -> Optional[str]:
        """Which policy refused: ``burst``, ``daily`` or ``concurrent``."""
        value = (self.body or {}).get("policy")
        return value if isinstance(value, str) else None


class ServerBusyError(APIError):
    """503: the server shed the request (``QUEUE_FULL``, ``QUEUE_TIMEOUT``,
    ``SERVER_BUSY``, ``SHUTTING_DOWN``), its browser crashed (``BROWSER_CRASHED``) or its
    limit store is down (``LIMITS_UNAVAILABLE``): retried, and raised once retries are
    used up. Raised at once, as the server's error table says waiting does not help:
    ``JOBS_UNAVAILABLE`` (a server without Redis for async jobs) and ``WORKER_LOST`` (a
    job's worker died twice)."""

    @property
    def queue_length(self) -> Optional[int]:
        """Requests waiting in the server's queue when it refused, if it said."""
        value = (self.body or {}).get("queueLength")
        return value if isinstance(value, int) else None


class CaptureError(APIError):
    """The page could not be captured as asked: 422 (``SELECTOR_NOT_FOUND``,
    ``SCRIPT_FAILED``, ``TARGET_IS_DOWNLOAD``, ``PAGE_CRASHED``, ``BLANK_PAGE`` with
    ``fail_on_blank``, and for a PDF over the server's caps ``TOO_MANY_PAGES`` or
    ``PDF_TOO_LARGE``), 502 (``NAVIGATION_FAILED``, also a 4xx/5xx target with ``fail_on_http_error``;
    :attr:`target_status` says which) or 504 (``RENDER_TIMEOUT``). Not retried: the
    target or the options are the problem."""

    @property
    def target_status(self) -> Optional[int]:
        """The target's HTTP status, when the server gave it (``NAVIGATION_FAILED`` on a 4xx/5xx answer)."""
        value = (self.body or {}).get("targetStatus")
        return value if isinstance(value, int) and not isinstance(value, bool) else None


class APIConnectionError(PageShotError):
    """No answer: the connection failed or broke (DNS, refused, reset)."""


class APITimeoutError(APIConnectionError):
    """No complete answer within the client's ``timeout`` (one attempt's deadline, from
    sending to the last byte), or a job not finished within
    :meth:`~pageshot.PageShot.wait`'s ``timeout``."""


class CancelledError(PageShotError):
    """The caller's ``cancel`` event was set, before a request or while waiting to retry."""


class WebhookVerificationError(PageShotError):
    """A webhook delivery that must not be trusted: a header missing, no signature that
    matches, a timestamp outside the tolerance, or a body that is not JSON. Answer it with
    a 4xx and do not act on it. (A malformed secret is your configuration, not the
    request's fault: that is a plain :class:`PageShotError`.)"""


def error_class_for(status: int) -> Type[APIError]:
    """The error class for an HTTP status."""
    if status in (400, 413, 415):
        return ValidationError
    classes: Dict[int, Type[APIError]] = {
        401: AuthenticationError,
        403: PermissionDeniedError,
        404: NotFoundError,
        409: ConflictError,
        410: GoneError,
        429: RateLimitError,
        503: ServerBusyError,
        422: CaptureError,
        502: CaptureError,
        504: CaptureError,
    }
    return classes.get(status, APIError)
