"""The signing documentation's worked example holds: the string to sign the code builds is the
one the page shows, and the signature the page shows is the HMAC of it."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

from shared.http.request_signing import signed_headers, string_to_sign

DOC = Path(__file__).resolve().parents[3] / "docs" / "api-signing.md"
KEY = "example-key-0123456789abcdefghijk"
BODY = (b'{"provider":"cls","params":{"TopicId":"topic-app","From":1796518800000,'
        b'"To":1796522400000}}')


def blocks() -> list[str]:
    """The page's code blocks, in order."""
    found: list[str] = []
    block: list[str] | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            if block is not None:
                found.append("\n".join(block))
            block = [] if block is None else None
        elif block is not None:
            block.append(line)
    return found


def test_the_worked_example_is_what_the_code_signs() -> None:
    shown = [b for b in blocks() if b.startswith("v2\n")]
    made = [string_to_sign(1796522460, "POST", "/exports", {}, "nightly-2026-12-06T01", BODY),
            string_to_sign(1796522470, "GET", "/exports", {"state": "failed", "limit": "5"},
                           None, b"")]
    assert [m.decode() for m in made] == shown
    for text in shown:  # the page's signatures are HMACs of the page's strings
        digest = base64.b64encode(hmac.new(KEY.encode(), text.encode(),
                                           hashlib.sha256).digest()).decode()
        assert f"v2,{digest}" in DOC.read_text(encoding="utf-8")
    headers = signed_headers(KEY, "POST", "/exports", {}, BODY, "nightly-2026-12-06T01",
                             now=1796522460.7)
    assert headers == {"X-Courier-Timestamp": "1796522460",
                       "X-Courier-Signature": "v2,PweNFkdM/UeiKEz3WF9qxjb6q51mmhHELDIanVbrWF0="}


def test_the_path_and_query_are_encoded_so_no_line_can_be_forged() -> None:
    text = string_to_sign(1, "get", "/exports/a\nb c", {"k\n": "v&w=x", "a": "é/"}, "", b"")
    lines = text.decode().split("\n")
    assert lines[2:5] == ["GET", "/exports/a%0Ab%20c", "a=%C3%A9%2F&k%0A=v%26w%3Dx"]
