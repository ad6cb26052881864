"""Sending calls to one PageShot server with urllib: authentication, deadline, retries,
error mapping, and the last rate-limit state seen."""

from __future__ import annotations

import http.client
import json
import math
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, cast

from .errors import APIConnectionError, APIError, APITimeoutError, PageShotError, error_class_for
from .rate_limit import RateLimit, parse_rate_limit, reset_after_seconds, retry_after_seconds
from .retry import Repeatable, RetryEvent, RetryPolicy, with_retries

USER_AGENT = "pageshot-client-python/0.1.0"

#: Largest piece of an answer read at once.
_CHUNK = 64 * 1024

#: Consumes an OK answer's body, given as chunks, inside the attempt (its deadline and
#: retry rules cover the download); what it returns is the answer's ``data``. Errors
#: writing must be a :class:`PageShotError`: an ``OSError`` reads as a lost connection.
Sink = Callable[[Iterator[bytes]], Any]


@dataclass(frozen=True)
class Call:
    """One API call as the resource methods describe it."""

    method: str
    path: str
    repeatable: Repeatable
    #: JSON body; None means no body and no content-type (Fastify refuses a JSON type without one).
    body: Any = None
    query: Optional[Mapping[str, Any]] = None
    accept: str = "application/json"
    #: Headers of this call only (a capture's ``If-None-Match``); never ``Authorization``.
    headers: Optional[Mapping[str, str]] = None
    #: A 304 is a success with no body: the answer to a capture's ``If-None-Match`` when
    #: the caller already holds the bytes, so neither an error nor anything to retry.
    not_modified_ok: bool = False
    #: Where an OK answer's body goes instead of into memory.
    sink: Optional[Sink] = None
    #: Asked after a failed attempt: False ends the call (see ``with_retries``).
    may_retry: Optional[Callable[[], bool]] = None


@dataclass(frozen=True)
class Answer:
    """A successful answer: the raw body and what its headers said."""

    body: bytes
    content_type: str
    request_id: Optional[str]
    rate_limit: Optional[RateLimit]
    headers: Mapping[str, str]
    #: True for a 304 to a conditional capture: ``body`` is empty, the caller holds the bytes.
    not_modified: bool = False
    #: What the call's ``sink`` returned (``body`` is then empty).
    data: Any = None


def _redact(value: Any, secret: Optional[str]) -> Any:
    """Replaces every occurrence of ``secret`` in strings, however deeply nested."""
    if not secret:
        return value
    if isinstance(value, str):
        return value.replace(secret, "[redacted]")
    if isinstance(value, list):
        return [_redact(item, secret) for item in cast(List[Any], value)]
    if isinstance(value, dict):
        return {key: _redact(item, secret) for key, item in cast(Dict[str, Any], value).items()}
    return value


def _is_timeout(error: BaseException) -> bool:
    reason = getattr(error, "reason", None)
    return isinstance(error, socket.timeout) or isinstance(reason, socket.timeout) or "timed out" in str(error)


def _set_read_timeout(response: Any, seconds: float) -> None:
    """Bounds the next read of ``response`` by ``seconds``: what is left of the attempt's
    deadline. (urllib gives no handle on the socket but the response's own; where that is
    missing, the socket keeps the timeout it was opened with.)"""
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(seconds)


def _chunks(response: Any, deadline: float) -> Iterator[bytes]:
    """The body of ``response`` piece by piece, as it arrives, all of it before ``deadline``
    (``time.monotonic()``): a body that trickles in is cut off there, as one that stalls is.
    A body shorter than its ``Content-Length`` is an :class:`http.client.IncompleteRead`."""
    expected = response.headers.get("content-length")
    received = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("timed out")
        _set_read_timeout(response, remaining)
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        received += len(chunk)
        yield chunk
    if expected is not None and expected.strip().isdigit() and received < int(expected):
        raise http.client.IncompleteRead(b"", int(expected) - received)


