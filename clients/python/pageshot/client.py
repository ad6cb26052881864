"""The PageShot client: screenshots, status, the calling key, usage, and key management."""

from __future__ import annotations

import json
import os
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union, cast

from .errors import APITimeoutError, PageShotError
from .rate_limit import RateLimit, retry_after_seconds
from .retry import Repeatable, RetryEvent, RetryPolicy, sleep
from .transport import Call, Transport
from .models import Device, IssuedKey, Job, KeyInfo, KeyPage, Me, Status, SubmittedJob, Usage, WebhookSecret

DEFAULT_BASE_URL = "http://localhost:3000"

#: Reads are repeatable after a lost connection or a timeout.
_READ = Repeatable(on_connection_error=True, on_timeout=True)
#: Creating, changing and rotating keys are not: the first attempt may have done it.
_WRITE = Repeatable(on_connection_error=False, on_timeout=False)
#: A screenshot is safe to repeat after a lost connection; a timed-out one may still be
#: rendering, so not after a timeout.
_SCREENSHOT = Repeatable(on_connection_error=True, on_timeout=False)
#: A job submission is repeated only when the server refused it before doing anything
#: (429, busy 503): after a lost answer the job may exist, and a second one would render,
#: count against the quota and call the webhook twice.
_SUBMIT = Repeatable(on_connection_error=False, on_timeout=False)
#: Creating a webhook secret replaces the old one at once. If an answer is lost the old
#: secret is dead already and the new one was never seen: asking again is the fix.
_NEW_SECRET = _READ

#: ``wait()``: pauses between polls grow by this factor, up to ``_MAX_POLL`` seconds (or the
#: first pause, when larger): a capture that has run for a while rarely ends in the next second.
_POLL_GROWTH = 1.5
_MAX_POLL = 5.0

DateLike = Union[str, date, datetime, None]


def _camel(name: str) -> str:
    """``full_page`` → ``fullPage``; names already in camelCase pass through."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camel_keys(values: Mapping[str, Any]) -> Dict[str, Any]:
    return {_camel(name): value for name, value in values.items() if value is not None}


def _camel_deep(value: Any) -> Any:
    """``_camel_keys`` all the way down: dicts in dicts and in lists."""
    if isinstance(value, dict):
        return {_camel(str(name)): _camel_deep(item) for name, item in cast(Dict[Any, Any], value).items() if item is not None}
    if isinstance(value, (list, tuple)):
        return [_camel_deep(item) for item in cast(Sequence[Any], value)]
    return value


#: Capture options whose own keys are API names too: ``pdf={"page_ranges": "1-2"}``,
#: ``cookies=[{"http_only": True}]``. ``headers`` is not among them: its keys are header names.
_NESTED_OPTIONS = ("pdf", "cookies")


def _capture_body(url: Optional[str], options: Mapping[str, Any]) -> Dict[str, Any]:
    """The JSON body of a capture: option names in camelCase, nested ones too (but not header names)."""
    body = _camel_keys(options)
    for name in _NESTED_OPTIONS:
        if name in body:
            body[name] = _camel_deep(body[name])
    if url is not None:
        body["url"] = url
    return body


def _server_timing(header: str) -> Tuple[Dict[str, float], Dict[str, float]]:
    """``queue;dur=3, navigation;dur=120, render;dur=170`` → ``({"queue_ms": 3, "render_ms": 170},
    {"navigation": 120})``: queue and render (the total), and every other entry as a phase, in order;
    or ``cache;desc="hit";dur=0.4`` (``cache_ms``) for an answer from the result cache, which is no phase."""
    timing: Dict[str, float] = {}
    phases: Dict[str, float] = {}
    for entry in header.split(","):
        name, *params = [part.strip() for part in entry.split(";")]
        durations = [param[4:].strip('"') for param in params if param.lower().startswith("dur=")]
        try:
            ms = float(durations[0]) if durations else None
        except ValueError:
            ms = None
        if not name or ms is None:
            continue
        if name in ("queue", "render", "cache"):
            timing[f"{name}_ms"] = ms
        else:
            phases[name] = ms
    return timing, phases


def _int_header(headers: Mapping[str, str], name: str) -> Optional[int]:
    value = (headers.get(name) or "").strip()
    # isdigit() alone takes "²" and other digits int() refuses.
    return int(value) if value.isascii() and value.isdigit() else None


#: What ``X-Cache`` says when PageShot sends it.
_CACHE_STATUSES = ("HIT", "MISS", "BYPASS")


def _cache_status(headers: Mapping[str, str]) -> Optional[str]:
    """``X-Cache`` as PageShot sends it; anything else (a CDN in front that sets its own, say
    ``Hit from cloudfront``) is not about PageShot's cache, so None."""
    value = (headers.get("x-cache") or "").strip().upper()
    return value if value in _CACHE_STATUSES else None


