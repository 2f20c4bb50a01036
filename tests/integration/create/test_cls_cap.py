"""A CLS export is never silently cut off at the 50,000,000-log cap: the window is counted
through SearchLog first (the sandbox emulates the count from the CLS API pages); a window
over the cap is split (tests/integration/create/test_cls_split.py), and what cannot be split
is refused by name."""

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


def test_a_window_over_the_cap_is_split_not_refused(bundle: Any, sandbox: Any) -> None:
    sandbox.cls.log_rates["topic-busy"] = 20_000.0  # 72,000,000 logs in the hour
    task = accept(bundle, "topic-busy")
    assert task.state is TaskState.SUBMITTED, task.error
    assert [p["log_count"] for p in task.remote["parts"]] == [36_000_000, 36_000_000]
    assert sandbox.calls[("cls", "CreateExport")] == 2


def test_one_millisecond_over_the_cap_cannot_be_split_and_fails_clearly(
        bundle: Any, sandbox: Any) -> None:
    now = int(time.time() * 1000)
    sandbox.cls.log_spikes["topic-burst"] = [(now - 600_000, 60_000_000)]
    task = accept(bundle, "topic-burst")
    assert task.state is TaskState.FAILED and task.error["code"] == "WindowOverExportCap"
    assert "one millisecond cannot be split" in task.error["reason"]
    assert "60,0" in task.error["reason"] and "50,000,000" in task.error["reason"]
    assert sandbox.calls.get(("cls", "CreateExport"), 0) == 0


def test_a_window_needing_more_parts_than_allowed_fails_clearly(
        courier_env: dict[str, str], sandbox: Any) -> None:
    from shared.bundle import Bundle
    from shared.config import Settings

    limited = Bundle(Settings.from_env({**courier_env, "COURIER_CLS_MAX_PARTS": "3"}))
    sandbox.cls.log_rates["topic-huge"] = 100_000.0  # 360,000,000 logs: 8 exports
    try:
        task = accept(limited, "topic-huge")
    finally:
        limited.store().close()
    assert task.state is TaskState.FAILED and task.error["code"] == "WindowOverExportCap"
    assert "it needs at least 8 exports, more than the 3 allowed" in task.error["reason"]
    assert sandbox.calls.get(("cls", "CreateExport"), 0) == 0
    assert sandbox.calls[("cls", "SearchLog")] == 1


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
