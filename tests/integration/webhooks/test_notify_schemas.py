"""Event payloads, as the product builds them, validate against the JSON Schemas in schemas/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from shared.config import Settings
from shared.model import DeliveryState, ExportTask, TaskState
from shared.state.base import TaskStore
from shared.webhooks import notify
from tests.integration.webhooks.webhook_support import T0

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
EVENTS = ("export.delivered", "export.failed", "export.waiting", "export.cancelled")


def validator(event: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{event}.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def queued_payload(store: TaskStore, task: ExportTask, event: str,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    stored, _ = store.insert_task(task)
    settings = Settings(profile="sandbox", auth="none",
                        webhook_urls=("https://hooks.example.com/courier",))
    assert notify.notify(store, settings, stored, event, extra, now=T0) == 1
    (delivery,) = store.list_deliveries(task_id=stored.id).items
    assert delivery.state is DeliveryState.PENDING
    return delivery.payload


def test_schema_files_exist_and_are_valid() -> None:
    for event in EVENTS:
        validator(event)


def test_delivered_payload(store: TaskStore) -> None:
    task = ExportTask(provider="cls", params={}, state=TaskState.DELIVERED,
                      result={"file_name": "logs.csv.gz"},
                      destination={"uri": "s3://bucket/cls/2030/01/01/x/logs.csv.gz",
                                   "key": "cls/2030/01/01/x/logs.csv.gz", "size": 1234,
                                   "md5": "9e107d9d372bb6826bd81d3542a419d6"})
    payload = queued_payload(store, task, "export.delivered",
                             {"download_url": "https://bucket.s3.amazonaws.com/k?X-Amz-Sig=1"})
    validator("export.delivered").validate(payload)
    assert payload["data"]["file_name"] == "logs.csv.gz"
    assert "destination" not in payload["data"]  # the deployment's own


def test_delivered_payload_names_a_named_destination(store: TaskStore) -> None:
    task = ExportTask(provider="cls", params={}, state=TaskState.DELIVERED,
                      destination_name="team-lake",
                      destination={"uri": "s3://team-lake/courier/x/logs.csv.gz",
                                   "key": "x/logs.csv.gz", "size": 12, "md5": None})
    payload = queued_payload(store, task, "export.delivered")
    validator("export.delivered").validate(payload)
    assert payload["data"]["destination"] == "team-lake"


def test_failed_payload(store: TaskStore) -> None:
    task = ExportTask(provider="dlc", params={}, state=TaskState.FAILED,
                      error={"reason": "query syntax error", "code": "SqlError",
                             "retryable": False})
    validator("export.failed").validate(queued_payload(store, task, "export.failed"))
    task2 = ExportTask(provider="dlc", params={}, state=TaskState.FAILED,
                       error={"reason": "copy failed", "code": None, "retryable": True})
    validator("export.failed").validate(queued_payload(store, task2, "export.failed"))


def test_waiting_payload(store: TaskStore) -> None:
    task = ExportTask(provider="dms", params={}, state=TaskState.SUBMITTED, stage="waiting")
    payload = queued_payload(store, task, "export.waiting", {"reason": "awaiting approval"})
    validator("export.waiting").validate(payload)
    task2 = ExportTask(provider="dms", params={}, state=TaskState.SUBMITTED)
    validator("export.waiting").validate(queued_payload(store, task2, "export.waiting",
                                                        {"reason": None}))


@pytest.mark.parametrize("event", EVENTS)
def test_schemas_reject_wrong_payloads(event: str) -> None:
    v = validator(event)
    good_data = {"export_id": "exp_1", "provider": "cls",
                 "state": {"export.delivered": "delivered", "export.failed": "failed",
                           "export.waiting": "submitted", "export.cancelled": "cancelled"}[event],
                 "uri": "file:///x", "key": "x", "size": 1, "reason": "r", "retryable": False}
    v.validate({"type": event, "timestamp": "2030-01-01T00:00:00Z", "data": good_data})
    for bad in ({"type": "export.other", "timestamp": "2030-01-01T00:00:00Z",
                 "data": good_data},
                {"type": event, "timestamp": "yesterday", "data": good_data},
                {"type": event, "timestamp": "2030-01-01T00:00:00Z",
                 "data": {k: v for k, v in good_data.items() if k != "export_id"}},
                {"type": event, "timestamp": "2030-01-01T00:00:00Z", "data": good_data,
                 "secret": "x"}):
        assert list(v.iter_errors(bad)), bad


def test_cancelled_payload(store: TaskStore) -> None:
    task = ExportTask(provider="cls", params={}, state=TaskState.CANCELLED)
    payload = queued_payload(store, task, "export.cancelled")
    validator("export.cancelled").validate(payload)
    assert payload["data"]["reason"]


def operator_payloads(store: TaskStore) -> dict[str, dict[str, Any]]:
    from shared.model import WebhookDelivery
    from shared.webhooks import operator

    settings = Settings(profile="sandbox", auth="none",
                        operator_subscribers=("https://ops.example.com/hook",))
    operator.endpoint_disabled(store, settings, "https://hooks.example.com/x?token=s3cr3t",
                               "endpoint answered 410 Gone", T0)
    dead = WebhookDelivery(task_id="exp_1", endpoint="chat:team", event_type="export.failed",
                           payload={}, attempts=[{"time": "t", "status": 500}] * 8)
    operator.dead_lettered(store, settings, dead, "HTTP 500", T0)
    operator.endpoint_recovered(store, settings, "https://hooks.example.com/x?token=s3cr3t",
                                T0, T0)
    return {d.event_type: d.payload for d in store.list_deliveries(limit=10).items}


@pytest.mark.parametrize("event", ["endpoint.disabled", "endpoint.recovered",
                                   "delivery.dead_lettered"])
def test_operator_event_payloads(store: TaskStore, event: str) -> None:
    payload = operator_payloads(store)[event]
    validator(event).validate(payload)
    assert "s3cr3t" not in json.dumps(payload)
    bad = {**payload, "data": {k: v for k, v in payload["data"].items() if k != "endpoint"}}
    assert list(validator(event).iter_errors(bad))


def test_stuck_payload(store: TaskStore) -> None:
    from datetime import timedelta

    from shared.webhooks import operator

    settings = Settings(profile="sandbox", auth="none",
                        operator_subscribers=("https://ops.example.com/hook",))
    for task in (ExportTask(provider="cls", params={}, state=TaskState.SUBMITTED,
                            stage="queuing"),
                 ExportTask(provider="tcss", params={}, state=TaskState.ACCEPTED, progress=40,
                            account="eu-prod", round=2,
                            error={"reason": "RequestLimitExceeded", "retryable": True})):
        assert operator.export_stuck(store, settings, task, T0 - timedelta(hours=3), 1,
                                     10800.0, T0) == 1
        (d,) = [d for d in store.list_deliveries(limit=10).items if d.task_id == task.id]
        validator("export.stuck").validate(d.payload)
        assert (d.event_type, d.repeat) == ("export.stuck", 1)
    bad = {**d.payload, "data": {**d.payload["data"], "stall": 0}}
    assert list(validator("export.stuck").iter_errors(bad))


def test_waiting_reminder_payload(store: TaskStore) -> None:
    from shared.webhooks import delivery, notify, watch

    task = ExportTask(provider="dms", params={}, state=TaskState.SUBMITTED, stage="waiting",
                      remote={"OrderId": 40000001}, account="cn-ops")
    data = notify.event_data(task, "export.waiting", watch.waiting_data(task, T0, 2))
    (d,) = delivery.enqueue_event(store, task, "export.waiting", data,
                                  ["https://hooks.example.com/h"], now=T0, repeat=2)
    validator("export.waiting").validate(d.payload)
    assert d.payload["data"]["reminder"] == 2 and d.payload["data"]["order_id"] == 40000001
