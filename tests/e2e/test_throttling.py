"""Every provider, throttled on its status call through its real SDK: the poller backs off
and the export is delivered afterwards."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from shared.clock import utcnow
from tests.e2e.helpers import HOUR_MS, post, tick

NOW_MS = int(time.time() * 1000)
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("cls", {"TopicId": "topic-a", "From": NOW_MS - HOUR_MS, "To": NOW_MS},
     "DescribeExports", "RequestLimitExceeded"),
    ("mongodb", {"InstanceId": "cmgo-throttle1", "StartTime": "2026-11-21 00:00:00",
                 "EndTime": "2026-11-21 06:00:00"},
     "DescribeLogDownloadTasks", "RequestLimitExceeded"),
    ("tcss", {"Action": "CreateHostExportJob", "Params": {}},
     "DescribeExportJobManageList", "RequestLimitExceeded"),
    ("dlc", {"SQL": "SELECT 1", "DatabaseName": "sales"}, "DescribeTasks",
     "RequestLimitExceeded"),
    ("dms", {"Tid": 1, "DbId": 7, "InstanceId": 77, "ExeSQL": "SELECT * FROM t"},
     "GetDataExportOrderDetail",
     "Throttling.User"),
]


@pytest.mark.usefixtures("handlers_env")
@pytest.mark.parametrize(("provider", "params", "action", "code"), CASES,
                         ids=[c[0] for c in CASES])
def test_throttled_status_call_backs_off_then_delivers(sandbox: Any, api_key: str,
                                                       provider: str, params: dict[str, Any],
                                                       action: str, code: str) -> None:
    from functions import common

    sandbox.dms.auto_approve = True
    status, created = post(api_key, {"provider": provider, "params": params})
    assert status == 202, created
    sandbox.faults.add(service=provider, action=action, kind="error", code=code, times=1)
    store = common.bundle().store()
    before = sandbox.calls.get((provider, action), 0)  # MongoDB lists around its create

    now = utcnow() + timedelta(seconds=2)  # the first look is one poll interval away
    tick(now)
    task = store.get_task(created["id"])
    assert sandbox.calls[(provider, action)] == before + 1
    assert task.state.value == "submitted" and task.attempts == 1  # throttled once
    assert task.due_at is not None and task.due_at > now + timedelta(seconds=1)  # backed off

    for _ in range(20):
        now = max(now, task.due_at or now) + timedelta(seconds=5)
        sandbox.clock.advance(5)
        tick(now)
        task = store.get_task(created["id"])
        if task.state.terminal:
            break
    assert task.state.value == "delivered", task.error
    assert task.attempts == 0 and sandbox.calls[(provider, action)] >= before + 2
