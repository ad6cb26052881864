"""The retry rules follow the client's copy of the server's error table. Needs no server."""

from __future__ import annotations

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pageshot import ERROR_CODES  # noqa: E402
from pageshot.errors import error_class_for  # noqa: E402
from pageshot.retry import Repeatable, RetryPolicy, retry_verdict  # noqa: E402

NEVER = Repeatable(on_connection_error=False, on_timeout=False)


def verdict(status: int, code: str, body_status: str = "", quota: bool = False) -> str:
    body = {"code": code, "error": "x", **({"status": body_status} if body_status else {})}
    error = error_class_for(status)("x", status=status, code=code, body=body)
    found = retry_verdict(error, NEVER, RetryPolicy(retry_quota_exceeded=quota), 1.0)
    return "no" if found is None else ("unbounded" if found.unbounded else "yes")


class ErrorCodeTableTest(unittest.TestCase):
    def test_every_code_is_retried_exactly_as_the_table_says(self) -> None:
        self.assertGreater(len(ERROR_CODES), 50)
        for code, (status, advice) in ERROR_CODES.items():
            with self.subTest(code=code):
                expected = {"yes": "yes", "no": "no", "at-reset": "yes"}[advice]
                self.assertEqual(verdict(status, code), expected)
                if advice == "at-reset":
                    self.assertEqual(verdict(status, code, quota=True), "unbounded")

    def test_codes_the_table_lacks_are_judged_by_the_answer(self) -> None:
        self.assertEqual(verdict(503, "SOMETHING_NEW", body_status="busy"), "yes")
        self.assertEqual(verdict(503, "SOMETHING_NEW"), "no")
        self.assertEqual(verdict(503, "HTTP_503"), "no", "a proxy's 503 page")
        self.assertEqual(verdict(429, "SOMETHING_NEW"), "yes")
        self.assertEqual(verdict(500, "SOMETHING_NEW", body_status="busy"), "no")

    def test_the_table_wins_over_a_busy_body(self) -> None:
        self.assertEqual(verdict(503, "WORKER_LOST", body_status="busy"), "no")


if __name__ == "__main__":
    unittest.main()
