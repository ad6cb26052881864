"""Tests of the Python client against a real PageShot.

test/clients.python.test.ts starts the server (authentication on, one capture slot and
no queue) and a fixture site, then runs these with:

    PYTHONPATH=clients/python python3 -m unittest discover -s clients/python/tests -v

and PAGESHOT_TEST_BASE_URL, PAGESHOT_TEST_ROOT_KEY and PAGESHOT_TEST_FIXTURE_URL set.
The fixture's /gate holds its answer until /gates/open is called, so a capture of it
keeps the server's only slot taken exactly as long as a test needs; its /seen counts the
requests it received for a page, so a test can tell a render from a cache hit.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import struct
import sys
import tempfile
import threading
import time
import traceback
import unittest
import urllib.parse
import urllib.request
from typing import Any, Callable, Dict, List, Set, Tuple, Type, TypeVar

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pageshot import (  # noqa: E402
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    CancelledError,
    CaptureError,
    ConflictError,
    NotFoundError,
    PageShot,
    PageShotError,
    PermissionDeniedError,
    RateLimitError,
    RetryEvent,
    ServerBusyError,
    ValidationError,
    WebhookVerificationError,
    verify_webhook,
)

BASE_URL = os.environ.get("PAGESHOT_TEST_BASE_URL", "")
ROOT_KEY = os.environ.get("PAGESHOT_TEST_ROOT_KEY", "")
FIXTURE = os.environ.get("PAGESHOT_TEST_FIXTURE_URL", "")

#: Every key a test used: no error may show one.
SECRETS: Set[str] = {ROOT_KEY} if ROOT_KEY else set()

E = TypeVar("E", bound=BaseException)


def setUpModule() -> None:
    if not (BASE_URL and ROOT_KEY and FIXTURE):
        raise unittest.SkipTest("needs a PageShot to test against: run `npm test` (test/clients.python.test.ts)")


def _get(url: str, headers: Dict[str, str] = {}) -> bytes:  # noqa: B006 - read-only default
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()


def until(condition: Callable[[], bool], what: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def gates_waiting() -> int:
    return int(_get(f"{FIXTURE}/gates/waiting"))


def open_gates() -> None:
    _get(f"{FIXTURE}/gates/open")


def renders(url: str) -> int:
    """Requests the fixture site received for ``url``'s path and query: one per render of it
    (an answer from the result cache makes none)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.urlencode({"path": parts.path or "/", "query": f"?{parts.query}" if parts.query else ""})
    return int(_get(f"{FIXTURE}/seen?{query}"))


def server_status() -> Dict[str, Any]:
    return json.loads(_get(f"{BASE_URL}/status"))