def _day(value: DateLike) -> Optional[str]:
    """``YYYY-MM-DD`` of a date (a datetime's UTC day); strings pass through for the server to check."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _job_path(job_id: str) -> str:
    """The path of a job; refuses ids that URL resolution would turn into another route (``..``)."""
    if not isinstance(job_id, str) or job_id in ("", ".", ".."):
        raise PageShotError("A job id is the id that submit() returned.")
    return "/v1/jobs/" + urllib.parse.quote(job_id, safe="")


def _json(answer_body: bytes) -> Any:
    try:
        return json.loads(answer_body.decode("utf-8"))
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
        # A 2xx that is not JSON came from something other than PageShot (a proxy's page).
        raise PageShotError("The answer is not PageShot's JSON.") from None


@dataclass(frozen=True)
class Screenshot:
    """A capture: an image, or a PDF (``format="pdf"`` or :meth:`PageShot.pdf`)."""

    #: The bytes of the image (or of the PDF); empty when ``not_modified``.
    image: bytes = field(repr=False)
    #: ``image/png``, ``image/jpeg``, ``image/webp`` or ``application/pdf``; ``""`` when
    #: ``not_modified`` (the bytes you hold keep their type).
    content_type: str
    #: Where the key stands after this request, if the server said.
    rate_limit: Optional[RateLimit]
    #: The server's request id.
    request_id: Optional[str]
    #: Milliseconds queued (``queue_ms``) and rendering (``render_ms``) on the server
    #: (``Server-Timing``), when sent.
    timing: Dict[str, float] = field(default_factory=lambda: cast(Dict[str, float], {}))
    #: Milliseconds in each phase of the render, in order: ``navigation``, ``waits``,
    #: ``scroll``, ``delay``, ``capture`` (those that ran), from ``Server-Timing``.
    phases: Dict[str, float] = field(default_factory=lambda: cast(Dict[str, float], {}))
    #: The page's address when captured, after redirects (``X-PageShot-Final-Url``);
    #: None for ``html`` and very long addresses.
    final_url: Optional[str] = None
    #: HTTP status of the target's document (``X-PageShot-Target-Status``); None for ``html``.
    target_status: Optional[int] = None
    #: True when a size cap cut the page or element short (``X-PageShot-Truncated``).
    truncated: bool = False
    #: Page count of a PDF (``X-PageShot-Pages``); None for images.
    pages: Optional[int] = None
    #: What the server's result cache did (``X-Cache``): ``"HIT"`` answered from it (or from an
    #: identical capture running at the same time), ``"MISS"`` rendered and stored,
    #: ``"BYPASS"`` rendered and not stored (``cache_ttl=0``); None from a server without the cache.
    cache: Optional[str] = None
    #: The strong entity tag of the bytes (``ETag``, quoted as sent); pass it as
    #: ``if_none_match=`` to a later call.
    etag: Optional[str] = None
    #: Seconds since the cached result was rendered (``Age``), on HIT and MISS; None on BYPASS.
    age: Optional[int] = None
    #: True when the server answered 304 Not Modified to ``if_none_match=``: the bytes you
    #: hold (tagged ``etag``) are still the answer, and none were sent again.
    not_modified: bool = False

    def save(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the image (or PDF) to ``path``.

        :raises PageShotError: when ``not_modified``: there are no bytes, and writing none
            would empty the file that holds them.
        """
        if self.not_modified:
            raise PageShotError("Nothing to save: the server answered 304 Not Modified, the bytes you hold are current.")
        with open(path, "wb") as file:
            file.write(self.image)


