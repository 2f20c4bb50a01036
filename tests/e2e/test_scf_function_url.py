"""The SCF function URL as the HTTP entry: every sample event through the real create handler.

A function URL sends ``{body, headers, httpMethod, path, queryString}`` with no
``requestContext`` (Tencent doc 583/96099); these are the requests an SCF deployment gets now
that API Gateway triggers are retired.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.e2e.helpers import call, cls_body
from tests.events import load_event

POST = "scf_function_url_post_exports"
POST_B64 = "scf_function_url_post_exports_base64"
GET = "scf_function_url_get_export"


def _b64_event(api_key: str, raw: bytes) -> dict[str, Any]:
    event = load_event(POST_B64, headers={"x-api-key": api_key,
                                          "content-length": str(len(raw))})
    event["body"] = base64.b64encode(raw).decode()
    return event


@pytest.mark.usefixtures("handlers_env")
@pytest.mark.parametrize("encoded", [False, True], ids=["plain", "base64"])
def test_post_creates_the_export_then_get_and_list_find_it(sandbox: Any, api_key: str,
                                                          encoded: bool) -> None:
    body = cls_body()
    if encoded:
        event = _b64_event(api_key, json.dumps(body).encode())
    else:
        event = load_event(POST, body=body, headers={"x-api-key": api_key})
    status, created = call(event)
    assert status == 202, created
    assert created["state"] == "submitted" and created["provider"] == "cls"
    assert sandbox.calls[("cls", "CreateExport")] == 1

    status, task = call(load_event(GET, path=f"/exports/{created['id']}",
                                   headers={"x-api-key": api_key}))
    assert status == 200 and task["id"] == created["id"]

    status, page = call(load_event(GET, path="/exports", query={"limit": "10"},
                                   headers={"x-api-key": api_key}))
    assert status == 200
    assert [t["id"] for t in page["items"]] == [created["id"]]


@pytest.mark.usefixtures("handlers_env")
def test_the_sample_events_as_sent_are_answered(api_key: str) -> None:
    # The samples carry demo-api-key: refused here (wrong key), but routed and answered.
    for name in (POST, POST_B64, GET):
        status, answer = call(load_event(name))
        assert status == 401, name
        assert answer["error"] == "unauthorized"


BAD = [
    ("not-json", b"{not json", "body"),
    ("binary", bytes(range(256)), "body"),
    ("not-an-object", b"[1, 2]", None),
    ("unknown-provider", json.dumps({"provider": "nope", "params": {}}).encode(), "provider"),
    ("from-after-to", json.dumps({"provider": "cls", "params": {
        "TopicId": "t", "From": 1_700_000_100_000, "To": 1_700_000_000_000}}).encode(),
     "params.From"),
    ("oversized", json.dumps({"provider": "cls", "params": {"Query": "x" * 70_000}}).encode(),
     "body"),
]


@pytest.mark.usefixtures("handlers_env")
@pytest.mark.parametrize("encoded", [False, True], ids=["plain", "base64"])
@pytest.mark.parametrize(("raw", "field"), [(r, f) for _, r, f in BAD],
                         ids=[i for i, _, _ in BAD])
def test_bad_bodies_get_the_same_400_as_every_other_shape(sandbox: Any, api_key: str,
                                                          raw: bytes, field: str | None,
                                                          encoded: bool) -> None:
    if encoded:
        event = _b64_event(api_key, raw)
    else:
        event = load_event(POST, headers={"x-api-key": api_key})
        event["body"] = raw.decode("utf-8", errors="replace")
    status, answer = call(event)
    assert status == 400, answer
    assert answer["error"] and answer["message"]
    if field is not None:
        assert answer["field"] == field
    # the same body through the old API-gateway shape is answered the same way
    gateway = load_event("scf_apigw_post_exports", headers={"x-api-key": api_key})
    gateway["body"] = raw.decode("utf-8", errors="replace")
    if not encoded:  # the same answer, but for the gateway's own request id
        again, other = call(gateway)
        assert (again, {**other, "request_id": None}) == (status, {**answer,
                                                                    "request_id": None})
    assert sandbox.calls.get(("cls", "CreateExport"), 0) == 0


@pytest.mark.usefixtures("handlers_env")
def test_a_body_flagged_base64_that_is_not_base64_is_a_400(api_key: str) -> None:
    event = load_event(POST_B64, headers={"x-api-key": api_key})
    event["body"] = "%%% not base64 %%%"
    status, answer = call(event)
    assert (status, answer["field"]) == (400, "body")


@pytest.mark.usefixtures("handlers_env")
@pytest.mark.parametrize("headers", [
    {"x-api-key": None}, {"x-api-key": "wrong-key"},
    {"x-api-key": None, "authorization": "Bearer wrong-key"},
    {"x-api-key": None, "x-courier-signature": "v1,AAAA", "x-courier-timestamp": "1"},
], ids=["no-credentials", "wrong-key", "wrong-bearer", "stale-signature"])
def test_requests_without_valid_credentials_are_refused(sandbox: Any, api_key: str,
                                                        headers: dict[str, str | None]) -> None:
    status, answer = call(load_event(POST, body=cls_body(), headers=headers))
    assert status == 401 and answer["error"] == "unauthorized"
    status, _ = call(load_event(GET, headers=headers))
    assert status == 401
    assert api_key not in json.dumps(answer)
    assert sandbox.calls.get(("cls", "CreateExport"), 0) == 0


@pytest.mark.usefixtures("handlers_env")
def test_a_bearer_key_works_through_the_function_url(api_key: str) -> None:
    status, created = call(load_event(POST, body=cls_body(), headers={
        "x-api-key": None, "authorization": f"Bearer {api_key}"}))
    assert status == 202 and created["state"] == "submitted"


@pytest.mark.usefixtures("handlers_env")
def test_unknown_route_and_export_are_404(api_key: str) -> None:
    status, answer = call(load_event(GET, path="/exports/exp_nope",
                                     headers={"x-api-key": api_key}))
    assert status == 404 and "exp_nope" in answer["message"]
    status, answer = call(load_event(GET, path="/nowhere", headers={"x-api-key": api_key}))
    assert status == 404 and "/nowhere" in answer["message"]


@pytest.mark.usefixtures("handlers_env")
def test_an_unrecognised_event_is_still_a_clear_400() -> None:
    status, answer = call({"httpMethod": "POST", "path": "/exports"})  # no headers at all
    assert status == 400 and answer["message"] == "unrecognised event"