def served(route: str, method: str, status: int) -> int:
    """Answers the server gave on a route with a status, as its own metrics count them."""
    text = _get(f"{BASE_URL}/metrics", {"Authorization": f"Bearer {ROOT_KEY}"}).decode()
    pattern = rf'^pageshot_http_requests_total\{{route="{re.escape(route)}",method="{method}",status="{status}"\}} (\d+)'
    match = re.search(pattern, text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def queue_full_refusals() -> int:
    return int(server_status()["queue"]["refusals"].get("QUEUE_FULL", 0))


def png_size(image: bytes) -> tuple:
    assert image[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", image[16:24])


def client(**options: Any) -> PageShot:
    """A client of the server under test; short backoff steps keep the suite fast
    (server-given waits, Retry-After, still apply in full)."""
    settings: Dict[str, Any] = {"api_key": ROOT_KEY, "base_url": BASE_URL, "retry_base_delay": 0.05}
    settings.update(options)
    return PageShot(**settings)


class SlotTaken:
    """Holds the server's only capture slot with a capture of /gate until the block ends."""

    def __enter__(self) -> "SlotTaken":
        self.thread = threading.Thread(target=lambda: client(max_retries=0).screenshot(f"{FIXTURE}/gate"), daemon=True)
        self.thread.start()
        until(lambda: gates_waiting() > 0, "the capture to reach /gate")
        return self

    def release(self) -> None:
        open_gates()

    def __exit__(self, *exc: Any) -> None:
        open_gates()
        self.thread.join(10)
        until(lambda: server_status()["queue"]["activeRequests"] == 0, "the slot to be free")


def release_abandoned() -> None:
    """Lets a capture of /gate that a test gave up on finish."""
    until(lambda: gates_waiting() > 0, "the capture to reach /gate")
    open_gates()
    until(lambda: server_status()["queue"]["activeRequests"] == 0, "the slot to be free")


class ClientTest(unittest.TestCase):
    """The client against a real server."""

    def failure(self, error_type: Type[E], call: Callable[[], Any]) -> E:
        """Runs a call that must raise ``error_type``; checks no key shows in the error, however printed."""
        with self.assertRaises(error_type) as raised:
            call()
        error = raised.exception
        texts = [str(error), repr(error), repr(vars(error)), "".join(traceback.format_exception(type(error), error, error.__traceback__))]
        for text in texts:
            for secret in SECRETS:
                self.assertNotIn(secret, text)
        return error

    def test_screenshot_returns_the_image_its_type_request_id_and_rate_limit(self) -> None:
        pageshot = client()
        shot = pageshot.screenshot(f"{FIXTURE}/")
        self.assertEqual(png_size(shot.image), (1280, 720))
        self.assertEqual(shot.content_type, "image/png")
        self.assertTrue(shot.request_id)
        self.assertIn("render_ms", shot.timing)
        assert shot.rate_limit is not None
        self.assertEqual(shot.rate_limit.limit, 500)
        self.assertEqual(shot.rate_limit.policies["daily"].quota, 2000)
        self.assertEqual(pageshot.rate_limit, shot.rate_limit)
        small = pageshot.screenshot(html="<h1>hi</h1>", width=400, height=300, device_scale_factor=1, omit_background=True)
        self.assertEqual(png_size(small.image), (400, 300))

    def test_new_capture_options_and_the_answer_headers(self) -> None:
        pageshot = client()
        iphone = next((device for device in pageshot.devices() if device["name"] == "iPhone 15"), None)
        assert iphone is not None, "devices() lists iPhone 15"
        self.assertEqual((iphone["mobile"], iphone["touch"]), (True, True))
        shot = pageshot.screenshot(
            f"{FIXTURE}/moved",
            device="iPhone 15",
            timezone="Europe/Berlin",
            locale="de-DE",
            reduced_motion="reduce",
            media_type="screen",
            scroll_page=True,
            disable_animations=True,
            block_cookie_banners=True,
            click_selector="#block",
            hide_selectors=["#green"],
            block_resources=["font", "media"],
            failOnBlank=True,  # camelCase works too
        )
        self.assertEqual(shot.final_url, f"{FIXTURE}/", "the redirect was followed")
        self.assertEqual(shot.target_status, 200)
        self.assertFalse(shot.truncated)
        self.assertIsNone(shot.pages)
        for phase in ("navigation", "waits", "scroll", "capture"):
            self.assertIsInstance(shot.phases.get(phase), float, phase)
        self.assertIn("queue_ms", shot.timing)
        self.assertIn("render_ms", shot.timing)
        scale = iphone["deviceScaleFactor"]
        self.assertEqual(png_size(shot.image), (round(iphone["width"] * scale), round(iphone["height"] * scale)))

        not_found = f"{FIXTURE}/status?code=404"
        self.assertEqual(pageshot.screenshot(not_found, fail_on_http_error=False).target_status, 404)
        refused = self.failure(CaptureError, lambda: pageshot.screenshot(not_found))
        self.assertEqual((refused.code, refused.target_status, refused.attempts), ("NAVIGATION_FAILED", 404, 1))

    def test_pdf_prints_with_nested_snake_case_options_and_counts_pages(self) -> None:
        pageshot = client()
        html = '<h1>one</h1><h1 style="break-before: page">two</h1><h1 style="break-before: page">three</h1>'
        document = pageshot.pdf(
            html=html,
            pdf={"paper_format": "A4", "margin": {"top": "1cm", "bottom": "1cm"}, "footer_template": '<span class="pageNumber"></span>'},
        )
        self.assertEqual(document.image[:5], b"%PDF-")
        self.assertEqual(document.content_type, "application/pdf")
        self.assertEqual(document.pages, 3)
        self.assertIsNone(document.target_status)
        first_two = pageshot.screenshot(html=html, format="pdf", pdf={"page_ranges": "1-2", "landscape": True})
        self.assertEqual(first_two.image[:5], b"%PDF-")
        self.assertEqual(first_two.pages, 2)

    def test_fail_on_blank_raises_blank_page(self) -> None:
        blank = self.failure(
            CaptureError, lambda: client().screenshot(html='<!doctype html><body style="background:#fff"></body>', fail_on_blank=True)
        )
        self.assertEqual((blank.code, blank.status, blank.attempts), ("BLANK_PAGE", 422, 1))

    def test_cache_ttl_reaches_the_server_and_the_answer_says_what_the_cache_did(self) -> None:
        pageshot = client()
        url = f"{FIXTURE}/?py-cache"
        miss = pageshot.screenshot(url, cache_ttl=60)
        self.assertEqual(miss.cache, "MISS")
        self.assertEqual(miss.age, 0)
        self.assertRegex(miss.etag or "", r'^"[A-Za-z0-9_-]{27}"$', "the tag as sent, quotes included")
        self.assertFalse(miss.not_modified)
        self.assertIn("render_ms", miss.timing)

        time.sleep(1.1)
        hit = pageshot.screenshot(url, cacheTtl=60)  # camelCase works too
        self.assertEqual(hit.cache, "HIT")
        assert hit.age is not None
        self.assertGreaterEqual(hit.age, 1, "Age counts from the render")
        self.assertEqual(hit.etag, miss.etag)
        self.assertEqual(hit.image, miss.image)
        self.assertEqual((hit.content_type, hit.final_url, hit.target_status, hit.not_modified), ("image/png", url, 200, False))
        # A hit rendered nothing: its Server-Timing is the cache lookup, not a phase of a render.
        self.assertIsInstance(hit.timing.get("cache_ms"), float)
        self.assertNotIn("render_ms", hit.timing)
        self.assertEqual(hit.phases, {})
        self.assertEqual(renders(url), 1, "the second call never reached the site")

        # Without cache_ttl this server's default (0) applies: rendered, not stored, no Age.
        bypass = pageshot.screenshot(url)
        self.assertEqual((bypass.cache, bypass.age), ("BYPASS", None))
        self.assertEqual(bypass.etag, miss.etag, "the tag is of the bytes, however they were made")
        self.assertEqual(renders(url), 2)

    def test_if_none_match_answers_not_modified_without_bytes_an_error_or_a_retry(self) -> None:
        pageshot = client()
        url = f"{FIXTURE}/?py-conditional"
        first = pageshot.screenshot(url, cache_ttl=60)
        assert first.etag is not None
        before = served("/screenshot", "POST", 304)
        events: List[RetryEvent] = []
        same = client(on_retry=events.append).screenshot(url, cache_ttl=60, if_none_match=first.etag)
        self.assertTrue(same.not_modified)
        self.assertEqual((same.image, same.content_type), (b"", ""))
        self.assertEqual((same.cache, same.etag), ("HIT", first.etag))
        self.assertIsInstance(same.age, int)
        self.assertEqual(events, [])
        self.assertEqual(served("/screenshot", "POST", 304) - before, 1, "the server saw exactly one request")
        with tempfile.TemporaryDirectory() as folder:
            held = os.path.join(folder, "held.png")
            first.save(held)
            self.failure(PageShotError, lambda: same.save(held))
            with open(held, "rb") as file:
                self.assertEqual(file.read(), first.image, "the bytes held are not overwritten with none")

        changed = pageshot.screenshot(url, cache_ttl=60, if_none_match='"another-tag"')
        self.assertFalse(changed.not_modified)
        self.assertEqual(changed.image, first.image, "another tag gets the bytes")
        self.assertEqual(renders(url), 1)

        # pdf() takes both too.
        document = pageshot.pdf(html="<h1>cached pdf</h1>", cache_ttl=60)
        self.assertEqual(document.cache, "MISS")
        again = pageshot.pdf(html="<h1>cached pdf</h1>", cache_ttl=60, if_none_match=document.etag)
        self.assertEqual((again.not_modified, again.cache, again.image), (True, "HIT", b""))

        # A value no header can carry is refused before sending, not mistaken for a lost connection.
        refused = self.failure(PageShotError, lambda: pageshot.screenshot(url, if_none_match='"a"\r\nX-Injected: 1'))
        self.assertNotIsInstance(refused, APIConnectionError)
        self.assertIn("if_none_match", str(refused))

    def test_status_me_usage_and_key_management(self) -> None:
        pageshot = client()
        self.assertEqual(pageshot.status()["queue"]["maxConcurrency"], 1)
        self.assertEqual(pageshot.me()["id"], "root")
        created = pageshot.keys.create("py", ["screenshot", "usage:read"], limits={"daily": 50}, metadata={"team": "py"})
        SECRETS.add(created["key"])
        self.assertEqual(created["state"], "active")
        self.assertEqual(pageshot.keys.get(created["id"])["name"], "py")
        self.assertIn(created["id"], [key["id"] for key in pageshot.keys.list(limit=100)["data"]])
        self.assertIn(created["id"], [key["id"] for key in pageshot.keys.all()])
        self.assertEqual(pageshot.keys.update(created["id"], disabled=True)["state"], "disabled")
        self.assertEqual(pageshot.keys.update(created["id"], disabled=False, allowed_hosts=["127.0.0.1"])["allowedHosts"], ["127.0.0.1"])
        own = client(api_key=created["key"])
        self.assertEqual(own.me()["id"], created["id"])
        self.assertEqual(own.usage(time.strftime("%Y-%m-%d", time.gmtime()))["keyId"], created["id"])
        self.assertEqual(pageshot.keys.usage(created["id"])["totals"]["requests"], 2)
        rotated = pageshot.keys.rotate(created["id"], grace_period_seconds=60)
        SECRETS.add(rotated["key"])
        self.assertEqual(rotated["rotatedFrom"], created["id"])
        self.assertEqual(pageshot.keys.revoke(rotated["id"])["state"], "revoked")
        self.assertEqual(pageshot.keys.revoke(rotated["id"])["state"], "revoked")
        revoked = self.failure(PermissionDeniedError, lambda: client(api_key=rotated["key"]).me())
        self.assertEqual(revoked.code, "KEY_REVOKED")

    def test_401_and_403_are_raised_after_a_single_request(self) -> None:
        # Built at run time so secret scanners do not flag a made-up key in the source.
        unknown = "ps_live_" + "2" * 27 + "_" + "2" * 6
        SECRETS.add(unknown)
        before = served("/v1/me", "GET", 403)
        refused = self.failure(PermissionDeniedError, lambda: client(api_key=unknown, max_retries=5).me())
        self.assertEqual((refused.status, refused.code, refused.attempts), (403, "INVALID_API_KEY", 1))
        self.assertTrue(refused.request_id)
        self.assertEqual(served("/v1/me", "GET", 403) - before, 1, "the server saw exactly one request")

        # A key broken in two by a copy-paste: the header no longer parses as a key.
        mangled = ROOT_KEY[:20] + " " + ROOT_KEY[20:]
        SECRETS.add(mangled)
        before = served("/v1/me", "GET", 401)
        missing = self.failure(AuthenticationError, lambda: client(api_key=mangled, max_retries=5).me())
        self.assertEqual((missing.status, missing.code, missing.attempts), (401, "MISSING_API_KEY", 1))
        self.assertEqual(served("/v1/me", "GET", 401) - before, 1)

        reader = client().keys.create("reader", ["usage:read"])
        SECRETS.add(reader["key"])
        before = served("/screenshot", "POST", 403)
        scope = self.failure(PermissionDeniedError, lambda: client(api_key=reader["key"]).screenshot(f"{FIXTURE}/"))
        self.assertEqual((scope.code, (scope.body or {}).get("requiredScope"), scope.attempts), ("INSUFFICIENT_SCOPE", "screenshot", 1))
        self.assertEqual(served("/screenshot", "POST", 403) - before, 1)

    def test_400_and_404_are_not_retried(self) -> None:
        invalid = self.failure(ValidationError, lambda: client().screenshot(f"{FIXTURE}/", width=5))
        self.assertEqual((invalid.code, invalid.field, invalid.attempts), ("VALIDATION_ERROR", "width", 1))
        missing = self.failure(NotFoundError, lambda: client().keys.get("key_does_not_exist"))
        self.assertEqual((missing.code, missing.attempts), ("KEY_NOT_FOUND", 1))

    def test_a_busy_answer_is_retried_after_its_retry_after_and_succeeds(self) -> None:
        events: List[RetryEvent] = []
        with SlotTaken() as slot:

            def on_retry(event: RetryEvent) -> None:
                events.append(event)
                slot.release()  # the slot frees up while the client waits

            start = time.monotonic()
            shot = client(on_retry=on_retry).screenshot(f"{FIXTURE}/?busy")
            waited = time.monotonic() - start
        self.assertEqual(shot.content_type, "image/png")
        first = events[0].error
        self.assertIsInstance(first, ServerBusyError)
        assert isinstance(first, ServerBusyError)
        self.assertEqual((first.code, (first.body or {}).get("status")), ("QUEUE_FULL", "busy"))
        assert first.retry_after is not None
        self.assertGreaterEqual(first.retry_after, 1)
        self.assertGreaterEqual(events[0].delay, first.retry_after, "never earlier than Retry-After")
        self.assertGreaterEqual(waited, first.retry_after)

    def test_a_rate_limited_call_waits_for_retry_after_and_succeeds(self) -> None:
        key = client().keys.create("slow", ["screenshot"], limits={"rate": 1, "burst": 1, "daily": 1000})
        SECRETS.add(key["key"])
        events: List[RetryEvent] = []
        pageshot = client(api_key=key["key"], on_retry=events.append)
        pageshot.me()
        assert pageshot.rate_limit is not None
        self.assertEqual((pageshot.rate_limit.limit, pageshot.rate_limit.remaining), (1, 0))
        start = time.monotonic()
        shot = pageshot.screenshot(f"{FIXTURE}/?limited")
        waited = time.monotonic() - start
        self.assertEqual(shot.content_type, "image/png")
        self.assertEqual(len(events), 1)
        refusal = events[0].error
        assert isinstance(refusal, RateLimitError)
        self.assertEqual((refusal.code, refusal.retry_after, refusal.limit, refusal.policy), ("RATE_LIMITED", 1, 1, "burst"))
        self.assertGreaterEqual(waited, 1.0, "Retry-After was 1 s")

    def test_a_used_up_daily_quota_is_not_waited_for_unless_asked(self) -> None:
        to_midnight = 86400 - time.time() % 86400
        if to_midnight < 10:
            self.skipTest("the quota renews within the retry budget right now")
        key = client().keys.create("quota", ["screenshot"], limits={"daily": 1})
        SECRETS.add(key["key"])
        pageshot = client(api_key=key["key"], max_retry_time=5)
        pageshot.me()
        start = time.monotonic()
        refusal = self.failure(RateLimitError, pageshot.me)
        self.assertEqual((refusal.code, refusal.attempts), ("QUOTA_EXCEEDED", 1))
        assert refusal.retry_after is not None
        self.assertGreaterEqual(refusal.retry_after, to_midnight - 2, "Retry-After runs to 00:00 UTC")
        self.assertLess(time.monotonic() - start, 1.0)

        # Asked to, it waits for the renewal past max_retry_time (cut short here by cancel).
        cancel = threading.Event()
        waits: List[RetryEvent] = []

        def on_retry(event: RetryEvent) -> None:
            waits.append(event)
            cancel.set()

        patient = client(api_key=key["key"], max_retry_time=5, retry_quota_exceeded=True, on_retry=on_retry)
        self.failure(CancelledError, lambda: patient.me(cancel=cancel))
        self.assertGreater(waits[0].delay, 5)

    def test_retries_stop_at_max_retries_and_never_sleep_past_max_retry_time(self) -> None:
        with SlotTaken():
            before = queue_full_refusals()
            capped = self.failure(ServerBusyError, lambda: client(max_retries=1).screenshot(f"{FIXTURE}/?cap"))
            self.assertEqual((capped.code, capped.attempts), ("QUEUE_FULL", 2))
            self.assertEqual(queue_full_refusals() - before, 2, "one request and one retry")
            start = time.monotonic()
            impatient = self.failure(ServerBusyError, lambda: client(max_retry_time=0.2).screenshot(f"{FIXTURE}/?impatient"))
            self.assertEqual(impatient.attempts, 1, "a Retry-After beyond the budget is not slept")
            self.assertLess(time.monotonic() - start, 0.8)

    def test_cancel_ends_a_wait_between_retries_and_a_call_not_started(self) -> None:
        cancel = threading.Event()
        cancelled_at: List[float] = []

        def on_retry(_event: RetryEvent) -> None:
            def fire() -> None:
                cancelled_at.append(time.monotonic())
                cancel.set()

            threading.Timer(0.1, fire).start()

        with SlotTaken():
            before = queue_full_refusals()
            self.failure(CancelledError, lambda: client(on_retry=on_retry).screenshot(f"{FIXTURE}/?cancel", cancel=cancel))
            self.assertLess(time.monotonic() - cancelled_at[0], 0.3, "the wait ends at once")
            self.assertEqual(queue_full_refusals() - before, 1, "no request after the cancel")
        self.failure(CancelledError, lambda: client().me(cancel=cancel))

    def test_a_timed_out_screenshot_is_not_repeated(self) -> None:
        timed_out = self.failure(APITimeoutError, lambda: client(timeout=0.3).screenshot(f"{FIXTURE}/gate"))
        self.assertEqual(timed_out.attempts, 1)
        release_abandoned()

    def test_a_lost_connection_is_retried_for_reads_only(self) -> None:
        nowhere = client(base_url="http://127.0.0.1:1", max_retries=2, retry_base_delay=0.01)
        read = self.failure(APIConnectionError, nowhere.me)
        self.assertEqual(read.attempts, 3)
        write = self.failure(APIConnectionError, lambda: nowhere.keys.create("x", ["screenshot"]))
        self.assertEqual(write.attempts, 1, "creating a key twice is not harmless")

    def test_the_key_comes_from_the_environment_and_is_required(self) -> None:
        saved = os.environ.pop("PAGESHOT_API_KEY", None)
        try:
            error = self.failure(PageShotError, lambda: PageShot(base_url=BASE_URL))
            self.assertIn("PAGESHOT_API_KEY", str(error))
            os.environ["PAGESHOT_API_KEY"] = ROOT_KEY + "\n"
            self.assertEqual(PageShot(base_url=BASE_URL).me()["id"], "root")
            self.failure(PageShotError, lambda: PageShot(api_key=ROOT_KEY + "\x00", base_url=BASE_URL))
        finally:
            os.environ.pop("PAGESHOT_API_KEY", None)
            if saved is not None:
                os.environ["PAGESHOT_API_KEY"] = saved

    def test_the_client_does_not_show_its_key(self) -> None:
        pageshot = client()
        for text in (repr(pageshot), str(pageshot), repr(pageshot.keys), repr(vars(pageshot))):
            self.assertNotIn(ROOT_KEY, text)



    # ---- Async jobs: need a server with PAGESHOT_REDIS_URL (skipped otherwise) ----

    def jobs_clients(self) -> Tuple[PageShot, PageShot]:
        """Clients of two new keys with scope ``screenshot``; skips the test on a server without jobs."""
        root = client()
        try:
            # Well-formed and unknown: 404 where jobs run, 503 where they do not (asked once: no retry to wait for).
            client(max_retries=0).job("job_" + "A" * 22)
        except NotFoundError:
            pass
        except ServerBusyError as error:
            if error.code != "JOBS_UNAVAILABLE":
                raise
            self.skipTest("the server under test has no Redis, so no async jobs")
        keys = [root.keys.create(name, ["screenshot"])["key"] for name in ("jobs", "someone else")]
        SECRETS.update(keys)
        return client(api_key=keys[0]), client(api_key=keys[1])

    def test_jobs_submit_wait_result(self) -> None:
        mine, _ = self.jobs_clients()
        metadata = {"order": 42, "snake_case_key": {"ok": True}}  # given back unchanged: not camelCased
        submitted = mine.submit(f"{FIXTURE}/", width=400, height=300, device_scale_factor=1, metadata=metadata)
        self.assertRegex(submitted["id"], r"^job_")
        self.assertEqual(submitted["status"], "queued")
        self.assertEqual(submitted["statusUrl"], f"/v1/jobs/{submitted['id']}")
        self.assertEqual(submitted["resultUrl"], f"/v1/jobs/{submitted['id']}/result")

        job = mine.wait(submitted["id"], timeout=30, poll_interval=0.1)
        self.assertEqual(job["status"], "succeeded", job["error"])
        self.assertEqual(job["metadata"], metadata)
        self.assertIsNone(job["error"])
        result = job["result"]
        assert result is not None

        shot = mine.result(submitted["id"])
        self.assertEqual(png_size(shot.image), (400, 300))
        self.assertEqual(shot.content_type, "image/png")
        self.assertEqual(len(shot.image), result["bytes"])
        self.assertEqual(shot.etag, result["etag"])
        again = mine.result(submitted["id"], if_none_match=shot.etag)
        self.assertTrue(again.not_modified)
        self.assertEqual(again.image, b"")

        # Deleted: gone for its owner, and deleting again is done too.
        mine.delete_job(submitted["id"])
        mine.delete_job(submitted["id"])
        self.assertEqual(self.failure(NotFoundError, lambda: mine.job(submitted["id"])).code, "JOB_NOT_FOUND")

    def test_jobs_unfinished_and_failed_results_are_conflicts(self) -> None:
        mine, _ = self.jobs_clients()
        held = mine.submit(f"{FIXTURE}/gate")["id"]
        try:
            until(lambda: gates_waiting() > 0, "the job to reach /gate", seconds=15)
            early = self.failure(ConflictError, lambda: mine.result(held))
            self.assertEqual((early.code, early.retry_after, early.attempts), ("JOB_NOT_READY", 1, 1))
        finally:
            open_gates()
        self.assertEqual(mine.wait(held, timeout=30, poll_interval=0.1)["status"], "succeeded")

        blank = mine.submit(html="<!doctype html><body style='background:#fff'></body>", fail_on_blank=True)["id"]
        job = mine.wait(blank, timeout=30, poll_interval=0.1)
        self.assertEqual(job["status"], "failed")
        assert job["error"] is not None
        self.assertEqual(job["error"]["code"], "BLANK_PAGE")
        failed = self.failure(ConflictError, lambda: mine.result(blank))
        self.assertEqual((failed.code, failed.job_error), ("JOB_FAILED", "BLANK_PAGE"))

    def test_jobs_of_another_key_are_not_found(self) -> None:
        mine, theirs = self.jobs_clients()
        job_id = mine.submit(html="<h1>mine</h1>")["id"]
        unknown = "job_" + "A" * 22
        calls: List[Callable[[], Any]] = [
            lambda: theirs.job(job_id),
            lambda: theirs.wait(job_id, timeout=1),
            lambda: theirs.result(job_id),
            lambda: theirs.delete_job(job_id),
            lambda: mine.job(unknown),
        ]
        for call in calls:
            error = self.failure(NotFoundError, call)
            self.assertEqual((error.status, error.code, error.attempts), (404, "JOB_NOT_FOUND", 1))
        self.assertEqual(mine.wait(job_id, timeout=30, poll_interval=0.1)["status"], "succeeded", "the owner still sees it")

    def test_jobs_webhook_is_signed_with_the_key_secret(self) -> None:
        mine, theirs = self.jobs_clients()
        received: List[Tuple[Dict[str, str], bytes]] = []

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                received.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        webhook_url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        try:
            self.assertIsNone(mine.webhook_secret(), "a new key has no secret")
            missing = self.failure(ValidationError, lambda: mine.submit(html="<h1>hook</h1>", webhook_url=webhook_url))
            self.assertEqual(missing.code, "WEBHOOK_SECRET_MISSING")

            created = mine.create_webhook_secret()
            SECRETS.add(created["secret"])
            self.assertRegex(created["secret"], r"^whsec_[A-Za-z0-9+/]+=*$")
            self.assertEqual((mine.webhook_secret() or {}).get("hint"), created["hint"])

            job_id = mine.submit(html="<h1>hook</h1>", webhook_url=webhook_url, metadata={"order": 7})["id"]
            mine.wait(job_id, timeout=30, poll_interval=0.1)
            until(lambda: len(received) > 0, "the webhook delivery", seconds=10)
            headers, body = received[0]
            event = verify_webhook(created["secret"], headers, body)
            self.assertEqual(event["type"], "job.succeeded")
            self.assertEqual(event["data"]["id"], job_id)
            self.assertEqual(event["data"]["metadata"], {"order": 7})
            other_secret = theirs.create_webhook_secret()["secret"]
            SECRETS.add(other_secret)
            with self.assertRaises(WebhookVerificationError):
                verify_webhook(other_secret, headers, body)

            mine.delete_webhook_secret()
            self.assertIsNone(mine.webhook_secret())
            mine.delete_webhook_secret()  # deleting none is done too
            again = self.failure(ValidationError, lambda: mine.submit(html="<h1>hook</h1>", webhook_url=webhook_url))
            self.assertEqual(again.code, "WEBHOOK_SECRET_MISSING")
        finally:
            receiver.shutdown()
            receiver.server_close()

if __name__ == "__main__":
    unittest.main()
