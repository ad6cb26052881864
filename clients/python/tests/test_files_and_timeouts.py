"""Streaming captures to files and file objects, what ``timeout`` means, and options
checked before sending: the Python client against a real PageShot (started by
test/clients.python.test.ts, like test_client.py, whose helpers this module uses).

Two small local servers stand in for what PageShot cannot be made to do: a proxy in front
of it that breaks an answer off half way (a network failing mid-download), and a server
that answers byte by byte or not at all (a slow network).
"""

from __future__ import annotations

import http.server
import io
import os
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from typing import Any, Callable, List, Set

from pageshot import (
    APIConnectionError,
    APITimeoutError,
    CaptureError,
    PageShotError,
    RetryEvent,
    ServerBusyError,
    UnknownOptionError,
)
from test_client import BASE_URL, FIXTURE, ROOT_KEY, SlotTaken, client, png_size, release_abandoned, served

_SKIP_HEADERS = {"connection", "transfer-encoding", "content-length", "date", "server", "host", "keep-alive"}


def setUpModule() -> None:
    if not (BASE_URL and ROOT_KEY and FIXTURE):
        raise unittest.SkipTest("needs a PageShot to test against: run `npm test` (test/clients.python.test.ts)")


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a timeout) breaks the pipe: expected here


def _serve(handle: Callable[[http.server.BaseHTTPRequestHandler], None]) -> _QuietServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            handle(self)

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = _QuietServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _url(server: _QuietServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


class CuttingProxy:
    """Forwards every request to PageShot; the answers numbered in ``cut`` (1 = the first)
    get only the first half of their body before the connection closes."""

    def __init__(self, cut: Set[int]) -> None:
        self.cut = cut
        self.requests = 0
        self._lock = threading.Lock()
        self.server = _serve(self._forward)
        self.url = _url(self.server)

    def _forward(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests += 1
            number = self.requests
        length = int(handler.headers.get("content-length") or 0)
        data = handler.rfile.read(length) if length else None
        headers = {name: value for name, value in handler.headers.items() if name.lower() not in _SKIP_HEADERS}
        request = urllib.request.Request(BASE_URL + handler.path, data=data, method=handler.command, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                status, answer_headers, body = answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            status, answer_headers, body = error.code, error.headers, error.read()
        handler.send_response(status)
        for name, value in answer_headers.items():
            if name.lower() not in _SKIP_HEADERS:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.wfile.write(body[: len(body) // 2] if number in self.cut and status == 200 else body)
        handler.wfile.flush()
        handler.close_connection = True

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Unseekable(io.RawIOBase):
    """A write-only stream that cannot be rewound, like a pipe or a socket."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: Any) -> int:
        self.data += bytes(chunk)
        return len(chunk)


class FileTest(unittest.TestCase):
    def setUp(self) -> None:
        self.folder = tempfile.mkdtemp()

    def tearDown(self) -> None:
        for name in os.listdir(self.folder):
            os.unlink(os.path.join(self.folder, name))
        os.rmdir(self.folder)

    def files(self) -> List[str]:
        return sorted(os.listdir(self.folder))

    def path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    def test_screenshot_to_file_writes_the_capture_and_nothing_else(self) -> None:
        target = self.path("shot.png")
        saved = client().screenshot_to_file(target, f"{FIXTURE}/", width=400, height=300)
        self.assertEqual(self.files(), ["shot.png"], "no part file is left beside it")
        with open(target, "rb") as file:
            written = file.read()
        self.assertEqual(png_size(written), (400, 300))
        self.assertEqual((saved.path, saved.size, saved.content_type, saved.not_modified), (target, len(written), "image/png", False))
        self.assertIn("render_ms", saved.timing)

    def test_a_failed_capture_leaves_no_file_and_keeps_an_existing_one(self) -> None:
        blank = '<!doctype html><body style="background:#fff"></body>'
        error = self._failure(CaptureError, lambda: client().screenshot_to_file(self.path("new.png"), html=blank, fail_on_blank=True))
        self.assertEqual(error.code, "BLANK_PAGE")
        self.assertEqual(self.files(), [], "neither the file nor a part file")

        with open(self.path("old.png"), "wb") as file:
            file.write(b"the old bytes")
        self._failure(CaptureError, lambda: client().screenshot_to_file(self.path("old.png"), html=blank, fail_on_blank=True))
        with open(self.path("old.png"), "rb") as file:
            self.assertEqual(file.read(), b"the old bytes")
        self.assertEqual(self.files(), ["old.png"])

    def test_a_missing_folder_is_refused_before_a_request_is_spent(self) -> None:
        before = served("/screenshot", "POST", 200)
        self._failure(PageShotError, lambda: client().screenshot_to_file(self.path("no/such/folder/x.png"), f"{FIXTURE}/"))
        self.assertEqual(served("/screenshot", "POST", 200), before)

    def test_a_busy_answer_is_retried_and_the_file_written_once(self) -> None:
        events: List[RetryEvent] = []
        with SlotTaken() as slot:

            def on_retry(event: RetryEvent) -> None:
                events.append(event)
                slot.release()

            saved = client(on_retry=on_retry).screenshot_to_file(self.path("busy.png"), f"{FIXTURE}/?file-busy")
        self.assertIsInstance(events[0].error, ServerBusyError)
        self.assertEqual(self.files(), ["busy.png"])
        with open(self.path("busy.png"), "rb") as file:
            self.assertEqual(len(file.read()), saved.size)

    def test_a_download_that_breaks_off_is_retried_into_a_new_file_never_appended(self) -> None:
        whole = client().screenshot(f"{FIXTURE}/", width=400, height=300).image
        proxy = CuttingProxy(cut={1})
        try:
            events: List[RetryEvent] = []
            saved = client(base_url=proxy.url, on_retry=events.append).screenshot_to_file(self.path("cut.png"), f"{FIXTURE}/", width=400, height=300)
            self.assertEqual(proxy.requests, 2, "the broken download was asked for again")
            self.assertIsInstance(events[0].error, APIConnectionError)
            with open(self.path("cut.png"), "rb") as file:
                self.assertEqual(file.read(), whole, "exactly one capture: the half of the first is gone")
            self.assertEqual(saved.size, len(whole))
            self.assertEqual(self.files(), ["cut.png"])

            # Without retries the broken download is an error, and leaves nothing behind.
            proxy.cut.add(3)
            failed = self._failure(APIConnectionError, lambda: client(base_url=proxy.url, max_retries=0).screenshot_to_file(self.path("gone.png"), f"{FIXTURE}/"))
            self.assertEqual(failed.attempts, 1)
            self.assertEqual(self.files(), ["cut.png"])
        finally:
            proxy.close()

    def test_a_file_object_is_rewound_before_a_retry_and_an_unseekable_one_is_not_retried(self) -> None:
        whole = client().screenshot(f"{FIXTURE}/", width=400, height=300).image
        proxy = CuttingProxy(cut={1, 3})
        try:
            buffer = io.BytesIO()
            buffer.write(b"kept:")
            saved = client(base_url=proxy.url).screenshot_to_file(buffer, f"{FIXTURE}/", width=400, height=300)
            self.assertEqual(buffer.getvalue(), b"kept:" + whole, "what stood before is kept, the broken half is not")
            self.assertEqual((saved.path, saved.size), (None, len(whole)))

            pipe = Unseekable()
            failed = self._failure(APIConnectionError, lambda: client(base_url=proxy.url).screenshot_to_file(pipe, f"{FIXTURE}/", width=400, height=300))
            self.assertEqual(failed.attempts, 1, "bytes already went where they cannot be taken back")
            self.assertEqual(proxy.requests, 3)
        finally:
            proxy.close()

    def test_an_unchanged_capture_does_not_touch_the_file(self) -> None:
        url = f"{FIXTURE}/?file-conditional"
        first = client().screenshot_to_file(self.path("held.png"), url, cache_ttl=60)
        assert first.etag is not None
        with open(self.path("held.png"), "rb") as file:
            held = file.read()
        same = client().screenshot_to_file(self.path("held.png"), url, cache_ttl=60, if_none_match=first.etag)
        self.assertEqual((same.not_modified, same.size, same.cache), (True, 0, "HIT"))
        with open(self.path("held.png"), "rb") as file:
            self.assertEqual(file.read(), held)
        self.assertEqual(self.files(), ["held.png"])

    def _failure(self, error_type: Any, call: Callable[[], Any]) -> Any:
        with self.assertRaises(error_type) as raised:
            call()
        return raised.exception


class TimeoutTest(unittest.TestCase):
    """``PageShot(timeout=…)`` is the HTTP deadline of one attempt, in seconds, for the whole
    answer; ``timeout=`` of a capture is the server's render deadline, in milliseconds."""

    def test_timeout_bounds_the_whole_answer_not_each_read(self) -> None:
        def trickle(handler: http.server.BaseHTTPRequestHandler) -> None:
            body = b'{"id": "root", "kind": "root"}'
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            for byte in body:  # one byte every 0.1 s: no single read waits long
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(0.1)

        server = _serve(trickle)
        try:
            start = time.monotonic()
            with self.assertRaises(APITimeoutError) as raised:
                client(base_url=_url(server), timeout=0.5, max_retries=0).me()
            elapsed = time.monotonic() - start
            self.assertEqual(raised.exception.attempts, 1)
            self.assertLess(elapsed, 1.5, "cut off at the deadline, not after the 3 s the body takes to trickle in")
        finally:
            server.shutdown()
            server.server_close()

    def test_each_retry_gets_a_deadline_of_its_own(self) -> None:
        seen: List[float] = []

        def stall_once(handler: http.server.BaseHTTPRequestHandler) -> None:
            seen.append(time.monotonic())
            time.sleep(2.0 if len(seen) == 1 else 0.3)
            body = b'{"id": "root"}'
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        server = _serve(stall_once)
        try:
            events: List[RetryEvent] = []
            start = time.monotonic()
            me = client(base_url=_url(server), timeout=0.5, max_retries=1, retry_base_delay=0.01, on_retry=events.append).me()
            self.assertEqual(me["id"], "root")
            self.assertIsInstance(events[0].error, APITimeoutError)
            self.assertGreater(time.monotonic() - start, 0.5, "the call as a whole outlived one deadline")
        finally:
            server.shutdown()
            server.server_close()

    def test_the_capture_timeout_option_is_the_servers_render_deadline_in_ms(self) -> None:
        start = time.monotonic()
        with self.assertRaises(CaptureError) as raised:
            client().screenshot(f"{FIXTURE}/gate", timeout=1000)
        error = raised.exception
        self.assertEqual((error.status, error.code, error.attempts), (504, "RENDER_TIMEOUT", 1))
        self.assertLess(time.monotonic() - start, 10, "answered by the server, long before the client's own deadline")
        release_abandoned()

    def test_a_render_deadline_the_http_deadline_would_cut_short_is_refused_before_sending(self) -> None:
        before = served("/screenshot", "POST", 504) + served("/screenshot", "POST", 200)
        with self.assertRaises(PageShotError) as raised:
            client(timeout=5).screenshot(f"{FIXTURE}/", timeout=5000)
        self.assertNotIsInstance(raised.exception, APIConnectionError)
        self.assertIn("timeout", str(raised.exception))
        self.assertEqual(served("/screenshot", "POST", 504) + served("/screenshot", "POST", 200), before)
        self.assertEqual(client(timeout=5.5).screenshot(f"{FIXTURE}/", timeout=5000).content_type, "image/png")


class OptionNamesTest(unittest.TestCase):
    def test_an_unknown_option_is_refused_before_sending_with_the_closest_name(self) -> None:
        before = served("/screenshot", "POST", 400)
        with self.assertRaises(UnknownOptionError) as raised:
            client().screenshot(f"{FIXTURE}/", ful_page=True)  # type: ignore[call-arg]
        self.assertIsInstance(raised.exception, TypeError)
        self.assertEqual(raised.exception.option, "ful_page")
        self.assertIn("full_page", str(raised.exception))
        with self.assertRaises(UnknownOptionError):
            client().pdf(html="<p>x</p>", pdf={"paper_fromat": "A4"})  # type: ignore[typeddict-unknown-key]
        self.assertEqual(served("/screenshot", "POST", 400), before, "nothing reached the server")

    def test_snake_case_and_camel_case_names_reach_the_server_alike(self) -> None:
        snake = client().screenshot(html="<p>x</p>", width=300, height=200, device_scale_factor=2)
        camel = client().screenshot(html="<p>x</p>", width=300, height=200, deviceScaleFactor=2)  # type: ignore[call-arg]
        self.assertEqual(png_size(snake.image), (600, 400))
        self.assertEqual(png_size(camel.image), (600, 400))


if __name__ == "__main__":
    unittest.main()