class Transport:
    """Sends calls for one client. The key is kept out of ``repr`` and every error."""

    def __init__(
        self,
        *,
        api_key: Optional[str],
        base_url: str,
        timeout: float,
        policy: RetryPolicy,
        headers: Mapping[str, str],
        on_retry: Optional[Callable[[RetryEvent], None]],
    ) -> None:
        self.__api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.policy = policy
        self.headers = dict(headers)
        self.on_retry = on_retry
        #: The last rate-limit state any answer described.
        self.rate_limit: Optional[RateLimit] = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r})"

    def call(self, call: Call, *, cancel: Optional[threading.Event] = None) -> Answer:
        """Runs one call with the retry rules; raises a :class:`PageShotError` when it fails for good."""
        if self.__api_key is None:
            raise PageShotError(
                "No API key: this client was made to sign links only. Pass api_key= or set PAGESHOT_API_KEY to call the API."
            )
        return with_retries(
            lambda: self._attempt(call),
            policy=self.policy,
            repeatable=call.repeatable,
            wait_of=lambda error: getattr(error, "_server_wait", None),
            cancel=cancel,
            on_retry=self.on_retry,
            may_retry=call.may_retry,
        )

    def _url(self, call: Call) -> str:
        query = {name: value for name, value in (call.query or {}).items() if value is not None}
        search = f"?{urllib.parse.urlencode(query)}" if query else ""
        return f"{self.base_url}{call.path}{search}"

    def _request(self, call: Call) -> urllib.request.Request:
        data = None if call.body is None else json.dumps(call.body).encode("utf-8")
        request = urllib.request.Request(self._url(call), data=data, method=call.method)
        for name, value in {**self.headers, **(call.headers or {})}.items():
            request.add_header(name, value)
        request.add_header("Accept", call.accept)
        request.add_header("User-Agent", USER_AGENT)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        # Unredirected: a redirect to another host must not take the key along.
        request.add_unredirected_header("Authorization", f"Bearer {self.__api_key or ''}")
        return request

    def _attempt(self, call: Call) -> Answer:
        """One request. Its deadline, ``timeout``, runs from sending it to the last byte of the
        answer (connecting and waiting for the headers are bounded by it too)."""
        deadline = time.monotonic() + self.timeout
        request = self._request(call)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                chunks = _chunks(response, deadline)
                if call.sink is not None:
                    return self._answer(response.headers, b"", data=call.sink(chunks))
                return self._answer(response.headers, b"".join(chunks))
        except urllib.error.HTTPError as error:
            headers, status = error.headers, error.code
            if status == 304 and call.not_modified_ok:
                # urllib raises for every status outside 2xx; this one is a success without a body.
                error.close()
                return self._answer(headers, b"", not_modified=True)
            try:
                text = error.read()
            except (OSError, http.client.HTTPException):
                text = b""
            finally:
                error.close()
            raise self._api_error(status, error.reason, headers, text) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            raise self._connection_error(error) from None

    def _answer(self, headers: Any, body: bytes, *, not_modified: bool = False, data: Any = None) -> Answer:
        rate_limit = parse_rate_limit(headers)
        if rate_limit is not None:
            with self._lock:
                self.rate_limit = rate_limit
        # A 304 has no body and so no Content-Type: "" then, the bytes the caller holds keep theirs.
        return Answer(body, headers.get("content-type", ""), headers.get("x-request-id"), rate_limit, headers, not_modified, data)

    def _api_error(self, status: int, reason: Any, headers: Any, text: bytes) -> APIError:
        """The typed error for an error answer; records the server's wait for the retry loop."""
        rate_limit = parse_rate_limit(headers)
        if rate_limit is not None:
            with self._lock:
                self.rate_limit = rate_limit
        body: Optional[Dict[str, Any]] = None
        try:
            parsed: Any = json.loads(text.decode("utf-8"))
            if isinstance(parsed, dict) and isinstance(cast(Dict[str, Any], parsed).get("code"), str):
                body = cast(Dict[str, Any], _redact(parsed, self.__api_key))
        except (ValueError, UnicodeDecodeError):
            pass  # not PageShot's JSON (a proxy's page, say): the status alone describes it
        wait = retry_after_seconds(headers)
        if wait is None and status == 429:
            wait = reset_after_seconds(headers)
        if wait is None and body is not None and isinstance(body.get("retryAfter"), (int, float)):
            wait = float(body["retryAfter"])
        message = body.get("error") if body else None
        error = error_class_for(status)(
            message if isinstance(message, str) else _redact(f"HTTP {status} {reason or ''}".strip(), self.__api_key),
            status=status,
            code=body["code"] if body else f"HTTP_{status}",
            request_id=headers.get("x-request-id") or (body or {}).get("requestId"),
            retry_after=None if wait is None else math.ceil(wait),
            body=body,
        )
        # The exact wait, for the retry loop (retry_after is whole seconds, for people).
        error._server_wait = wait  # type: ignore[attr-defined]
        return error

    def _connection_error(self, error: BaseException) -> APIConnectionError:
        reason = getattr(error, "reason", error)
        text = _redact(str(reason), self.__api_key)
        if _is_timeout(error):
            return APITimeoutError(f"No complete answer from PageShot at {self.base_url} within {self.timeout} s.")
        return APIConnectionError(f"Could not reach PageShot at {self.base_url}: {text}")
