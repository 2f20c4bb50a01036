"""The decode step: every limit refused with a message naming the problem, never a 500."""

from __future__ import annotations

import base64

import pytest

from shared.errors import ValidationError
from shared.http.decode import MAX_SAFE_INTEGER, Limits, decode_body

LIMITS = Limits(max_bytes=4096, max_depth=8, max_string=64)

REFUSED: list[tuple[str, object, bool, str, str]] = [
    # id, body, base64?, field, words in the message
    ("too-large", "[" + "1," * 3000 + "1]", False, "body", "larger than 4096 bytes"),
    ("too-large-b64", base64.b64encode(b"x" * 5000).decode(), True, "body", "larger than"),
    ("bad-base64", "%%%not base64%%%", True, "body", "not valid base64"),
    ("b64-not-utf8", base64.b64encode(b'{"a": "\xff\xfe"}').decode(), True, "body",
     "not valid UTF-8 (bad byte at offset 7)"),
    ("lone-surrogate", '{"a": "\ud800"}', False, "body", "not valid UTF-8"),
    ("escaped-surrogate", '{"a": "\\ud800"}', False, "a", "unpaired surrogate"),
    ("syntax", '{"a": }', False, "body", "not valid JSON: Expecting value at line 1 column 7"),
    ("deep-array", "[" * 9 + "]" * 9, False, "body", "nested deeper than 8 levels"),
    ("very-deep", "[" * 100_000, False, "body", "larger than"),
    ("deep-object", '{"a":' * 9 + "1" + "}" * 9, False, "body", "nested deeper than 8"),
    ("long-string", '{"a": "' + "x" * 65 + '"}', False, "a", "longer than 64 characters"),
    ("long-key", '{"' + "k" * 65 + '": 1}', False, "body", "member name longer than 64"),
    ("nested-long", '{"p": {"q": ["' + "x" * 65 + '"]}}', False, "p.q[0]", "longer than 64"),
    ("big-int", f'{{"n": {MAX_SAFE_INTEGER + 1}}}', False, "body", "integer out of range"),
    ("huge-int", '{"n": ' + "9" * 5000 + "}", False, "body", "larger than"),
    ("long-int", '{"n": ' + "9" * 400 + "}", False, "body", "integer out of range"),
    ("float-inf", '{"n": 1e999}', False, "body", "too large to represent"),
    ("nan", '{"n": NaN}', False, "body", "NaN, which is not a JSON number"),
    ("infinity", '{"n": -Infinity}', False, "body", "-Infinity, which is not a JSON number"),
    ("duplicate-key", '{"a": 1, "a": 2}', False, "body", "member 'a' twice"),
    ("empty", "   ", False, "body", "empty"),
    ("not-text", 12, False, "body", "must be text"),
]


@pytest.mark.parametrize(("body", "b64", "field", "words"),
                         [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_limits_refuse_with_a_message_naming_the_problem(body: object, b64: bool, field: str,
                                                         words: str) -> None:
    # "empty" is allowed by decode_body (no body) but refused where a body is needed
    if body == "   ":
        assert decode_body(body, b64, LIMITS) is None
        return
    with pytest.raises(ValidationError) as caught:
        decode_body(body, b64, LIMITS)
    assert caught.value.field == field
    assert words in caught.value.detail
    for leak in ("Error", "Traceback", ".py", "json.decoder"):
        assert leak not in caught.value.detail


def test_within_the_limits_the_value_comes_back() -> None:
    body = '{"a": [1, 2.5, "x", true, null, {"b": -9007199254740991}], "s": "' + "y" * 64 + '"}'
    assert decode_body(body, False, LIMITS) == {
        "a": [1, 2.5, "x", True, None, {"b": -MAX_SAFE_INTEGER}], "s": "y" * 64}
    raw = base64.b64encode('{"name": "日本"}'.encode()).decode()
    assert decode_body(raw, True, LIMITS) == {"name": "日本"}


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    body = '{"q": "' + "[{" * 30 + '\\" ]]"}'
    assert decode_body(body, False, LIMITS) == {"q": "[{" * 30 + '" ]]'}
