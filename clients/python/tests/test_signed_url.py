"""Signed links from the Python client: the contract's test vector and what is refused.
Needs no server."""

from __future__ import annotations

import os
import sys
import unittest
from datetime import datetime, timezone

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from pageshot import PageShot, PageShotError, UnknownOptionError  # noqa: E402
from pageshot.signed_url import canonical_query, signature  # noqa: E402

SECRET = "pss_test_secret"
VECTOR = [
    ("url", "https://example.com/a b?x=1&y=ü"),
    ("width", "800"),
    ("fullPage", "true"),
    ("keyId", "key_abc"),
    ("expires", "1767225600"),
]
CANONICAL = "expires=1767225600&fullPage=true&keyId=key_abc&url=https%3A%2F%2Fexample.com%2Fa%20b%3Fx%3D1%26y%3D%C3%BC&width=800"
SIGNATURE = "33c067e5597fd98188180556bba2e21a115f8619d4d14eb0801a2feb87aef1f4"


def signer(**options: object) -> PageShot:
    return PageShot(base_url="https://shots.example.com/api/", signing_secret=SECRET, key_id="key_abc", **options)  # type: ignore[arg-type]


class SignedUrlTest(unittest.TestCase):
    def test_the_contracts_test_vector(self) -> None:
        self.assertEqual(canonical_query(VECTOR), CANONICAL)
        self.assertEqual(signature(SECRET, CANONICAL), SIGNATURE)

    def test_signed_url_makes_the_vectors_url_from_options_given_either_way(self) -> None:
        expected = f"https://shots.example.com/api/screenshot?{CANONICAL}&signature={SIGNATURE}"
        now = datetime.fromtimestamp(1767225600 - 3600, timezone.utc)
        self.assertEqual(signer().signed_url({"url": "https://example.com/a b?x=1&y=ü", "width": 800}, full_page=True, now=now), expected)
        self.assertEqual(signer().signed_url(url="https://example.com/a b?x=1&y=ü", width=800, fullPage=True, now=1767225600 - 3600), expected)  # type: ignore[call-arg]
        later = signer().signed_url(url="https://example.com/a b?x=1&y=ü", width=800, full_page=True, now=1767225600 - 3600, expires_in=7200)
        self.assertIn("expires=1767229200&", later)
        self.assertNotIn(SIGNATURE, later, "the expiry is signed too")

    def test_values_are_written_as_the_query_carries_them(self) -> None:
        url = signer().signed_url(url="https://e.com", device_scale_factor=1.5, quality=80, dark_mode=False, now=0)
        self.assertIn("darkMode=false&deviceScaleFactor=1.5&expires=3600&keyId=key_abc&quality=80&url=https%3A%2F%2Fe.com&", url)
        self.assertIn("deviceScaleFactor=2&", signer().signed_url(url="https://e.com", device_scale_factor=2.0, now=0))

    def test_what_a_signed_link_cannot_carry_is_refused(self) -> None:
        for options in ({"ful_page": True}, {"cookies": []}, {"pdf": {}}, {"keyId": "other"}, {"signature": "x"}, {"width": [800]}, {"html": "a\ud800b"}):
            with self.subTest(options=options), self.assertRaises(PageShotError):
                signer().signed_url({"url": "https://e.com", **options})
        with self.assertRaises(UnknownOptionError):
            signer().signed_url(url="https://e.com", hide_selectors=["#x"])  # type: ignore[call-arg]
        for expires_in in (0, -1, 31_536_001, 1.5, True):
            with self.subTest(expires_in=expires_in), self.assertRaises(PageShotError):
                signer().signed_url(url="https://e.com", expires_in=expires_in)  # type: ignore[arg-type]
        with self.assertRaises(PageShotError):
            signer().signed_url(url="https://e.com", now=datetime(2026, 1, 1))  # naive: which zone?

    def test_signing_needs_a_secret_and_a_key_id_and_a_signing_only_client_calls_nothing(self) -> None:
        with self.assertRaises(PageShotError):
            PageShot(api_key="ps_live_x", base_url="http://localhost:1").signed_url(url="https://e.com")
        with self.assertRaises(PageShotError):
            PageShot(api_key="ps_live_x", signing_secret=SECRET)
        saved = os.environ.pop("PAGESHOT_API_KEY", None)
        try:
            only_signs = signer()
            with self.assertRaises(PageShotError) as raised:
                only_signs.me()
            self.assertIn("API key", str(raised.exception))
        finally:
            if saved is not None:
                os.environ["PAGESHOT_API_KEY"] = saved
        for text in (repr(signer()), repr(vars(signer()))):
            self.assertNotIn(SECRET, text)


if __name__ == "__main__":
    unittest.main()
