"""PageShot: the screenshot API from Python, with the standard library only.

>>> from pageshot import PageShot
>>> client = PageShot(base_url="http://localhost:3000")  # key from PAGESHOT_API_KEY
>>> client.screenshot("https://example.com", full_page=True).save("example.png")

Busy (503) and rate-limited (429) answers are retried with exponential backoff and full
jitter, never earlier than the server's ``Retry-After``; everything else surfaces at once
as a typed error (:class:`AuthenticationError`, :class:`PermissionDeniedError`,
:class:`ValidationError`, …), all subclasses of :class:`PageShotError`.
"""

from .captures import SavedScreenshot, Screenshot
from .client import PageShot
from .error_codes import ERROR_CODES, ErrorCode
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    CancelledError,
    CaptureError,
    ConflictError,
    GoneError,
    NotFoundError,
    PageShotError,
    PermissionDeniedError,
    RateLimitError,
    ServerBusyError,
    ValidationError,
    WebhookVerificationError,
)
from .keys import Keys
from .models import Job, SubmittedJob, WebhookEvent, WebhookSecret
from .options import CaptureOptions, Cookie, PdfMargin, PdfOptions, ScalarCaptureOptions, SignedUrlOptions, UnknownOptionError
from .rate_limit import RateLimit, RateLimitPolicy
from .retry import RetryEvent
from .webhooks import verify_webhook

#: Version of this client.
__version__ = "0.1.0"

__all__ = [
    "ERROR_CODES",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "CancelledError",
    "CaptureError",
    "CaptureOptions",
    "ConflictError",
    "Cookie",
    "ErrorCode",
    "GoneError",
    "Job",
    "Keys",
    "NotFoundError",
    "PageShot",
    "PageShotError",
    "PdfMargin",
    "PdfOptions",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RateLimitPolicy",
    "RetryEvent",
    "SavedScreenshot",
    "ScalarCaptureOptions",
    "Screenshot",
    "ServerBusyError",
    "SignedUrlOptions",
    "SubmittedJob",
    "UnknownOptionError",
    "ValidationError",
    "verify_webhook",
    "WebhookEvent",
    "WebhookSecret",
    "WebhookVerificationError",
]
