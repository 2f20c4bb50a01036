"""The delivery and endpoint routes, served by a Powertools resolver as the app mounts them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from shared.clock import to_iso, utcnow
from shared.errors import NotFoundError, ValidationError
from shared.http import deliveries
from shared.model import DeliveryState, ExportTask, TaskState
from shared.state.base import TaskStore
from shared.webhooks import delivery as webhooks
from shared.webhooks import endpoints
from tests.events import load_event


class Api:
    def __init__(self, store: TaskStore) -> None:
        self.app = APIGatewayRestResolver()
        self.app.include_router(deliveries.router(lambda: store))

        @self.app.exception_handler(ValidationError)
        def bad(exc: ValidationError) -> Response:
            return Response(400, "application/json",
                            json.dumps({"error": "invalid_request", "field": exc.field}))

        @self.app.exception_handler(NotFoundError)
        def missing(exc: NotFoundError) -> Response:
            return Response(404, "application/json", json.dumps({"error": "not_found"}))

    def call(self, method: str, path: str, body: Any = None,
             query: dict[str, str] | None = None) -> tuple[int, Any]:
        overrides: dict[str, Any] = {"method": method, "path": path, "query": query or {}}
        overrides["body"] = body if body is not None else ""
        event = load_event("aws_apigw_rest_post_exports", **overrides)
        out = self.app.resolve(event, None)
        return out["statusCode"], json.loads(out["body"]) if out.get("body") else None


@pytest.fixture
def api(store: TaskStore) -> Iterator[Api]:
    yield Api(store)


def queue(store: TaskStore, task: ExportTask, urls: list[str]) -> list[Any]:
    data = {"export_id": task.id, "provider": task.provider, "state": task.state.value}
    return webhooks.enqueue_event(store, task, "export.delivered", data, urls)


def test_list_deliveries_of_an_export(api: Api, store: TaskStore, task: ExportTask) -> None:
    ds = queue(store, task, ["https://u:pw@hooks.example.com/a?token=SECRET",
                             "https://hooks.example.com/b"])
    status, body = api.call("GET", f"/exports/{task.id}/deliveries")
    assert status == 200
    assert sorted(i["id"] for i in body["items"]) == sorted(d.id for d in ds)
    first = next(i for i in body["items"] if i["id"] == ds[0].id)
    assert first["endpoint"] == "https://hooks.example.com/a"
    assert "SECRET" not in json.dumps(body) and "pw" not in first["endpoint"]
    assert first["state"] == "pending" and first["attempts"] == []
    assert first["export_id"] == task.id and first["event_type"] == "export.delivered"
    assert body["next_cursor"] is None

    status, page = api.call("GET", f"/exports/{task.id}/deliveries", query={"limit": "1"})
    assert status == 200 and len(page["items"]) == 1 and page["next_cursor"]
    status, page2 = api.call("GET", f"/exports/{task.id}/deliveries",
                             query={"limit": "1", "cursor": page["next_cursor"]})
    assert {page["items"][0]["id"], page2["items"][0]["id"]} == {d.id for d in ds}

    status, none = api.call("GET", f"/exports/{task.id}/deliveries", query={"state": "dead"})
    assert status == 200 and none["items"] == []


@pytest.mark.parametrize("query", [{"state": "nope"}, {"limit": "0"}, {"limit": "x"},
                                   {"cursor": "!!"}])
def test_list_rejects_bad_query(api: Api, task: ExportTask, query: dict[str, str]) -> None:
    assert api.call("GET", f"/exports/{task.id}/deliveries", query=query)[0] == 400


def test_list_unknown_export_is_404(api: Api) -> None:
    assert api.call("GET", "/exports/exp_missing/deliveries")[0] == 404


def test_resend(api: Api, store: TaskStore, task: ExportTask) -> None:
    (d,) = queue(store, task, ["https://hooks.example.com/a"])
    d.state, d.due_at = DeliveryState.DEAD, None
    store.update_delivery(d)
    status, body = api.call("POST", f"/deliveries/{d.id}/resend")
    assert status == 202
    assert body["id"] == d.id and body["state"] == "pending" and body["next_attempt_at"]
    assert body["attempts"][-1]["action"] == "resend"
    assert store.get_delivery(d.id).state is DeliveryState.PENDING
    assert api.call("POST", "/deliveries/msg_nope/resend")[0] == 404


def test_recover(api: Api, store: TaskStore, task: ExportTask) -> None:
    url = "https://hooks.example.com/a"
    (d,) = queue(store, task, [url])
    endpoints.disable_endpoint(store, url, "test")
    assert store.get_delivery(d.id).state is DeliveryState.DISABLED
    since = to_iso(utcnow() - timedelta(hours=1))
    status, body = api.call("POST", "/endpoints/recover", {"endpoint": url, "since": since})
    assert status == 202 and body["recovered"] == 1
    assert body["endpoint_id"] == endpoints.endpoint_id(url)
    assert store.get_delivery(d.id).state is DeliveryState.PENDING
    assert not endpoints.get_endpoint(store, url).disabled


@pytest.mark.parametrize("body", [None, [], {"since": "2030-01-01T00:00:00Z"},
                                  {"endpoint": "ftp://x", "since": "2030-01-01T00:00:00Z"},
                                  {"endpoint": "https://x"},
                                  {"endpoint": "https://x", "since": "last week"},
                                  {"endpoint": "https://x", "since": "2999-01-01T00:00:00Z"}])
def test_recover_rejects_bad_body(api: Api, body: Any) -> None:
    status, out = api.call("POST", "/endpoints/recover", body)
    assert status == 400, out


def test_each_app_serves_its_own_store(store: TaskStore, tmp_path: Any) -> None:
    from shared.state import open_store

    other = open_store(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        task, _ = store.insert_task(ExportTask(provider="cls", params={}))
        queue(store, task, ["https://hooks.example.com/a"])
        first, second = Api(store), Api(other)  # the second app must not take over the first
        status, body = first.call("GET", f"/exports/{task.id}/deliveries")
        assert status == 200 and len(body["items"]) == 1
        status, _ = second.call("GET", f"/exports/{task.id}/deliveries")
        assert status == 404
    finally:
        other.close()


def test_views_never_carry_secrets(store: TaskStore) -> None:
    task, _ = store.insert_task(ExportTask(provider="cls", params={},
                                           state=TaskState.DELIVERED))
    data = {"export_id": task.id, "provider": "cls", "state": "delivered",
            "download_url": "https://b.s3.amazonaws.com/k?X-Amz-Signature=abc"}
    (d,) = webhooks.enqueue_event(store, task, "export.delivered", data,
                                  ["https://hooks.example.com/x?sig=abc"])
    view = deliveries.delivery_view(d)
    assert "sig=abc" not in json.dumps(view)
    assert "X-Amz-Signature" not in json.dumps(view)
    assert view["payload"]["data"]["export_id"] == task.id


def test_a_chat_bot_is_listed_and_recovered_by_its_name(api: Api, store: TaskStore,
                                                        task: ExportTask) -> None:
    (d,) = queue(store, task, ["chat:team"])
    endpoints.disable_endpoint(store, "chat:team", "DingTalk refused the message: 310000")
    status, body = api.call("GET", f"/exports/{task.id}/deliveries")
    assert status == 200 and body["items"][0]["endpoint"] == "chat:team"
    assert body["items"][0]["state"] == "disabled"
    since = to_iso(utcnow() - timedelta(hours=1))
    status, body = api.call("POST", "/endpoints/recover",
                            {"endpoint": "chat:team", "since": since})
    assert status == 202 and body == {**body, "endpoint": "chat:team", "recovered": 1}
    assert store.get_delivery(d.id).state is DeliveryState.PENDING
