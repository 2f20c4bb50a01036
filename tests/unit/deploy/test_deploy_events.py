"""The sample events: each one is the shape its platform sends, and the runtime reads it."""

from __future__ import annotations

import json

import pytest

from shared.runtime import events
from tests.events import event_names, load_event

HTTP = {
    "scf_apigw_post_exports": ("POST", "/exports"),
    "scf_apigw_get_export": ("GET", "/exports/exp_5f2c9a7e1b3d4c6f8a0e2b71"),
    "aws_apigw_rest_post_exports": ("POST", "/exports"),
    "aws_http_api_post_exports": ("POST", "/exports"),
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
    assert headers["x-api-key"] == "demo-api-key"
    if rest["httpMethod"] == "POST":
        body = json.loads(rest["body"])
        assert body["provider"] == "cls"
        assert body["params"] == {"TopicId": "topic-demo", "From": 1700000000000,
                                  "To": 1700003600000, "Query": "*", "Format": "json"}
        declared = headers.get("content-length")
        assert declared is None or int(declared) == len(rest["body"].encode())


def test_scf_api_gateway_event_has_the_fields_scf_sends() -> None:
    event = load_event("scf_apigw_post_exports")
    assert set(event["requestContext"]) >= {"serviceId", "path", "httpMethod", "requestId",
                                            "identity", "sourceIp", "stage"}
    assert set(event) >= {"headers", "body", "pathParameters", "queryStringParameters",
                          "headerParameters", "stageVariables", "path", "queryString",
                          "httpMethod"}


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
