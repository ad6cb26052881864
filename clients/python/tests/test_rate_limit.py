"""Unit tests of pageshot's rate-limit header parsing, one form of PAGESHOT_RATELIMIT_HEADERS
at a time, no server needed.

Run with the rest of the suite (test/clients.python.test.ts), or directly:

    PYTHONPATH=clients/python python3 -m unittest discover -s clients/python/tests -p test_rate_limit.py -v

test/limits.header-forms.test.ts also feeds this parser the headers of real PageShot
answers in every form.
"""

from __future__ import annotations

import email.message
import os
import sys
import unittest
from datetime import datetime, timedelta, timezone
from typing import Dict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pageshot.rate_limit import RateLimitPolicy, parse_rate_limit, reset_after_seconds  # noqa: E402

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=timezone.utc)
#: One second after NOW, as X-RateLimit-Reset says it.
RESET_EPOCH = int(NOW.timestamp()) + 1

#: What PageShot sends for a key at 499 of 500 burst and 1999 of 2000 daily, per form.
X_RATELIMIT = {"X-RateLimit-Limit": "500", "X-RateLimit-Remaining": "499", "X-RateLimit-Reset": str(RESET_EPOCH)}
DRAFT_10 = {
    "RateLimit-Policy": '"burst";q=500;w=3, "daily";q=2000;w=86400',
    "RateLimit": '"burst";r=499;t=1, "daily";r=1999;t=43200',
}
DRAFT_7 = {"RateLimit-Policy": "500;w=3, 2000;w=86400", "RateLimit": "limit=500, remaining=499, reset=1"}
DRAFT_6 = {
    "RateLimit-Policy": "500;w=3, 2000;w=86400",
    "RateLimit-Limit": "500",
    "RateLimit-Remaining": "499",
    "RateLimit-Reset": "1",
}


def message(*parts: Dict[str, str]) -> email.message.Message:
    """Headers that look names up case-insensitively, as an HTTP response's do."""
    headers = email.message.Message()
    for part in parts:
        for name, value in part.items():
            headers[name] = value
    return headers


class ParseRateLimitTest(unittest.TestCase):
    def test_every_form_gives_the_closest_policy_from_x_ratelimit_exactly(self) -> None:
        for name, form in {"draft-10": DRAFT_10, "draft-7": DRAFT_7, "draft-6": DRAFT_6, "none": {}}.items():
            with self.subTest(form=name):
                state = parse_rate_limit(message(X_RATELIMIT, form), NOW)
                assert state is not None
                self.assertEqual((state.limit, state.remaining), (500, 499))
                self.assertEqual(state.reset, datetime.fromtimestamp(RESET_EPOCH, timezone.utc))

    def test_draft_10_names_each_policy_with_its_quota_window_remaining_and_reset(self) -> None:
        state = parse_rate_limit(message(X_RATELIMIT, DRAFT_10), NOW)
        assert state is not None
        self.assertEqual(
            state.policies,
            {
                "burst": RateLimitPolicy(remaining=499, reset_seconds=1, quota=500, window_seconds=3),
                "daily": RateLimitPolicy(remaining=1999, reset_seconds=43200, quota=2000, window_seconds=86400),
            },
        )

    def test_draft_7_and_draft_6_name_no_policy(self) -> None:
        for form in (DRAFT_7, DRAFT_6):
            state = parse_rate_limit(message(X_RATELIMIT, form), NOW)
            assert state is not None
            self.assertEqual(state.policies, {})

    def test_without_x_ratelimit_the_ietf_fields_stand_in(self) -> None:
        # A proxy may strip X- fields: each IETF form alone still says where the key stands.
        for name, form in {"draft-10": DRAFT_10, "draft-7": DRAFT_7, "draft-6": DRAFT_6}.items():
            with self.subTest(form=name):
                state = parse_rate_limit(message(form), NOW)
                assert state is not None
                self.assertEqual((state.limit, state.remaining, state.reset), (500, 499, NOW + timedelta(seconds=1)))
        self.assertIsNone(parse_rate_limit(message({}), NOW))

    def test_draft_10_alone_takes_the_policy_closest_to_refusing(self) -> None:
        daily_closer = {
            "RateLimit-Policy": '"burst";q=500;w=3, "daily";q=3;w=86400',
            "RateLimit": '"burst";r=498;t=1, "daily";r=1;t=600',
        }
        state = parse_rate_limit(message(daily_closer), NOW)
        assert state is not None
        self.assertEqual((state.limit, state.remaining, state.reset), (3, 1, NOW + timedelta(seconds=600)))

    def test_a_form_missing_a_figure_describes_nothing(self) -> None:
        self.assertIsNone(parse_rate_limit(message({"RateLimit": "limit=500, remaining=499"}), NOW))
        self.assertIsNone(parse_rate_limit(message({"RateLimit-Limit": "500", "RateLimit-Reset": "1"}), NOW))
        self.assertIsNone(parse_rate_limit(message({"RateLimit": '"burst";r=1;t=1'}), NOW), "no quota: no limit")
        self.assertIsNone(parse_rate_limit(message({"RateLimit": "limit=five, remaining=4, reset=1"}), NOW))


class ResetAfterTest(unittest.TestCase):
    def test_waits_for_the_ietf_reset_when_x_ratelimit_is_missing(self) -> None:
        for form in (DRAFT_7, DRAFT_6, DRAFT_10):
            wait = reset_after_seconds(message(form))
            assert wait is not None
            self.assertAlmostEqual(wait, 1.0, delta=0.5)
        self.assertIsNone(reset_after_seconds(message({})))


if __name__ == "__main__":
    unittest.main()
