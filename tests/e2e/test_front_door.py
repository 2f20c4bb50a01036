"""The front door never breaks: any body, header or path, through every HTTP trigger shape,
gets a 4xx naming the problem or a 2xx — never a 500, never Python internals."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.helpers import cls_body
from tests.events import load_event

POST_SHAPES = ("scf_apigw_post_exports", "aws_apigw_rest_post_exports",
               "aws_http_api_post_exports")
LEAKS = ("Traceback", "Error:", "Exception", 'File "', ".py", "RecursionError",
         "UnicodeDecodeError", "JSONDecodeError")


def answer(event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    from courier.local import LocalContext
    from functions import create_export

    out = create_export.handler(event, LocalContext())
    return out["statusCode"], json.loads(out["body"]), out["headers"]


def assert_clean_4xx(status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
    assert 400 <= status < 500, body
    assert headers["Content-Type"] == "application/problem+json"
    assert body["status"] == status and body["detail"] and body["type"].endswith(body["error"])
    assert headers["X-Request-Id"] == body["request_id"]
    text = json.dumps(body)
    for leak in LEAKS:
        assert leak not in text, text


def raw_event(shape: str, key: str, raw: str | bytes, *, b64: bool = False) -> dict[str, Any]:
    event = load_event(shape, headers={"x-api-key": key})
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if b64:
        event["body"], event["isBase64Encoded"] = base64.b64encode(data).decode(), True
    else:
        event["body"] = raw if isinstance(raw, str) else raw.decode("latin-1")
        event["isBase64Encoded"] = False
    return event


FOUND_BY_FUZZING: list[tuple[str, Any, bool, str]] = [
    # id, raw body, base64?, words in the detail
    ("deep-nesting", "[" * 30_000 + "]" * 30_000, False, "nested deeper than 32 levels"),
    ("deep-object", '{"a":' * 2000 + "1" + "}" * 2000, False, "nested deeper"),
    ("base64-not-utf8", b"\xff\xfe{}", True, "not valid UTF-8"),
    ("lone-surrogate", '{"provider": "\ud83d"}', False, "not valid UTF-8"),
    ("not-json", "provider=cls", False, "not valid JSON: Expecting value at line 1 column 1"),
    ("nan", '{"provider": "cls", "params": {"From": NaN}}', False, "NaN"),
    ("duplicate", '{"provider": "cls", "provider": "dms", "params": {}}', False, "twice"),
    ("huge-int", '{"provider": "cls", "params": {"From": 1' + "0" * 30 + "}}", False,
     "out of range"),
    ("not-an-object", "[1, 2]", False, "must be a JSON object"),
]


@pytest.mark.usefixtures("handlers_env")
@pytest.mark.parametrize("shape", POST_SHAPES)
@pytest.mark.parametrize(("raw", "b64", "words"), [r[1:] for r in FOUND_BY_FUZZING],
                         ids=[r[0] for r in FOUND_BY_FUZZING])
def test_bad_bodies_are_400_naming_the_problem(shape: str, raw: Any, b64: bool, words: str,
                                               api_key: str) -> None:
    status, body, headers = answer(raw_event(shape, api_key, raw, b64=b64))
    assert_clean_4xx(status, body, headers)
    assert status == 400 and body["field"] == "body" and words in body["detail"]


@pytest.mark.usefixtures("handlers_env")
def test_delivery_and_endpoint_routes_decode_the_same_way(api_key: str) -> None:
    for path in ("/endpoints/recover", "/deliveries/msg_1/resend", "/exports/exp_1/cancel"):
        event = raw_event("aws_http_api_post_exports", api_key, "[" * 40 + "]" * 40)
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        status, body, headers = answer(event)
        assert_clean_4xx(status, body, headers)
        assert "nested deeper" in body["detail"]


@pytest.mark.usefixtures("handlers_env")
def test_odd_headers_and_paths_are_4xx(api_key: str) -> None:
    cases = [
        load_event("aws_http_api_post_exports", body=cls_body(),
                   headers={"x-api-key": None, "x-courier-signature": "v1,ünïcode",
                            "x-courier-timestamp": "9" * 400}),
        load_event("aws_http_api_post_exports", body=cls_body(),
                   headers={"x-api-key": "ключ"}),
        load_event("aws_function_url_get_export", path="/exports/" + "x" * 5000,
                   headers={"x-api-key": api_key}),
        load_event("aws_function_url_get_export", path="/exports", query={"limit": "1e9"},
                   headers={"x-api-key": api_key}),
        load_event("aws_http_api_post_exports", headers={"x-api-key": api_key,
                                                         "idempotency-key": "k" * 500},
                   body=cls_body()),
    ]
    for event in cases:
        status, body, headers = answer(event)
        assert_clean_4xx(status, body, headers)


@pytest.mark.usefixtures("handlers_env")
def test_an_id_no_route_takes_is_404_not_405(api_key: str) -> None:
    """An id with a control character or an unpaired surrogate matches no route: it names
    nothing (404), and the method is never called not allowed where it is."""
    for method, path in (("GET", "/exports/exp_\x00"), ("GET", "/exports/a\nb"),
                         ("GET", "/exports/exp_\ud800/deliveries"),
                         ("POST", "/deliveries/msg_\ud800/resend"),
                         ("POST", "/exports/exp_\x1b/cancel")):
        status, body, headers = answer(load_event(
            "aws_function_url_get_export", path=path, method=method,
            headers={"x-api-key": api_key}))
        assert_clean_4xx(status, body, headers)
        assert status == 404 and "Allow" not in headers, (path, body)


@pytest.mark.usefixtures("handlers_env")
def test_completion_and_timer_payloads_never_raise() -> None:
    from courier.local import LocalContext
    from functions import complete_export, create_export

    for event in ({"body": "[" * 100_000}, {"export_id": {"a": 1}}, {"export_id": "../etc"},
                  {"export_id": "exp_doesnotexist"}, [1, 2], "text"):
        out = complete_export.handler(event, LocalContext())  # type: ignore[arg-type]
        assert "error" in out and "Traceback" not in json.dumps(out)
    for timer in (load_event("scf_timer", Message="no-such-schedule"),
                  load_event("scf_timer", Time="yesterday"),
                  load_event("scf_timer", Message={"not": "text"})):
        out = create_export.handler(timer, LocalContext())
        assert "error" in out, out


# ------------------------------------------------------------------ generated bodies
def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def _near_valid() -> st.SearchStrategy[str]:
    good = json.dumps(cls_body())
    return st.tuples(st.integers(0, len(good)), st.integers(0, 8), st.text(max_size=6)).map(
        lambda t: good[:t[0]] + t[2] + good[t[0] + t[1]:])


RAW_BODIES = st.one_of(
    st.text(max_size=200),
    _json_values().map(lambda v: json.dumps(v, allow_nan=True)),
    st.builds(lambda p, params: json.dumps({"provider": p, "params": params}),
              st.sampled_from(["cls", "dlc", "dms", "mongodb", "tcss", "x"]), _json_values()),
    _near_valid(),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
)


@pytest.mark.usefixtures("handlers_env")
@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=RAW_BODIES, shape=st.sampled_from(POST_SHAPES), b64=st.booleans())
def test_any_raw_create_body_through_any_trigger_is_never_a_500(raw: str, shape: str, b64: bool,
                                                                api_key: str) -> None:
    event = raw_event(shape, api_key, raw, b64=b64 and shape != "scf_apigw_post_exports")
    status, body, headers = answer(event)
    assert status in (202, 400, 422), body
    if status >= 400:
        assert_clean_4xx(status, body, headers)
    else:
        assert body["id"].startswith("exp_") and headers["X-Request-Id"]


# ------------------------------------------------------------------ query arguments and headers
def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


CURSORS = st.one_of(
    st.text(max_size=40),
    _json_values().map(lambda v: _b64url(json.dumps(v, allow_nan=True).encode())),
    st.tuples(st.one_of(st.integers(), st.text(max_size=30), st.none(), st.floats()),
              st.one_of(st.text(max_size=20), st.integers())).map(
        lambda t: _b64url(json.dumps(list(t)).encode())),
    st.tuples(st.datetimes(timezones=st.timezones()), st.text(max_size=20)).map(
        lambda t: _b64url(json.dumps([t[0].isoformat(), t[1]]).encode())),
    st.binary(max_size=60).map(_b64url),
)
LIMITS = st.one_of(st.integers(-10**30, 10**30).map(str), st.text(max_size=8),
                   st.sampled_from(["1_0", " 5 ", "+5", "٥", "1e2", "0x10", "9" * 5000]))
QUERIES = st.fixed_dictionaries({}, optional={
    "cursor": CURSORS, "limit": LIMITS,
    "state": st.one_of(st.text(max_size=10), st.sampled_from(["delivered", "dead", "failed"])),
    "provider": st.one_of(st.text(max_size=10), st.sampled_from(["cls", "dms"]))})
GET_SHAPES = ("aws_function_url_get_export", "scf_apigw_get_export",
              "scf_function_url_get_export")


@pytest.mark.usefixtures("handlers_env")
@pytest.mark.parametrize("cursor", [[12345678901234567890, "x"], [1, "exp_1"], ["x", 5],
                                    ["0001-01-01T00:00:00+01:00", "exp_1"],
                                    ["9999-12-31T23:59:59-23:59", "exp_1"],
                                    ["2026-01-01T00:00:00Z", "exp_\u0000"]],
                         ids=["huge-number", "number", "id-not-text", "before-year-1",
                              "after-year-9999", "nul-in-id"])
def test_a_forged_cursor_is_400_naming_it(cursor: list[Any], api_key: str) -> None:
    for path in ("/exports", "/exports/exp_1/deliveries"):
        status, body, headers = answer(load_event(
            "aws_function_url_get_export", path=path, headers={"x-api-key": api_key},
            query={"cursor": _b64url(json.dumps(cursor).encode())}))
        assert_clean_4xx(status, body, headers)
        assert (status, body["field"]) == (400, "cursor"), body


@pytest.mark.usefixtures("handlers_env")
@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(query=QUERIES, shape=st.sampled_from(GET_SHAPES),
       path=st.sampled_from(["/exports", "/exports/exp_1/deliveries"]))
def test_any_list_query_is_never_a_500(query: dict[str, str], shape: str, path: str,
                                       api_key: str) -> None:
    status, body, headers = answer(load_event(shape, path=path, query=query,
                                              headers={"x-api-key": api_key}))
    if status >= 400:
        assert_clean_4xx(status, body, headers)
        assert status == 404 or body["field"] in query, (query, body)
    else:
        assert status == 200 and isinstance(body["items"], list)


@pytest.mark.usefixtures("handlers_env")
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(key=st.text(max_size=260), shape=st.sampled_from(POST_SHAPES))
def test_any_idempotency_key_is_taken_or_400_naming_it(key: str, shape: str,
                                                       api_key: str) -> None:
    event = load_event(shape, body=cls_body(), headers={"x-api-key": api_key,
                                                        "idempotency-key": key})
    status, body, headers = answer(event)
    if status == 422:  # a key drawn twice, for another window: refused as the draft says
        assert body["error"] == "idempotency_key_reused"
    elif status >= 400:
        assert_clean_4xx(status, body, headers)
        assert (status, body["field"]) == (400, "Idempotency-Key"), body
        assert not (key.isascii() and key.isprintable() and 0 < len(key) <= 200), key
    else:
        assert status == 202 and body["idempotency_key"] == key
