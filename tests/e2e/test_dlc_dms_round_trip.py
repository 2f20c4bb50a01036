"""DLC (SQL first, result read with temporary COS credentials) and DMS (a ticket that waits on
a person) through the three handlers, end to end against the sandbox."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.helpers import call, post, tick, until_terminal
from tests.events import load_event


def landed(task: dict[str, Any]) -> bytes:
    dest = task["destination"]
    data = Path(dest["uri"][len("file://"):]).read_bytes()
    assert len(data) == dest["size"] > 0
    assert hashlib.md5(data).hexdigest() == dest["md5"]
    return data


def hooks_for(receiver: Any, export_id: str) -> list[str]:
    return [r.event_type for r in receiver.received
            if r.verified and r.payload["data"]["export_id"] == export_id]


def action(api_key: str, export_id: str, verb: str) -> tuple[int, dict[str, Any]]:
    return call(load_event("aws_apigw_rest_post_exports", body="",
                           path=f"/exports/{export_id}/{verb}", headers={"x-api-key": api_key}))


@pytest.mark.usefixtures("handlers_env")
def test_dlc_sql_export_runs_the_query_and_lands_the_result(sandbox: Any, receiver: Any,
                                                             api_key: str) -> None:
    status, created = post(api_key, {"provider": "dlc", "params": {
        "SQL": "SELECT region, count(*) FROM orders GROUP BY region",
        "DatabaseName": "sales"}})
    assert status == 202, created
    assert created["stage"] == "sql"

    task = until_terminal(created["id"], api_key, sandbox)

    assert task["state"] == "delivered", task["error"]
    landed(task)
    assert sandbox.calls[("dlc", "CreateTasks")] == 1
    assert sandbox.calls[("dlc", "CreateResultDownload")] == 1
    # the temporary COS credentials DLC hands out never reach the API's answer
    assert not {"SecretId", "SecretKey", "Token"} & set(task["result"])
    assert hooks_for(receiver, task["id"]) == ["export.delivered"]


@pytest.mark.usefixtures("handlers_env")
def test_dms_ticket_waits_for_approval_then_is_delivered(sandbox: Any, receiver: Any,
                                                          api_key: str) -> None:
    status, created = post(api_key, {"provider": "dms", "params": {
        "Tid": 1, "DbId": 1234, "InstanceId": 77, "ExeSQL": "SELECT * FROM orders",
        "Comment": "monthly"}})
    assert status == 202, created
    export_id = created["id"]

    for _ in range(10):  # pre-check, then submitted for approval
        sandbox.clock.advance(5)
        tick()
        _, task = call(load_event("scf_apigw_get_export", path=f"/exports/{export_id}",
                                  headers={"x-api-key": api_key}))
        if task["stage"] == "waiting":
            break
        time.sleep(0.2)
    assert (task["state"], task["stage"]) == ("submitted", "waiting")
    for _ in range(20):
        if "export.waiting" in hooks_for(receiver, export_id):
            break
        time.sleep(0.1)
    assert hooks_for(receiver, export_id) == ["export.waiting"]

    # A person approves the ticket; the next look is a minute away, so nudge Courier.
    approval = {"OrderId": task["remote"]["OrderId"]}  # over HTTP, as with `courier sandbox`
    assert requests.post(sandbox.url + "/_sandbox/dms/approve", json=approval,
                         timeout=5).status_code == 200
    again = requests.post(sandbox.url + "/_sandbox/dms/reject", json=approval, timeout=5)
    assert again.status_code == 400 and "not waiting" in again.json()["error"]
    status, nudged = action(api_key, export_id, "check")
    assert status == 202
    assert nudged["next_check_at"] <= nudged["updated_at"]
    task = until_terminal(export_id, api_key, sandbox)

    assert task["state"] == "delivered", task["error"]
    data = landed(task)
    # what DMS ships, as it ships it: a zip, under its own name
    assert data[:4] == b"PK\x03\x04" and task["destination"]["key"].endswith(".zip")
    assert task["result"]["content_type"] == "application/zip"
    assert sandbox.calls[("dms", "SubmitOrderApproval")] == 1
    assert hooks_for(receiver, export_id) == ["export.waiting", "export.delivered"]


@pytest.mark.usefixtures("handlers_env")
def test_check_refuses_exports_that_no_longer_wait(sandbox: Any, api_key: str) -> None:
    _, created = post(api_key, {"provider": "dlc", "params": {"SQL": "SELECT 1",
                                                              "DatabaseName": "sales"}})
    action(api_key, created["id"], "cancel")
    status, answer = action(api_key, created["id"], "check")
    assert status == 409
    assert "cancelled" in answer["message"]