class Keys:
    """Key management (``/v1/keys``, scope ``keys:manage``). Reach it as ``client.keys``."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def _json(self, call: Call, cancel: Optional[threading.Event]) -> Any:
        return _json(self._transport.call(call, cancel=cancel).body)

    @staticmethod
    def _path(key_id: str) -> str:
        return "/v1/keys/" + urllib.parse.quote(key_id, safe="")

    def create(
        self,
        name: str,
        scopes: Sequence[str],
        *,
        expires_at: Optional[str] = None,
        limits: Optional[Mapping[str, int]] = None,
        allowed_hosts: Optional[Sequence[str]] = None,
        allowed_ips: Optional[Sequence[str]] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        cancel: Optional[threading.Event] = None,
    ) -> IssuedKey:
        """Creates a key. The answer's ``key`` is the only time the key is ever shown: store it now.

        ``limits`` takes ``rate``, ``burst``, ``daily`` and ``concurrent``.
        """
        body = _camel_keys(
            {"name": name, "scopes": list(scopes), "expires_at": expires_at, "limits": limits,
             "allowed_hosts": allowed_hosts, "allowed_ips": allowed_ips, "metadata": metadata}
        )
        return cast(IssuedKey, self._json(Call("POST", "/v1/keys", _WRITE, body=body), cancel))

    def list(self, *, limit: Optional[int] = None, cursor: Optional[str] = None, cancel: Optional[threading.Event] = None) -> KeyPage:
        """One page of keys (hints only, never keys); pass the answer's ``next`` as ``cursor`` for more."""
        return cast(KeyPage, self._json(Call("GET", "/v1/keys", _READ, query={"limit": limit, "cursor": cursor}), cancel))

    def all(self, *, cancel: Optional[threading.Event] = None) -> Iterator[KeyInfo]:
        """Every key, page by page."""
        cursor: Optional[str] = None
        while True:
            page = self.list(limit=100, cursor=cursor, cancel=cancel)
            yield from page["data"]
            cursor = page["next"]
            if not cursor:
                return

    def get(self, key_id: str, *, cancel: Optional[threading.Event] = None) -> KeyInfo:
        """One key by id; :class:`~pageshot.NotFoundError` when there is none."""
        return cast(KeyInfo, self._json(Call("GET", self._path(key_id), _READ), cancel))

    def update(self, key_id: str, *, cancel: Optional[threading.Event] = None, **changes: Any) -> KeyInfo:
        """Changes a key's settings (``name``, ``scopes``, ``expires_at``, ``limits``,
        ``allowed_hosts``, ``allowed_ips``, ``metadata``) or disables it (``disabled=True``)."""
        body = {_camel(name): value for name, value in changes.items()}
        return cast(KeyInfo, self._json(Call("PATCH", self._path(key_id), _WRITE, body=body), cancel))

    def revoke(self, key_id: str, *, cancel: Optional[threading.Event] = None) -> KeyInfo:
        """Revokes a key for good; revoking a revoked key is harmless (so it is retried like a read)."""
        return cast(KeyInfo, self._json(Call("DELETE", self._path(key_id), _READ), cancel))

    def rotate(self, key_id: str, *, grace_period_seconds: Optional[int] = None, cancel: Optional[threading.Event] = None) -> IssuedKey:
        """Issues a new key with the same settings; the old one keeps working for
        ``grace_period_seconds`` (default 0: revoked at once)."""
        body = _camel_keys({"grace_period_seconds": grace_period_seconds})
        return cast(IssuedKey, self._json(Call("POST", self._path(key_id) + "/rotate", _WRITE, body=body), cancel))

    def usage(self, key_id: str, from_date: DateLike = None, to_date: DateLike = None, *, cancel: Optional[threading.Event] = None) -> Usage:
        """A key's usage per UTC day and in total (default the last 30 days)."""
        query = {"from": _day(from_date), "to": _day(to_date)}
        return cast(Usage, self._json(Call("GET", self._path(key_id) + "/usage", _READ, query=query), cancel))


