"""The JSON shapes PageShot answers with, as ``TypedDict``s (keys in the API's camelCase)."""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, TypedDict

Scope = Literal["screenshot", "usage:read", "keys:manage"]


class KeyLimits(TypedDict, total=False):
    """Per-key limit overrides; absent = the server's default."""

    rate: int
    burst: int
    daily: int
    concurrent: int


class KeyInfo(TypedDict):
    """A key as the server shows it: never the key itself, only its hint."""

    id: str
    name: str
    hint: str
    scopes: List[Scope]
    createdAt: str
    updatedAt: str
    lastUsedAt: Optional[str]
    expiresAt: Optional[str]
    revokedAt: Optional[str]
    disabled: bool
    limits: KeyLimits
    allowedHosts: List[str]
    allowedIps: List[str]
    metadata: Dict[str, Any]
    rotatedFrom: Optional[str]
    replacedBy: Optional[str]
    state: Literal["active", "disabled", "expired", "revoked"]


class IssuedKey(KeyInfo):
    """A key just created or rotated: the only time ``key`` is ever shown."""

    key: str


class KeyPage(TypedDict):
    """One page of keys; pass ``next`` as ``cursor`` for the following one."""

    data: List[KeyInfo]
    next: Optional[str]


class Me(TypedDict):
    """The calling key (``GET /v1/me``); ``id`` is ``root`` for the API_KEY key."""

    id: Optional[str]
    kind: Literal["key", "root", "anonymous"]
    name: str
    hint: Optional[str]
    scopes: List[Scope]
    limits: KeyLimits
    allowedHosts: List[str]
    expiresAt: Optional[str]


class UsageCounts(TypedDict):
    """Counts of one UTC day, or the totals of a range."""

    requests: int
    succeeded: int
    failed: int
    rejected: int
    rejectedBy: Dict[str, int]
    renderMs: int
    bytesSent: int
    cacheHits: int


# "from" is a Python keyword, hence the functional form.
Usage = TypedDict(
    "Usage",
    {"keyId": Optional[str], "from": str, "to": str, "days": List[Dict[str, Any]], "totals": UsageCounts},
)
Usage.__doc__ = """Usage of one key from ``from`` to ``to`` (UTC days): ``days`` (only days with use,
each with ``day``) and ``totals``."""


class _Status(TypedDict):
    status: Literal["running", "busy"]
    version: str
    #: ``all``, ``api`` (HTTP only, no browser) or ``worker``.
    role: Literal["all", "api", "worker"]
    uptimeSeconds: int
    system: Dict[str, Any]
    queue: Dict[str, Any]
    #: None on an api node, which has no browser.
    browser: Optional[Dict[str, Any]]
    #: The warm pool of browser contexts; None on an api node.
    pool: Optional[Dict[str, Any]]


class Status(_Status, total=False):
    """``GET /status``: ``status`` is ``busy`` exactly when a request that had to wait would be
    refused; ``cluster`` (with Redis) is the job queue across every node."""

    cluster: Optional[Dict[str, int]]


class Device(TypedDict):
    """A device preset of ``GET /v1/devices``: what ``device=name`` makes a capture render as."""

    #: The name ``device=`` takes, e.g. ``iPhone 15``.
    name: str
    #: Viewport in CSS pixels.
    width: int
    height: int
    deviceScaleFactor: float
    #: Mobile emulation: the page's ``<meta name="viewport">`` is honoured.
    mobile: bool
    #: Touch input.
    touch: bool
    userAgent: str


JobStatus = Literal["queued", "running", "succeeded", "failed"]


class SubmittedJob(TypedDict):
    """The answer to ``POST /v1/jobs`` (202): the job is queued."""

    id: str
    status: Literal["queued"]
    #: Path of ``GET /v1/jobs/:id``, relative to the server.
    statusUrl: str
    #: Path of ``GET /v1/jobs/:id/result``, relative to the server.
    resultUrl: str
    createdAt: str


class JobResultInfo(TypedDict):
    """What a succeeded job produced; fetch the bytes with :meth:`~pageshot.PageShot.result`."""

    contentType: str
    #: Size of the bytes.
    bytes: int
    #: The strong entity tag of the bytes, quoted as sent; pass it as ``if_none_match=``.
    etag: str
    #: Path of the result, relative to the server.
    url: str
    #: When the server drops the result (then ``result()`` raises :class:`~pageshot.GoneError`).
    expiresAt: str


class JobError(TypedDict):
    """Why a job failed: what a synchronous capture would have answered (``status``, ``code``, ``error``)."""

    status: int
    code: str
    error: str


class _JobWebhook(TypedDict):
    url: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int


class JobWebhook(_JobWebhook, total=False):
    """How the job's webhook delivery went (``url``, ``status``, ``attempts``);
    ``lastStatusCode``, ``lastError`` and ``deliveredAt`` are present only when known."""

    lastStatusCode: int
    lastError: str
    deliveredAt: str


class Job(TypedDict):
    """An async job (``GET /v1/jobs/:id``): ``result`` once it succeeded, ``error`` once it
    failed, ``webhook`` when it was submitted with a ``webhook_url``, ``metadata`` as given."""

    id: str
    status: JobStatus
    createdAt: str
    startedAt: Optional[str]
    finishedAt: Optional[str]
    attempts: int
    metadata: Optional[Dict[str, Any]]
    result: Optional[JobResultInfo]
    error: Optional[JobError]
    webhook: Optional[JobWebhook]


class WebhookSecret(TypedDict):
    """A new webhook signing secret: the only time ``secret`` (``whsec_…``) is shown."""

    secret: str
    #: Display form, e.g. ``whsec_…abcd``.
    hint: str
    createdAt: str


class WebhookEvent(TypedDict):
    """The body of a webhook delivery, as :func:`~pageshot.verify_webhook` returns it."""

    type: Literal["job.succeeded", "job.failed"]
    #: When the job finished (ISO time).
    timestamp: str
    #: The job, as ``GET /v1/jobs/:id`` shows it.
    data: Job
