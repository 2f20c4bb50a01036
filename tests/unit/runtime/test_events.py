"""Platform events (SCF and Lambda triggers) turned into one request shape."""

from __future__ import annotations

import pytest

from shared.runtime import events
from tests.events import event_names, load_event

HTTP_POSTS = ["scf_apigw_post_exports", "aws_apigw_rest_post_exports",
              "aws_http_api_post_exports"]
HTTP_GETS = ["scf_apigw_get_export", "aws_function_url_get_export"]


@pytest.mark.parametrize("name", HTTP_POSTS)
def test_every_http_post_becomes_one_rest_shape(name: str) -> None:
    event = load_event(name)
    assert events.is_http(event)
    rest = events.to_rest_event(event)
    assert rest["httpMethod"] == "POST"
    assert rest["path"] == "/exports"
    assert '"provider"' in rest["body"]
    assert {k.lower() for k in rest["headers"]} >= {"x-api-key", "content-type"}
    assert rest["requestContext"]["requestId"]


@pytest.mark.parametrize("name", HTTP_GETS)
def test_http_gets_keep_their_path(name: str) -> None:
    rest = events.to_rest_event(load_event(name, path="/exports/exp_abc"))
    assert (rest["httpMethod"], rest["path"]) == ("GET", "/exports/exp_abc")


@pytest.mark.parametrize("name", ["scf_timer", "aws_eventbridge_scheduled"])
def test_timers_are_recognised(name: str) -> None:
    event = load_event(name)
    assert not events.is_http(event)
    trigger = events.timer_trigger(event)
    assert trigger is not None and trigger.name


@pytest.mark.parametrize("name", ["scf_async_complete", "aws_async_complete"])
def test_async_payload_names_the_export(name: str) -> None:
    event = load_event(name)
    assert events.timer_trigger(event) is None
    assert events.async_payload(event)["export_id"].startswith("exp_")


def test_every_sample_event_is_classified() -> None:
    for name in event_names():
        event = load_event(name)
        kinds = [events.is_http(event), events.timer_trigger(event) is not None,
                 bool(events.async_payload(event))]
        assert kinds.count(True) == 1, name


def test_plain_response_flattens_multi_value_headers() -> None:
    out = events.to_plain_response({"statusCode": 202, "body": "{}",
                                     "multiValueHeaders": {"Content-Type": ["application/json"],
                                                           "X-A": ["1", "2"]}})
    assert out == {"statusCode": 202, "headers": {"Content-Type": "application/json",
                                                  "X-A": "1, 2"},
                   "body": "{}", "isBase64Encoded": False}