class PageShot:
    """A client of one PageShot server.

    >>> client = PageShot(base_url="https://shots.example.com")  # key from PAGESHOT_API_KEY
    >>> client.screenshot("https://example.com").save("example.png")

    Busy (503) and rate-limited (429) answers are retried with exponential backoff and
    full jitter, never earlier than ``Retry-After``; the README has the full rules.

    :param api_key: defaults to the ``PAGESHOT_API_KEY`` environment variable. Never shown in errors.
    :param base_url: defaults to ``PAGESHOT_BASE_URL``, else ``http://localhost:3000``.
    :param max_retries: retries after the first attempt (0 = never retry).
    :param timeout: seconds one attempt may wait on the socket (connect, and each read).
    :param max_retry_time: no retry starts later than this many seconds after the call began.
    :param retry_base_delay: first backoff step in seconds; the n-th retry waits up to base × 2**n.
    :param retry_max_delay: largest backoff step when the server gave no wait.
    :param retry_quota_exceeded: wait out a used-up daily quota even past ``max_retry_time``.
    :param headers: headers added to every request (not ``Authorization``).
    :param on_retry: called with a :class:`~pageshot.RetryEvent` before each retry, for logging.
    """

    def __init__(
        self,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        *,
        max_retries: int = 3,
        timeout: float = 120.0,
        max_retry_time: float = 120.0,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 20.0,
        retry_quota_exceeded: bool = False,
        headers: Optional[Mapping[str, str]] = None,
        on_retry: Optional[Callable[[RetryEvent], None]] = None,
    ) -> None:
        key = (api_key if api_key is not None else os.environ.get("PAGESHOT_API_KEY", "")).strip()
        if not key:
            raise PageShotError("No API key: pass api_key= to PageShot() or set the PAGESHOT_API_KEY environment variable.")
        # A control character would make http.client raise an error that quotes the header, key included.
        if not re.fullmatch(r"[\x20-\x7e]+", key):
            raise PageShotError("The API key holds characters an HTTP header cannot carry.")
        for name, value in (("max_retries", max_retries), ("timeout", timeout), ("max_retry_time", max_retry_time),
                            ("retry_base_delay", retry_base_delay), ("retry_max_delay", retry_max_delay)):
            if value < 0:
                raise PageShotError(f"{name} must be >= 0.")
        policy = RetryPolicy(int(max_retries), float(max_retry_time), float(retry_base_delay), float(retry_max_delay), bool(retry_quota_exceeded))
        extra = {name: value for name, value in (headers or {}).items() if name.lower() not in ("authorization", "x-api-key")}
        self._transport = Transport(
            api_key=key,
            base_url=base_url or os.environ.get("PAGESHOT_BASE_URL") or DEFAULT_BASE_URL,
            timeout=float(timeout),
            policy=policy,
            headers=extra,
            on_retry=on_retry,
        )
        #: Key management (scope ``keys:manage``).
        self.keys = Keys(self._transport)

    def __repr__(self) -> str:
        return f"PageShot(base_url={self._transport.base_url!r})"

    @property
    def rate_limit(self) -> Optional[RateLimit]:
        """The last rate-limit state any answer described (limit, remaining, reset, and each
        policy), so a caller can slow down before it meets a 429. None before the first
        authenticated answer."""
        return self._transport.rate_limit

    def screenshot(
        self,
        url: Optional[str] = None,
        *,
        cancel: Optional[threading.Event] = None,
        if_none_match: Optional[str] = None,
        **options: Any,
    ) -> Screenshot:
        """``POST /screenshot``: captures ``url``, or whatever ``options`` describe (``html=``,
        ``width=``, ``full_page=``, ``format=``, ``device=``, ``block_ads=``, ``cache_ttl=``,
        ``pdf=``…; snake_case or the API's camelCase, in ``pdf`` and ``cookies`` too; ``headers``
        keys are sent as given). With ``format="pdf"`` the bytes are a PDF, as from :meth:`pdf`.

        ``cache_ttl`` (seconds, 0–31536000) is how old a result in the server's cache may be
        to answer this call, and how long a new one is kept there (0 = always render; default
        the server's ``PAGESHOT_CACHE_TTL``, lowered to its ``PAGESHOT_CACHE_MAX_TTL``); the
        answer's ``cache`` says what the cache did. ``fresh=True`` renders anew rather than
        answer from the cache (the new result is still stored).

        :param cancel: a :class:`threading.Event`; setting it ends the call before its next
            request or during a wait between retries (a request in flight runs to its timeout).
        :param if_none_match: the ``etag`` of a capture you already hold (sent as
            ``If-None-Match``). When the answer's bytes carry the same tag the server sends none:
            the result has ``not_modified=True`` and an empty ``image``.
        """
        return self._capture("/screenshot", _capture_body(url, options), cancel, if_none_match)

    def pdf(
        self,
        url: Optional[str] = None,
        *,
        cancel: Optional[threading.Event] = None,
        if_none_match: Optional[str] = None,
        **options: Any,
    ) -> Screenshot:
        """``POST /pdf``: prints ``url`` (or ``html=``) as a PDF. Takes the options of
        :meth:`screenshot` (``cache_ttl=`` and ``if_none_match=`` too); paper, margins, page
        ranges and header/footer go in ``pdf=``, e.g.
        ``pdf={"paper_format": "A4", "margin": {"top": "1cm"}, "page_ranges": "1-2"}``.
        The PDF is in ``image``, its page count in ``pages``."""
        return self._capture("/pdf", _capture_body(url, options), cancel, if_none_match)

    def _capture(self, path: str, body: Dict[str, Any], cancel: Optional[threading.Event], if_none_match: Optional[str]) -> Screenshot:
        return self._bytes("POST", path, body, _SCREENSHOT, cancel, if_none_match)

    def _bytes(
        self,
        method: str,
        path: str,
        body: Optional[Dict[str, Any]],
        repeatable: Repeatable,
        cancel: Optional[threading.Event],
        if_none_match: Optional[str],
    ) -> Screenshot:
        """A call answered with bytes (a capture, a job's result), conditional when ``if_none_match`` is given."""
        headers: Optional[Dict[str, str]] = None
        if if_none_match is not None:
            # Checked here: http.client would raise a bare ValueError for it, outside PageShotError.
            if not isinstance(if_none_match, str) or not re.fullmatch(r"[\x20-\x7e]+", if_none_match):
                raise PageShotError("if_none_match must be an entity tag such as a capture's etag.")
            headers = {"If-None-Match": if_none_match}
        call = Call(
            method, path, repeatable, body=body, accept="image/*, application/pdf, application/json", headers=headers, not_modified_ok=True
        )
        answer = self._transport.call(call, cancel=cancel)
        headers = answer.headers
        timing, phases = _server_timing(headers.get("server-timing") or "")
        return Screenshot(
            answer.body,
            answer.content_type,
            answer.rate_limit,
            answer.request_id,
            timing,
            phases,
            final_url=headers.get("x-pageshot-final-url") or None,
            target_status=_int_header(headers, "x-pageshot-target-status"),
            truncated=(headers.get("x-pageshot-truncated") or "").strip().lower() == "true",
            pages=_int_header(headers, "x-pageshot-pages"),
            cache=_cache_status(headers),
            etag=headers.get("etag") or None,
            age=_int_header(headers, "age"),
            not_modified=answer.not_modified,
        )

    def submit(
        self,
        url: Optional[str] = None,
        *,
        webhook_url: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        cancel: Optional[threading.Event] = None,
        **options: Any,
    ) -> SubmittedJob:
        """``POST /v1/jobs``: queues a capture and answers at once (202) with the job's ``id``;
        the server renders it in the background. Takes the options of :meth:`screenshot`,
        plus ``webhook_url`` (PageShot POSTs the outcome there, signed: see
        :func:`~pageshot.verify_webhook`; needs :meth:`create_webhook_secret` first, else
        :class:`~pageshot.ValidationError` ``WEBHOOK_SECRET_MISSING``) and ``metadata`` (a
        JSON object given back unchanged: its keys are sent as given). Then :meth:`wait` and
        :meth:`result`, or the webhook.

        Retried only when the server refused it (429, busy 503): after a lost answer or a
        timeout the job may exist, and repeating it would run it twice.

        >>> job = client.submit("https://example.com", full_page=True)
        >>> if client.wait(job["id"])["status"] == "succeeded":
        ...     client.result(job["id"]).save("example.png")
        """
        body = _capture_body(url, options)
        if webhook_url is not None:
            body["webhookUrl"] = webhook_url
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return cast(SubmittedJob, _json(self._transport.call(Call("POST", "/v1/jobs", _SUBMIT, body=body), cancel=cancel).body))

    def job(self, job_id: str, *, cancel: Optional[threading.Event] = None) -> Job:
        """``GET /v1/jobs/:id``: where the job is (``queued``, ``running``, ``succeeded``,
        ``failed``), its ``result`` or ``error``, and its webhook delivery.
        :class:`~pageshot.NotFoundError` (``JOB_NOT_FOUND``) for an unknown id and for another key's job."""
        return cast(Job, _json(self._transport.call(Call("GET", _job_path(job_id), _READ), cancel=cancel).body))

    def wait(self, job_id: str, *, timeout: float = 600.0, poll_interval: float = 1.0, cancel: Optional[threading.Event] = None) -> Job:
        """Polls :meth:`job` until it ``succeeded`` or ``failed``, and returns it (a failed job is
        returned, not raised: its ``error`` says why).

        :param timeout: seconds before giving up with :class:`~pageshot.APITimeoutError`
            (default 600). Checked between polls, after one last poll at the deadline; the job
            itself goes on.
        :param poll_interval: first pause between polls in seconds (default 1); each pause is
            1.5 times the last, up to 5 s (or ``poll_interval``, when larger). A ``Retry-After``
            from the server is always waited out in full.
        :param cancel: a :class:`threading.Event`; setting it ends the wait
            (:class:`~pageshot.CancelledError`).
        """
        for name, value in (("timeout", timeout), ("poll_interval", poll_interval)):
            if not value >= 0:
                raise PageShotError(f"{name} must be >= 0.")
        deadline = time.monotonic() + timeout
        pause, max_pause = float(poll_interval), max(float(poll_interval), _MAX_POLL)
        while True:
            answer = self._transport.call(Call("GET", _job_path(job_id), _READ), cancel=cancel)
            job = cast(Job, _json(answer.body))
            if job["status"] in ("succeeded", "failed"):
                return job
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise APITimeoutError(f"Job {job_id} was still {job['status']} after {timeout} s.")
            sleep(min(max(pause, retry_after_seconds(answer.headers) or 0.0), remaining), cancel, "for the job")
            pause = min(pause * _POLL_GROWTH, max_pause)

    def result(self, job_id: str, *, if_none_match: Optional[str] = None, cancel: Optional[threading.Event] = None) -> Screenshot:
        """``GET /v1/jobs/:id/result``: the bytes of a succeeded job, as a :class:`Screenshot`
        (``image``, ``content_type``, ``etag``; ``if_none_match=`` works as for captures).

        :raises ConflictError: the job is not finished (``JOB_NOT_READY``) or failed
            (``JOB_FAILED``, with ``job_error``).
        :raises GoneError: the result expired (``JOB_RESULT_EXPIRED``).
        :raises NotFoundError: an unknown id, or another key's job (``JOB_NOT_FOUND``).
        """
        return self._bytes("GET", _job_path(job_id) + "/result", None, _READ, cancel, if_none_match)

    def create_webhook_secret(self, *, cancel: Optional[threading.Event] = None) -> WebhookSecret:
        """``POST /v1/me/webhook-secret``: a new secret that signs this key's webhooks,
        replacing the old one at once. The answer's ``secret`` is the only time it is shown:
        store it where your receiver reads it (for :func:`~pageshot.verify_webhook`)."""
        call = Call("POST", "/v1/me/webhook-secret", _NEW_SECRET)
        return cast(WebhookSecret, _json(self._transport.call(call, cancel=cancel).body))

    def webhook_secret(self, *, cancel: Optional[threading.Event] = None) -> Optional[Dict[str, str]]:
        """``GET /v1/me/webhook-secret``: this key's signing secret as ``{"hint", "createdAt"}``;
        None when it has none."""
        answer = _json(self._transport.call(Call("GET", "/v1/me/webhook-secret", _READ), cancel=cancel).body)
        return cast(Optional[Dict[str, str]], answer["webhookSecret"])

    def delete_webhook_secret(self, *, cancel: Optional[threading.Event] = None) -> None:
        """``DELETE /v1/me/webhook-secret``: removes this key's signing secret; jobs submitted
        with a ``webhook_url`` are refused (``WEBHOOK_SECRET_MISSING``) until a new one is created.
        Done whether the key had one or not, so it is safe to repeat."""
        self._transport.call(Call("DELETE", "/v1/me/webhook-secret", _READ), cancel=cancel)

    def devices(self, *, cancel: Optional[threading.Event] = None) -> List[Device]:
        """``GET /v1/devices``: the presets the ``device=`` option takes (any valid key)."""
        answer = _json(self._transport.call(Call("GET", "/v1/devices", _READ), cancel=cancel).body)
        return cast(List[Device], answer["data"])

    def status(self, *, cancel: Optional[threading.Event] = None) -> Status:
        """``GET /status``: the server's load, queue and browser (needs no scope)."""
        return cast(Status, _json(self._transport.call(Call("GET", "/status", _READ), cancel=cancel).body))

    def me(self, *, cancel: Optional[threading.Event] = None) -> Me:
        """``GET /v1/me``: the calling key as the server sees it (any valid key)."""
        return cast(Me, _json(self._transport.call(Call("GET", "/v1/me", _READ), cancel=cancel).body))

    def usage(self, from_date: DateLike = None, to_date: DateLike = None, *, cancel: Optional[threading.Event] = None) -> Usage:
        """``GET /v1/usage``: the calling key's usage per UTC day (scope ``usage:read``);
        the range defaults to the last 30 days and may span at most 366."""
        query = {"from": _day(from_date), "to": _day(to_date)}
        return cast(Usage, _json(self._transport.call(Call("GET", "/v1/usage", _READ, query=query), cancel=cancel).body))


__all__: List[str] = ["Keys", "PageShot", "Screenshot"]
