"""The sample events: each one is the shape its platform sends, and the runtime reads it."""

from __future__ import annotations

import base64
import json

import pytest

from shared.runtime import events
from tests.events import event_names, load_event

HTTP = {
    "scf_function_url_post_exports": ("POST", "/exports"),
    "scf_function_url_post_exports_base64": ("POST", "/exports"),
    "scf_function_url_get_export": ("GET", "/exports/exp_5f2c9a7e1b3d4c6f8a0e2b71"),
    "scf_apigw_post_exports": ("POST", "/exports"),
    "scf_apigw_get_export": ("GET", "/exports/exp_5f2c9a7e1b3d4c6f8a0e2b71"),
    "aws_apigw_rest_post_exports": ("POST", "/exports"),
    "aws_http_api_post_exports": ("POST", "/exports"),
    "aws_http_api_post_exports_cloudwatch": ("POST", "/exports"),
    "aws_function_url_get_export": ("GET", "/exports/exp_5f2c9a7e1b3d4c6f8a0e2b71"),
}
TIMERS = {"scf_timer": "poll-every-minute", "aws_eventbridge_scheduled": "export-courier-prod-poll"}
ASYNC = ("scf_async_complete", "aws_async_complete")


def test_every_sample_event_is_covered_here() -> None:
    assert set(event_names()) == set(HTTP) | set(TIMERS) | set(ASYNC)


@pytest.mark.parametrize("name", sorted(HTTP), ids=sorted(HTTP))
def test_http_events_become_one_rest_request(name: str) -> None:
    event = load_event(name)
    assert events.is_http(event)
    rest = events.to_rest_event(event)
    assert (rest["httpMethod"], rest["path"]) == HTTP[name]
    headers = {k.lower(): v for k, v in rest["headers"].items()}
    assert headers["x-api-key"] == "demo-api-key-0123456789abcdefghijklmn"
    if rest["httpMethod"] == "POST":
        raw = (base64.b64decode(rest["body"]) if rest["isBase64Encoded"]
               else rest["body"].encode())
        body = json.loads(raw)
        if name.endswith("_cloudwatch"):
            assert body["provider"] == "cloudwatch"
            assert body["params"]["logGroupNamePrefix"] == "/aws/lambda/"
        else:
            assert body["provider"] == "cls"
            assert body["params"] == {"TopicId": "topic-demo", "From": 1700000000000,
                                      "To": 1700003600000, "Query": "*", "Format": "json"}
        declared = headers.get("content-length")
        assert declared is None or int(declared) == len(raw)


def test_scf_api_gateway_event_has_the_fields_scf_sends() -> None:
    event = load_event("scf_apigw_post_exports")
    assert set(event["requestContext"]) >= {"serviceId", "path", "httpMethod", "requestId",
                                            "identity", "sourceIp", "stage"}
    assert set(event) >= {"headers", "body", "pathParameters", "queryStringParameters",
                          "headerParameters", "stageVariables", "path", "queryString",
                          "httpMethod"}


@pytest.mark.parametrize("name", sorted(n for n in HTTP if n.startswith("scf_function_url")))
def test_scf_function_url_event_is_the_documented_shape(name: str) -> None:
    # Tencent doc 583/96099: the gateway shape without requestContext, pathParameters,
    # queryStringParameters, headerParameters (isBase64Encoded only in our base64 sample).
    event = load_event(name)
    assert set(event) - {"isBase64Encoded"} == {"body", "headers", "httpMethod", "path",
                                                "queryString"}
    rest = events.to_rest_event(event)
    assert rest["requestContext"]["identity"]["sourceIp"] == event["headers"][
        events.SCF_REMOTE_ADDR]
    assert events.is_function_url(event)


def test_function_url_query_string_reaches_the_resolver() -> None:
    event = load_event("scf_function_url_get_export", path="/exports",
                       query={"limit": 5, "state": "submitted"})
    assert event["queryString"] == {"limit": "5", "state": "submitted"}
    rest = events.to_rest_event(event)
    assert rest["queryStringParameters"] == {"limit": "5", "state": "submitted"}
    assert rest["multiValueQueryStringParameters"] == {"limit": ["5"], "state": ["submitted"]}


@pytest.mark.parametrize("event", [
    {"httpMethod": "POST", "path": "/exports"},  # no headers: not the function URL shape
    {"httpMethod": 1, "path": "/exports", "headers": {}},
    {"path": "/exports", "headers": {}},
    {"export_id": "exp_1"},
    {"Type": "Timer", "TriggerName": "t"},
    ["not", "a", "dict"],
], ids=["no-headers", "method-not-text", "no-method", "async", "timer", "list"])
def test_shapes_that_are_not_http(event: object) -> None:
    assert not events.is_http(event)


def test_a_non_text_body_is_sent_on_as_text() -> None:
    event = load_event("scf_function_url_post_exports")
    event["body"] = {"provider": "cls"}
    assert json.loads(events.to_rest_event(event)["body"]) == {"provider": "cls"}


@pytest.mark.parametrize("name", sorted(TIMERS), ids=sorted(TIMERS))
def test_timer_events_name_their_trigger(name: str) -> None:
    trigger = events.timer_trigger(load_event(name))
    assert trigger is not None and trigger.name == TIMERS[name]
    assert not events.is_http(load_event(name))


@pytest.mark.parametrize("name", ASYNC, ids=ASYNC)
def test_async_payload_is_just_the_export_id(name: str) -> None:
    event = load_event(name)
    assert event == {"export_id": "exp_5f2c9a7e1b3d4c6f8a0e2b71"}
    assert events.async_payload(event) == event


@pytest.mark.parametrize("name", sorted(HTTP), ids=sorted(HTTP))
def test_overrides_keep_each_shape_consistent(name: str) -> None:
    event = load_event(name, method="post", path="/exports/exp_1/cancel", query={"a": 1},
                       body={"reason": "test"}, headers={"x-api-key": None})
    rest = events.to_rest_event(event)
    assert (rest["httpMethod"], rest["path"]) == ("POST", "/exports/exp_1/cancel")
    assert rest["queryStringParameters"] == {"a": "1"}
    assert json.loads(rest["body"]) == {"reason": "test"}
    assert "x-api-key" not in {k.lower() for k in rest["headers"]}


def test_each_load_is_a_fresh_copy() -> None:
    first = load_event("scf_timer")
    first["Message"] = "changed"
    assert load_event("scf_timer.json")["Message"] == ""


def test_unknown_event_names_the_ones_that_exist() -> None:
    with pytest.raises(FileNotFoundError, match="scf_timer"):
        load_event("nope")
