"""The three handlers, driven by the sample events, end to end against the sandbox."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import call, cls_body, post, until_terminal
from tests.events import load_event


@pytest.mark.usefixtures("handlers_env")
def test_export_is_created_polled_copied_and_announced(sandbox: Any, receiver: Any,
                                                       api_key: str, tmp_path: Path) -> None:
    status, created = post(api_key, cls_body())
    assert status == 202
    assert created["state"] == "submitted"
    assert created["remote"]["ExportId"]

    task = until_terminal(created["id"], api_key, sandbox)

    assert task["state"] == "delivered"
    dest = task["destination"]
    path = Path(dest["uri"][len("file://"):])
    data = path.read_bytes()
    assert len(data) == dest["size"] == task["result"]["size"]
    assert hashlib.md5(data).hexdigest() == dest["md5"]
    # what CLS ships, as it ships it: a gzip'd tar, under CLS's own file name
    assert data[:2] == b"\x1f\x8b" and path.name.endswith(".tar.gz")
    assert task["result"]["file_name"] == path.name
    assert task["result"]["content_type"] == "application/gzip"
    assert path.is_relative_to(tmp_path / "bucket")
    assert "url" not in task["result"]  # the presigned link never leaves the state table
    hooks = [r for r in receiver.delivered() if r.payload["data"]["export_id"] == task["id"]]
    assert [h.event_type for h in hooks] == ["export.delivered"]
    assert hooks[0].payload["data"]["md5"] == dest["md5"]


@pytest.mark.usefixtures("handlers_env")
def test_same_idempotency_key_returns_the_first_export(sandbox: Any, api_key: str) -> None:
    # GIVEN an export created with an Idempotency-Key
    body = cls_body()
    first = post(api_key, body, **{"idempotency-key": "nightly-1"})
    # WHEN the same request comes again (through another gateway)
    again = post(api_key, body, event="aws_http_api_post_exports",
                 **{"idempotency-key": "nightly-1"})
    # THEN the first answer is replayed (status and body), nothing is created twice
    assert first[0] == 202 and again == first
    assert sandbox.calls[("cls", "CreateExport")] == 1
    # AND the key with a different body is 422 (IETF Idempotency-Key draft)
    other = post(api_key, cls_body(Format="csv"), **{"idempotency-key": "nightly-1"})
    assert other[0] == 422 and other[1]["error"] == "idempotency_key_reused"


BAD_BODIES: list[tuple[str, Any, str]] = [
    ("not-an-object", [1, 2], "body"),
    ("unknown-provider", {"provider": "ftp", "params": {}}, "provider"),
    ("missing-params", {"provider": "cls"}, "params"),
    ("missing-topic", {"provider": "cls", "params": {"From": 1_700_000_000_000,
                                                     "To": 1_700_000_100_000}},
     "params.TopicId"),
    ("from-after-to", {"provider": "cls", "params": {"TopicId": "topic-a",
                                                     "From": 1_700_000_100_000,
                                                     "To": 1_700_000_000_000}}, "params.From"),
    ("wrong-type", {"provider": "cls", "params": {"TopicId": "topic-a", "From": "monday",
                                                  "To": 1_700_000_000_000}}, "params.From"),
    ("bad-subscriber", {**cls_body(), "subscribers": ["ftp://x"]}, "subscribers[0]"),
]


@pytest.mark.usefixtures("handlers_env")
@pytest.mark.parametrize(("body", "field"), [(b, f) for _, b, f in BAD_BODIES],
                         ids=[i for i, _, _ in BAD_BODIES])
def test_bad_input_is_a_400_naming_the_field(sandbox: Any, api_key: str, body: Any,
                                             field: str) -> None:
    status, answer = post(api_key, body, event="aws_apigw_rest_post_exports")
    assert status == 400
    assert answer["field"] == field
    assert answer["message"]
    assert sandbox.calls.get(("cls", "CreateExport"), 0) == 0


@pytest.mark.usefixtures("handlers_env")
def test_malformed_and_oversized_bodies(sandbox: Any, api_key: str) -> None:
    status, answer = post(api_key, "{not json")
    assert (status, answer["field"]) == (400, "body")
    status, answer = post(api_key, {"provider": "cls", "params": {"Query": "x" * 70_000}})
    assert (status, answer["field"]) == (400, "body")
    assert "larger than" in answer["message"]
    assert sandbox.calls.get(("cls", "CreateExport"), 0) == 0


@pytest.mark.usefixtures("handlers_env")
def test_requests_without_valid_credentials_are_refused(api_key: str) -> None:
    status, answer = post("wrong-key", cls_body())
    assert status == 401
    status, _ = call(load_event("scf_apigw_post_exports", body=cls_body(),
                                headers={"x-api-key": None}))
    assert status == 401
    assert api_key not in json.dumps(answer)


@pytest.mark.usefixtures("handlers_env")
def test_unknown_export_and_route_are_404(api_key: str) -> None:
    status, answer = call(load_event("scf_apigw_get_export", path="/exports/exp_nope",
                                     headers={"x-api-key": api_key}))
    assert status == 404 and "exp_nope" in answer["message"]
    status, _ = call(load_event("scf_apigw_get_export", path="/nowhere",
                                headers={"x-api-key": api_key}))
    assert status == 404


@pytest.mark.usefixtures("handlers_env")
def test_provider_refusal_is_recorded_and_reported(sandbox: Any, api_key: str) -> None:
    status, answer = post(api_key, cls_body(topic="missing-topic"))
    assert status == 422
    assert answer["export"]["state"] == "failed"
    assert answer["export"]["error"]["code"] == "ResourceNotFound.TopicNotExist"


@pytest.mark.usefixtures("handlers_env")
def test_cancel_deletes_the_export_at_the_provider(sandbox: Any, api_key: str) -> None:
    _, created = post(api_key, cls_body())
    status, cancelled = call(load_event("aws_apigw_rest_post_exports", body="",
                                        path=f"/exports/{created['id']}/cancel",
                                        headers={"x-api-key": api_key}))
    assert status == 200 and cancelled["state"] == "cancelled"
    assert sandbox.calls[("cls", "DeleteExport")] == 1
    status, again = call(load_event("aws_apigw_rest_post_exports", body="",
                                    path=f"/exports/{created['id']}/cancel",
                                    headers={"x-api-key": api_key}))
    assert status == 200 and again["state"] == "cancelled"


@pytest.mark.usefixtures("handlers_env")
def test_list_pages_through_exports(api_key: str) -> None:
    ids = {post(api_key, cls_body())[1]["id"] for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = call(load_event("aws_function_url_get_export", path="/exports",
                                       query=query, headers={"x-api-key": api_key}))
        assert status == 200
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(seen) == ids and len(seen) == 5
    status, answer = call(load_event("aws_function_url_get_export", path="/exports",
                                     query={"state": "bogus"}, headers={"x-api-key": api_key}))
    assert (status, answer["field"]) == (400, "state")


@pytest.mark.usefixtures("handlers_env")
def test_a_window_over_the_cls_cap_is_one_export_with_parts(sandbox: Any, receiver: Any,
                                                             api_key: str) -> None:
    # GIVEN a topic holding 72,000,000 logs in the hour asked for (CLS carries 50,000,000)
    sandbox.cls.log_rates["topic-busy"] = 20_000.0
    status, created = post(api_key, cls_body("topic-busy"))
    # THEN the answer is one export whose view lists its parts, one CLS export each
    assert status == 202 and created["state"] == "submitted"
    parts = created["parts"]
    assert [p["log_count"] for p in parts] == [36_000_000, 36_000_000]
    assert all(p["export_id"] and p["status"] == "Queuing" for p in parts)
    assert parts[0]["to"] == parts[1]["from"]
    task = until_terminal(created["id"], api_key, sandbox)
    assert task["state"] == "delivered"
    assert [p["status"] for p in task["parts"]] == ["Completed", "Completed"]
    assert task["destination"]["objects"] == 2 and task["destination"]["key"].endswith(
        "manifest.json")
    status, again = call(load_event("aws_function_url_get_export",
                                    path=f"/exports/{created['id']}",
                                    headers={"x-api-key": api_key}))
    assert status == 200 and again["parts"] == task["parts"]
    hooks = [r for r in receiver.delivered() if r.payload["data"]["export_id"] == task["id"]]
    assert [h.event_type for h in hooks] == ["export.delivered"]
    assert hooks[0].payload["data"]["objects"] == 2
