"""Unit tests of pageshot.verify_webhook (Standard Webhooks), no server needed.

Run with the rest of the suite (test/clients.python.test.ts), on their own by
test/clients.webhooks.test.ts, or directly:

    PYTHONPATH=clients/python python3 -m unittest discover -s clients/python/tests -p test_webhooks.py -v

test/clients.webhooks.test.ts also checks this verifier against deliveries signed by the
npm ``standardwebhooks`` package.
"""

from __future__ import annotations

import base64
import email.message
import hashlib
import hmac
import json
import os
import sys
import time
import unittest
from datetime import datetime, timezone
from typing import Any, Dict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pageshot import PageShotError, WebhookVerificationError, verify_webhook  # noqa: E402

#: The example delivery of the Standard Webhooks / Svix documentation: a known answer,
#: computed by neither this client nor its tests.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()
BODY = json.dumps({"type": "job.failed", "timestamp": "2026-12-01T04:00:00.000Z", "data": {"id": "job_1", "metadata": {"k": "✓"}}}).encode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> Dict[str, str]:
    """The headers of a delivery (held to the known vector by test_signing_helper_matches_the_vector)."""
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": "v1," + base64.b64encode(mac).decode()}


def vector_headers() -> Dict[str, str]:
    return {"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TIMESTAMP), "webhook-signature": VECTOR_SIGNATURE}


class VerifyWebhookTest(unittest.TestCase):
    def refused(self, pattern: str, *args: Any, **kwargs: Any) -> WebhookVerificationError:
        with self.assertRaises(WebhookVerificationError) as caught:
            verify_webhook(*args, **kwargs)
        self.assertRegex(str(caught.exception), pattern)
        self.assertIsInstance(caught.exception, PageShotError)
        return caught.exception

    def test_signing_helper_matches_the_vector(self) -> None:
        self.assertEqual(sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)["webhook-signature"], VECTOR_SIGNATURE)

    def test_accepts_the_known_vector_and_returns_the_payload(self) -> None:
        self.assertEqual(verify_webhook(VECTOR_SECRET, vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP), {"test": 2432232314})

    def test_tolerance_is_inclusive_in_both_directions(self) -> None:
        for now in (VECTOR_TIMESTAMP + 300, VECTOR_TIMESTAMP - 300):
            verify_webhook(VECTOR_SECRET, vector_headers(), VECTOR_BODY, now=now)
        self.refused(r"301 s old", VECTOR_SECRET, vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP + 301)
        self.refused(r"301 s ahead", VECTOR_SECRET, vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP - 301)
        self.refused(r"old", VECTOR_SECRET, vector_headers(), VECTOR_BODY, tolerance_seconds=10, now=VECTOR_TIMESTAMP + 11)
        verify_webhook(VECTOR_SECRET, vector_headers(), VECTOR_BODY, tolerance_seconds=3600, now=VECTOR_TIMESTAMP + 3600)

    def test_now_defaults_to_the_clock_and_takes_a_datetime(self) -> None:
        self.refused(r"old", VECTOR_SECRET, vector_headers(), VECTOR_BODY)  # signed in 2021
        at = datetime.fromtimestamp(VECTOR_TIMESTAMP + 299, tz=timezone.utc)
        self.assertEqual(verify_webhook(VECTOR_SECRET, vector_headers(), VECTOR_BODY, now=at), {"test": 2432232314})
        fresh = sign(SECRET, "msg_1", int(time.time()), BODY)
        self.assertEqual(verify_webhook(SECRET, fresh, BODY)["data"]["metadata"], {"k": "✓"})

    def test_refuses_tampering(self) -> None:
        now = VECTOR_TIMESTAMP
        self.refused(r"signature", VECTOR_SECRET, vector_headers(), b'{"test": 2432232315}', now=now)
        self.refused(r"signature", VECTOR_SECRET, {**vector_headers(), "webhook-id": "msg_other"}, VECTOR_BODY, now=now)
        self.refused(r"signature", VECTOR_SECRET, {**vector_headers(), "webhook-timestamp": str(now + 1)}, VECTOR_BODY, now=now)
        self.refused(r"signature", SECRET, vector_headers(), VECTOR_BODY, now=now)
        self.refused(r"signature", VECTOR_SECRET, {**vector_headers(), "webhook-signature": VECTOR_SIGNATURE + "A"}, VECTOR_BODY, now=now)
        for at in (3, len(VECTOR_SIGNATURE) - 2, len(VECTOR_SIGNATURE) - 1):  # same length, one character off
            changed = VECTOR_SIGNATURE[:at] + ("C" if VECTOR_SIGNATURE[at] == "B" else "B") + VECTOR_SIGNATURE[at + 1:]
            self.refused(r"signature", VECTOR_SECRET, {**vector_headers(), "webhook-signature": changed}, VECTOR_BODY, now=now)
        self.refused(r"signature", VECTOR_SECRET, {**vector_headers(), "webhook-signature": VECTOR_SIGNATURE.replace("v1,", "v2,")}, VECTOR_BODY, now=now)

    def test_refuses_missing_or_malformed_headers(self) -> None:
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            headers = {key: value for key, value in vector_headers().items() if key != name}
            self.refused(name, VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP)
            self.refused(name, VECTOR_SECRET, {**vector_headers(), name: ""}, VECTOR_BODY, now=VECTOR_TIMESTAMP)
        for timestamp in (" 1614265330", "1614265330.0", "1_614_265_330", "-1"):
            self.refused(r"Unix seconds", VECTOR_SECRET, {**vector_headers(), "webhook-timestamp": timestamp}, VECTOR_BODY, now=VECTOR_TIMESTAMP)

    def test_several_signatures_one_valid(self) -> None:
        other = sign(SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY)["webhook-signature"]
        for value in (f"{other} {VECTOR_SIGNATURE}", f"{VECTOR_SIGNATURE} {other}", f"v2,abc  {VECTOR_SIGNATURE}"):
            verify_webhook(VECTOR_SECRET, {**vector_headers(), "webhook-signature": value}, VECTOR_BODY, now=VECTOR_TIMESTAMP)
        self.refused(r"signature", VECTOR_SECRET, {**vector_headers(), "webhook-signature": f"{other} {other}"}, VECTOR_BODY, now=VECTOR_TIMESTAMP)

    def test_header_names_in_any_case_and_header_objects(self) -> None:
        mixed = {"Webhook-Id": VECTOR_ID, "WEBHOOK-TIMESTAMP": str(VECTOR_TIMESTAMP), "Webhook-Signature": VECTOR_SIGNATURE}
        verify_webhook(VECTOR_SECRET, mixed, VECTOR_BODY, now=VECTOR_TIMESTAMP)
        message = email.message.Message()  # what http.client and http.server hand out
        for name, value in mixed.items():
            message[name] = value
        verify_webhook(VECTOR_SECRET, message, VECTOR_BODY, now=VECTOR_TIMESTAMP)
        message["webhook-id"] = "msg_other"  # a second line: which one was signed?
        self.refused(r"webhook-id", VECTOR_SECRET, message, VECTOR_BODY, now=VECTOR_TIMESTAMP)
        self.refused(r"webhook-id", VECTOR_SECRET, {**vector_headers(), "Webhook-Id": VECTOR_ID}, VECTOR_BODY, now=VECTOR_TIMESTAMP)

    def test_body_as_str_bytes_bytearray_memoryview(self) -> None:
        for body in (VECTOR_BODY.decode(), VECTOR_BODY, bytearray(VECTOR_BODY), memoryview(VECTOR_BODY)):
            self.assertEqual(verify_webhook(VECTOR_SECRET, vector_headers(), body, now=VECTOR_TIMESTAMP), {"test": 2432232314})

    def test_secret_without_prefix_is_accepted(self) -> None:
        verify_webhook(VECTOR_SECRET[len("whsec_"):], vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP)

    def test_signed_body_that_is_not_json_is_refused(self) -> None:
        for body in (b"not json", b"\xff\xfe"):
            headers = sign(SECRET, "msg_1", VECTOR_TIMESTAMP, body)
            self.refused(r"not JSON", SECRET, headers, body, now=VECTOR_TIMESTAMP)

    def test_receiver_mistakes_are_pageshot_errors_without_the_secret(self) -> None:
        # Almost right, so a careless message would quote it: a space, a stray character, bad padding.
        leaky = "whsec_" + base64.b64encode(bytes(range(32))).decode()
        for secret in ("whsec_", "whsec_A", leaky.replace("A", " "), leaky + "!", leaky + "==="):
            with self.assertRaises(PageShotError) as caught:
                verify_webhook(secret, vector_headers(), VECTOR_BODY, now=VECTOR_TIMESTAMP)
            self.assertNotIsInstance(caught.exception, WebhookVerificationError)
            if len(secret) > 30:
                self.assertNotIn(secret[10:30], str(caught.exception))
        with self.assertRaises(PageShotError) as parsed:
            verify_webhook(VECTOR_SECRET, vector_headers(), json.loads(VECTOR_BODY), now=VECTOR_TIMESTAMP)  # type: ignore[arg-type]
        self.assertNotIsInstance(parsed.exception, WebhookVerificationError)
        self.assertIn("exactly as received", str(parsed.exception))
        with self.assertRaises(PageShotError):
            verify_webhook(VECTOR_SECRET, vector_headers(), VECTOR_BODY, tolerance_seconds=-1, now=VECTOR_TIMESTAMP)


if __name__ == "__main__":
    unittest.main()
