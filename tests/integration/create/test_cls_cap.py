"""A CLS export is never silently cut off at the 50,000,000-log cap: the window is counted
through SearchLog first (the sandbox emulates the count from the CLS API pages)."""

from __future__ import annotations

import time
from typing import Any

from shared import exports
from shared.model import TaskState
from shared.providers.cls import MAX_COUNT

HOUR_MS = 3600 * 1000


def accept(bundle: Any, topic: str, **params: Any) -> Any:
    now = int(time.time() * 1000)
    body = {"provider": "cls", "params": {"TopicId": topic, "From": now - HOUR_MS, "To": now,
                                          **params}}
    return exports.accept(bundle.store(), bundle.providers, body).task


def test_a_window_over_the_cap_fails_clearly_and_nothing_is_created(bundle: Any,
                                                                    sandbox: Any) -> None:
    sandbox.cls.log_rates["topic-busy"] = 20_000.0  # 72,000,000 logs in the hour
    task = accept(bundle, "topic-busy")
    assert task.state is TaskState.FAILED and task.error["code"] == "WindowOverExportCap"
    assert "72,000,000" in task.error["reason"] and "at least 2 exports" in task.error["reason"]
    assert sandbox.calls.get(("cls", "CreateExport"), 0) == 0


def test_a_window_under_the_cap_is_created_with_its_count(bundle: Any, sandbox: Any) -> None:
    sandbox.cls.log_rates["topic-calm"] = 10.0
    task = accept(bundle, "topic-calm")
    assert task.state is TaskState.SUBMITTED and task.remote["log_count"] == 36_000
    assert sandbox.calls[("cls", "SearchLog")] == 1


def test_a_count_below_the_cap_asks_for_the_cut_and_is_not_counted(bundle: Any,
                                                                   sandbox: Any) -> None:
    sandbox.cls.log_rates["topic-busy"] = 20_000.0
    task = accept(bundle, "topic-busy", Count=1000)
    assert task.state is TaskState.SUBMITTED and "log_count" not in task.remote
    assert sandbox.calls.get(("cls", "SearchLog"), 0) == 0 < MAX_COUNT


def test_a_refused_count_is_recorded_not_fatal(bundle: Any, sandbox: Any) -> None:
    sandbox.faults.add(service="cls", action="SearchLog", kind="error",
                       code="UnauthorizedOperation")
    task = accept(bundle, "topic-calm")
    assert task.state is TaskState.SUBMITTED
    assert task.remote["count_check"].startswith("SearchLog refused (UnauthorizedOperation)")


def test_a_count_that_fails_for_now_is_retried_before_any_create(bundle: Any,
                                                                 sandbox: Any) -> None:
    sandbox.faults.add(service="cls", action="SearchLog", kind="error",
                       code="RequestLimitExceeded")
    task = accept(bundle, "topic-calm")
    assert task.state is TaskState.ACCEPTED and task.error["retryable"]
    assert sandbox.calls.get(("cls", "CreateExport"), 0) == 0
