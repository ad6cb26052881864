"""The server's error codes as data: HTTP status and retry advice of every code.

A copy of the server's one table (``ERRORS`` in src/errors.ts; a contract test compares
the two). The retry rules (:mod:`pageshot.retry`) read it, so a code the server calls
retryable is retried here without a hand-kept list.

Codes are stable API: the server adds codes, never renames one or changes its status. A
code missing here (a newer server) falls back to the rules for unknown codes in
:func:`pageshot.retry.retry_advice`.
"""

from __future__ import annotations

from typing import Dict, Literal, NamedTuple

#: Whether sending the same request again can succeed: ``"yes"`` (the server refused
#: before doing any work, for a reason that passes: limits, busy), ``"at-reset"`` (only
#: once the daily quota renews at 00:00 UTC, usually hours away: opt-in with
#: ``retry_quota_exceeded=True``), ``"no"`` (the same request fails the same way).
RetryAdvice = Literal["yes", "at-reset", "no"]


class ErrorCode(NamedTuple):
    """What one error code means for a caller: ``(status, retry)``."""

    #: The HTTP status the server answers the code with; never changes for a code.
    status: int
    #: ``"yes"``, ``"at-reset"`` or ``"no"``.
    retry: RetryAdvice


#: Every code the server answers with, in the order of its table.
ERROR_CODES: Dict[str, ErrorCode] = {
    "VALIDATION_ERROR": ErrorCode(400, "no"),
    "INVALID_JSON": ErrorCode(400, "no"),
    "API_KEY_IN_QUERY": ErrorCode(400, "no"),
    "MALFORMED_REQUEST": ErrorCode(400, "no"),
    "WEBHOOK_SECRET_MISSING": ErrorCode(400, "no"),
    "SIGNING_SECRET_MISSING": ErrorCode(400, "no"),
    "MISSING_API_KEY": ErrorCode(401, "no"),
    "INVALID_API_KEY": ErrorCode(403, "no"),
    "KEY_REVOKED": ErrorCode(403, "no"),
    "KEY_EXPIRED": ErrorCode(403, "no"),
    "KEY_DISABLED": ErrorCode(403, "no"),
    "INSUFFICIENT_SCOPE": ErrorCode(403, "no"),
    "IP_NOT_ALLOWED": ErrorCode(403, "no"),
    "HTTPS_REQUIRED": ErrorCode(403, "no"),
    "TARGET_FORBIDDEN": ErrorCode(403, "no"),
    "SIGNATURE_INVALID": ErrorCode(403, "no"),
    "SIGNATURE_EXPIRED": ErrorCode(403, "no"),
    "NOT_FOUND": ErrorCode(404, "no"),
    "KEY_NOT_FOUND": ErrorCode(404, "no"),
    "JOB_NOT_FOUND": ErrorCode(404, "no"),
    "SIGNING_SECRET_NOT_FOUND": ErrorCode(404, "no"),
    "REQUEST_TIMEOUT": ErrorCode(408, "no"),
    "KEY_ALREADY_REVOKED": ErrorCode(409, "no"),
    "KEY_ALREADY_ROTATED": ErrorCode(409, "no"),
    "JOB_NOT_READY": ErrorCode(409, "no"),
    "JOB_FAILED": ErrorCode(409, "no"),
    "JOB_RESULT_EXPIRED": ErrorCode(410, "no"),
    "PAYLOAD_TOO_LARGE": ErrorCode(413, "no"),
    "UNSUPPORTED_MEDIA_TYPE": ErrorCode(415, "no"),
    "SELECTOR_NOT_FOUND": ErrorCode(422, "no"),
    "SCRIPT_FAILED": ErrorCode(422, "no"),
    "TARGET_IS_DOWNLOAD": ErrorCode(422, "no"),
    "PAGE_CRASHED": ErrorCode(422, "no"),
    "BLANK_PAGE": ErrorCode(422, "no"),
    "TOO_MANY_PAGES": ErrorCode(422, "no"),
    "PDF_TOO_LARGE": ErrorCode(422, "no"),
    "RESULT_TOO_LARGE": ErrorCode(422, "no"),
    "TOO_MANY_AUTH_FAILURES": ErrorCode(429, "no"),
    "RATE_LIMITED": ErrorCode(429, "yes"),
    "QUOTA_EXCEEDED": ErrorCode(429, "at-reset"),
    "CONCURRENCY_LIMITED": ErrorCode(429, "yes"),
    "RESULT_STORAGE_FULL": ErrorCode(429, "no"),
    "TOO_MANY_DOWNLOADS": ErrorCode(429, "yes"),
    "HEADERS_TOO_LARGE": ErrorCode(431, "no"),
    "CLIENT_CLOSED_REQUEST": ErrorCode(499, "no"),
    "INTERNAL_ERROR": ErrorCode(500, "no"),
    "CAPTURE_FAILED": ErrorCode(500, "no"),
    "FILTER_LISTS_UNAVAILABLE": ErrorCode(501, "no"),
    "NAVIGATION_FAILED": ErrorCode(502, "no"),
    "LIMITS_UNAVAILABLE": ErrorCode(503, "yes"),
    "BROWSER_CRASHED": ErrorCode(503, "yes"),
    "QUEUE_FULL": ErrorCode(503, "yes"),
    "QUEUE_TIMEOUT": ErrorCode(503, "yes"),
    "SERVER_BUSY": ErrorCode(503, "yes"),
    "SHUTTING_DOWN": ErrorCode(503, "yes"),
    "JOBS_UNAVAILABLE": ErrorCode(503, "no"),
    "WORKER_LOST": ErrorCode(503, "no"),
    "NOT_READY": ErrorCode(503, "yes"),
    "RENDER_TIMEOUT": ErrorCode(504, "no"),
}

__all__ = ["ERROR_CODES", "ErrorCode", "RetryAdvice"]
