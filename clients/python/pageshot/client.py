"""The PageShot client: screenshots, status, the calling key, usage, and key management."""

from __future__ import annotations

import os
import re
import threading
import time
import urllib.parse
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Union, cast

from ._calls import NEW_SECRET, READ, SCREENSHOT, SUBMIT, DateLike, day, json_answer
from .captures import SavedScreenshot, Screenshot, capture_fields
from .errors import APITimeoutError, PageShotError
from .keys import Keys
from .models import Device, Job, Me, Status, SubmittedJob, Usage, WebhookSecret
from .options import capture_body
from .rate_limit import RateLimit, retry_after_seconds
from .retry import Repeatable, RetryEvent, RetryPolicy, sleep
from .signed_url import SigningKey, merge_options, sign_url
from .to_file import FileObjectSink, PartFile, check_target
from .transport import Call, Sink, Transport

if TYPE_CHECKING:  # only type checkers read these: at run time the client needs the standard library alone
    from typing_extensions import Unpack

    from .options import CaptureOptions, SignedUrlOptions

DEFAULT_BASE_URL = "http://localhost:3000"

#: Default ``timeout``: the server's longest render (``PAGESHOT_MAX_TIMEOUT_MS``, 60 s by
#: default) plus its longest queue wait (``PAGESHOT_QUEUE_TIMEOUT_MS``, 30 s), with 30 s to
#: spare for the transfer.
DEFAULT_TIMEOUT = 120.0

#: ``wait()``: pauses between polls grow by this factor, up to ``_MAX_POLL`` seconds (or the
#: first pause, when larger): a capture that has run for a while rarely ends in the next second.
_POLL_GROWTH = 1.5
_MAX_POLL = 5.0

_ACCEPT_BYTES = "image/*, application/pdf, application/json"


def _job_path(job_id: str) -> str:
    """The path of a job; refuses ids that URL resolution would turn into another route (``..``)."""
    if not isinstance(job_id, str) or job_id in ("", ".", ".."):
        raise PageShotError("A job id is the id that submit() returned.")
    return "/v1/jobs/" + urllib.parse.quote(job_id, safe="")


def _conditional(if_none_match: Optional[str]) -> Optional[Dict[str, str]]:
    """The ``If-None-Match`` header of a conditional capture."""
    if if_none_match is None:
        return None
    # Checked here: http.client would raise a bare ValueError for it, outside PageShotError.
    if not isinstance(if_none_match, str) or not re.fullmatch(r"[\x20-\x7e]+", if_none_match):
        raise PageShotError("if_none_match must be an entity tag such as a capture's etag.")
    return {"If-None-Match": if_none_match}


class PageShot:
    """A client of one PageShot server.

    >>> client = PageShot(base_url="https://shots.example.com")  # key from PAGESHOT_API_KEY
    >>> client.screenshot("https://example.com").save("example.png")

    Busy (503) and rate-limited (429) answers are retried with exponential backoff and
    full jitter, never earlier than ``Retry-After``; the README has the full rules.

    :param api_key: defaults to the ``PAGESHOT_API_KEY`` environment variable. Never shown in
        errors. May be left out of a client that only signs links (``signing_secret`` and ``key_id``).
    :param base_url: defaults to ``PAGESHOT_BASE_URL``, else ``http://localhost:3000``.
    :param signing_secret: a signing secret of the key (``pss_…``), for :meth:`signed_url`. Never sent.
    :param key_id: the id of the key that secret belongs to, for :meth:`signed_url`.
    :param max_retries: retries after the first attempt (0 = never retry).
    :param timeout: seconds one attempt may take, from sending the request to the last byte of
        the answer, queueing and rendering on the server included (default 120). Each retry
        gets a new one; ``max_retry_time`` bounds the retries. Not the capture option
        ``timeout=`` (milliseconds, the server's render deadline), which must be shorter.
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
        signing_secret: Optional[str] = None,
        key_id: Optional[str] = None,
        max_retries: int = 3,
        timeout: float = DEFAULT_TIMEOUT,
        max_retry_time: float = 120.0,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 20.0,
        retry_quota_exceeded: bool = False,
        headers: Optional[Mapping[str, str]] = None,
        on_retry: Optional[Callable[[RetryEvent], None]] = None,
    ) -> None:
        key = (api_key if api_key is not None else os.environ.get("PAGESHOT_API_KEY", "")).strip()
        if (signing_secret is None) != (key_id is None):
            raise PageShotError("Pass both signing_secret= and key_id= to sign links, or neither.")
        if not key and signing_secret is None:
            raise PageShotError("No API key: pass api_key= to PageShot() or set the PAGESHOT_API_KEY environment variable.")
        # A control character would make http.client raise an error that quotes the header, key included.
        if key and not re.fullmatch(r"[\x20-\x7e]+", key):
            raise PageShotError("The API key holds characters an HTTP header cannot carry.")
        self.__signing: Optional[SigningKey] = None
        if signing_secret is not None and key_id is not None:
            if not isinstance(signing_secret, str) or not signing_secret:
                raise PageShotError("signing_secret must be the secret string (pss_…).")
            if not isinstance(key_id, str) or not key_id:
                raise PageShotError("key_id must be the id of the key the secret belongs to.")
            self.__signing = SigningKey(signing_secret, key_id)
        for name, value in (("max_retries", max_retries), ("timeout", timeout), ("max_retry_time", max_retry_time),
                            ("retry_base_delay", retry_base_delay), ("retry_max_delay", retry_max_delay)):
            if value < 0:
                raise PageShotError(f"{name} must be >= 0.")
        policy = RetryPolicy(int(max_retries), float(max_retry_time), float(retry_base_delay), float(retry_max_delay), bool(retry_quota_exceeded))
        extra = {name: value for name, value in (headers or {}).items() if name.lower() not in ("authorization", "x-api-key")}
        self._transport = Transport(
            api_key=key or None,
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
        **options: Unpack[CaptureOptions],
    ) -> Screenshot:
        """``POST /screenshot``: captures ``url``, or whatever ``options`` describe (``html=``,
        ``width=``, ``full_page=``, ``format=``, ``device=``, ``block_ads=``, ``cache_ttl=``,
        ``pdf=``…: :class:`~pageshot.CaptureOptions` lists them all, typed). Names are
        snake_case (the API's camelCase is accepted too, in ``pdf`` and ``cookies`` as well;
        ``headers`` keys are sent as given); an unknown name raises
        :class:`~pageshot.UnknownOptionError` before anything is sent. With ``format="pdf"``
        the bytes are a PDF, as from :meth:`pdf`.

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
        return self._bytes("POST", "/screenshot", self._capture_body(url, options), SCREENSHOT, cancel, if_none_match)

    def pdf(
        self,
        url: Optional[str] = None,
        *,
        cancel: Optional[threading.Event] = None,
        if_none_match: Optional[str] = None,
        **options: Unpack[CaptureOptions],
    ) -> Screenshot:
        """``POST /pdf``: prints ``url`` (or ``html=``) as a PDF. Takes the options of
        :meth:`screenshot` (``cache_ttl=`` and ``if_none_match=`` too); paper, margins, page
        ranges and header/footer go in ``pdf=``, e.g.
        ``pdf={"paper_format": "A4", "margin": {"top": "1cm"}, "page_ranges": "1-2"}``.
        The PDF is in ``image``, its page count in ``pages``."""
        return self._bytes("POST", "/pdf", self._capture_body(url, options), SCREENSHOT, cancel, if_none_match)

    def screenshot_to_file(
        self,
        file: Union[str, "os.PathLike[str]", IO[bytes]],
        url: Optional[str] = None,
        *,
        cancel: Optional[threading.Event] = None,
        if_none_match: Optional[str] = None,
        **options: Unpack[CaptureOptions],
    ) -> SavedScreenshot:
        """:meth:`screenshot` written to ``file`` as the bytes arrive, never held in memory whole.

        ``file`` is a path or a binary file object. To a path, the bytes go to a new hidden
        file beside it, renamed over it once complete: a failed capture leaves no file (and an
        existing one untouched), and a retry — also after a download that broke off — starts
        a new file, never appending to a partial one. A file object is rewound
        (``seek``/``truncate``) to where it stood before a retry and after a failure, when it
        can be; one that cannot (a pipe, a socket) is retried only until its first byte.
        ``timeout`` covers each attempt's whole download. With ``if_none_match`` and an
        unchanged capture (``not_modified``) nothing is written.

        >>> client.screenshot_to_file("example.png", "https://example.com", full_page=True).size
        """
        body = self._capture_body(url, options)
        sink: Sink
        if isinstance(file, (str, os.PathLike)):
            check_target(file)
            part = PartFile(file)
            sink, may_retry, path = part, None, os.fspath(file)
        elif callable(getattr(file, "write", None)):
            to_object = FileObjectSink(file)
            sink, may_retry, path, part = to_object, to_object.may_retry, None, None
        else:
            raise PageShotError("screenshot_to_file() writes to a path or a binary file object.")
        call = Call(
            "POST", "/screenshot", SCREENSHOT, body=body, accept=_ACCEPT_BYTES, headers=_conditional(if_none_match),
            not_modified_ok=True, sink=sink, may_retry=may_retry,
        )
        answer = self._transport.call(call, cancel=cancel)
        if part is not None and not answer.not_modified:
            part.commit()
        return SavedScreenshot(path, 0 if answer.not_modified else int(answer.data or 0), **capture_fields(answer))

    def signed_url(
        self,
        options: Optional[Mapping[str, Any]] = None,
        /,
        *,
        expires_in: int = 3600,
        now: Union[float, datetime, None] = None,
        **kwargs: Unpack[SignedUrlOptions],
    ) -> str:
        """A signed ``GET /screenshot`` URL that works without an API key until ``expires_in``
        seconds (default 3600, at most a year) from ``now`` (Unix seconds or an aware
        datetime; default the clock): for an ``<img src>``. The options are the scalar ones
        (:class:`~pageshot.SignedUrlOptions`: no ``headers``, ``cookies``, ``hide_selectors``,
        ``block_resources``, ``pdf``), as a mapping, as keyword arguments, or both.

        Made offline from the client's ``signing_secret`` and ``key_id``
        (:class:`~pageshot.PageShotError` without them); any change to the URL's parameters
        breaks it. The server still applies the key's state, scope, limits and quota.

        >>> client.signed_url(url="https://example.com", width=800, expires_in=600)
        """
        if self.__signing is None:
            raise PageShotError("signed_url() needs signing_secret= and key_id= in PageShot().")
        merged = merge_options(options, cast(Mapping[str, Any], kwargs))
        return sign_url(self._transport.base_url, self.__signing.secret, self.__signing.key_id, merged, expires_in, now)

    def _capture_body(self, url: Optional[str], options: Mapping[str, Any]) -> Dict[str, Any]:
        """The JSON body of a capture (names checked). Refuses, before anything is sent, a
        capture ``timeout`` (the server's render deadline, ms) that the attempt's deadline
        (``timeout``, s) would cut short: the server would go on rendering for nobody."""
        body = capture_body(url, options)
        render_ms = body.get("timeout")
        deadline = self._transport.timeout
        if isinstance(render_ms, (int, float)) and not isinstance(render_ms, bool) and render_ms >= deadline * 1000:
            raise PageShotError(
                f"The capture option timeout ({render_ms} ms, the server's render deadline) must be shorter than the "
                f"client's timeout ({deadline} s), the HTTP deadline of an attempt that also covers queueing and the "
                f"transfer: raise PageShot(timeout=...)."
            )
        return body

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
        call = Call(method, path, repeatable, body=body, accept=_ACCEPT_BYTES, headers=_conditional(if_none_match), not_modified_ok=True)
        answer = self._transport.call(call, cancel=cancel)
        return Screenshot(answer.body, **capture_fields(answer))

    def submit(
        self,
        url: Optional[str] = None,
        *,
        webhook_url: Optional[str] = None,
        metadata: Optional[Mapping[str, Any]] = None,
        cancel: Optional[threading.Event] = None,
        **options: Unpack[CaptureOptions],
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
        body = self._capture_body(url, options)
        if webhook_url is not None:
            body["webhookUrl"] = webhook_url
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return cast(SubmittedJob, json_answer(self._transport.call(Call("POST", "/v1/jobs", SUBMIT, body=body), cancel=cancel).body))

    def job(self, job_id: str, *, cancel: Optional[threading.Event] = None) -> Job:
        """``GET /v1/jobs/:id``: where the job is (``queued``, ``running``, ``succeeded``,
        ``failed``), its ``result`` or ``error``, and its webhook delivery.
        :class:`~pageshot.NotFoundError` (``JOB_NOT_FOUND``) for an unknown id and for another key's job."""
        return cast(Job, json_answer(self._transport.call(Call("GET", _job_path(job_id), READ), cancel=cancel).body))

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
            answer = self._transport.call(Call("GET", _job_path(job_id), READ), cancel=cancel)
            job = cast(Job, json_answer(answer.body))
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
        return self._bytes("GET", _job_path(job_id) + "/result", None, READ, cancel, if_none_match)

    def delete_job(self, job_id: str, *, cancel: Optional[threading.Event] = None) -> None:
        """``DELETE /v1/jobs/:id``: forgets a finished job and its result before they expire,
        giving its bytes back to the key's result storage (``RESULT_STORAGE_FULL`` comes from
        results left behind). Done for a job already deleted, so it is safe to repeat.

        :raises ConflictError: the job is queued or running (``JOB_NOT_READY``).
        :raises NotFoundError: an unknown id, or another key's job (``JOB_NOT_FOUND``).
        """
        self._transport.call(Call("DELETE", _job_path(job_id), READ), cancel=cancel)

    def create_webhook_secret(self, *, cancel: Optional[threading.Event] = None) -> WebhookSecret:
        """``POST /v1/me/webhook-secret``: a new secret that signs this key's webhooks,
        replacing the old one at once. The answer's ``secret`` is the only time it is shown:
        store it where your receiver reads it (for :func:`~pageshot.verify_webhook`)."""
        call = Call("POST", "/v1/me/webhook-secret", NEW_SECRET)
        return cast(WebhookSecret, json_answer(self._transport.call(call, cancel=cancel).body))

    def webhook_secret(self, *, cancel: Optional[threading.Event] = None) -> Optional[Dict[str, str]]:
        """``GET /v1/me/webhook-secret``: this key's signing secret as ``{"hint", "createdAt"}``;
        None when it has none."""
        answer = json_answer(self._transport.call(Call("GET", "/v1/me/webhook-secret", READ), cancel=cancel).body)
        return cast(Optional[Dict[str, str]], answer["webhookSecret"])

    def delete_webhook_secret(self, *, cancel: Optional[threading.Event] = None) -> None:
        """``DELETE /v1/me/webhook-secret``: removes this key's signing secret; jobs submitted
        with a ``webhook_url`` are refused (``WEBHOOK_SECRET_MISSING``) until a new one is created.
        Done whether the key had one or not, so it is safe to repeat."""
        self._transport.call(Call("DELETE", "/v1/me/webhook-secret", READ), cancel=cancel)

    def devices(self, *, cancel: Optional[threading.Event] = None) -> List[Device]:
        """``GET /v1/devices``: the presets the ``device=`` option takes (any valid key)."""
        answer = json_answer(self._transport.call(Call("GET", "/v1/devices", READ), cancel=cancel).body)
        return cast(List[Device], answer["data"])

    def status(self, *, cancel: Optional[threading.Event] = None) -> Status:
        """``GET /status``: the server's load, queue and browser (needs no scope)."""
        return cast(Status, json_answer(self._transport.call(Call("GET", "/status", READ), cancel=cancel).body))

    def me(self, *, cancel: Optional[threading.Event] = None) -> Me:
        """``GET /v1/me``: the calling key as the server sees it (any valid key)."""
        return cast(Me, json_answer(self._transport.call(Call("GET", "/v1/me", READ), cancel=cancel).body))

    def usage(self, from_date: DateLike = None, to_date: DateLike = None, *, cancel: Optional[threading.Event] = None) -> Usage:
        """``GET /v1/usage``: the calling key's usage per UTC day (scope ``usage:read``);
        the range defaults to the last 30 days and may span at most 366."""
        query = {"from": day(from_date), "to": day(to_date)}
        return cast(Usage, json_answer(self._transport.call(Call("GET", "/v1/usage", READ, query=query), cancel=cancel).body))


__all__: List[str] = ["Keys", "PageShot", "SavedScreenshot", "Screenshot"]
