"""MongoDB: the published CreateLogDownloadTask, DescribeLogDownloadTasks and
DeleteLogDownloadTask answers, through tencentcloud-sdk-python-mongodb, to
:class:`MongodbProvider`."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import ProviderError
from shared.model import ExportTask
from shared.pacing import RateLimiter
from shared.providers.base import RemoteStatus
from shared.providers.mongodb import MongodbProvider
from shared.vendor_settings import TencentSettings
from tests.vendor_examples.support import record

TASK_ID = "export-28439fb3-90a6-4ca2-bd2f-ad99e99a14e9"
EXAMPLES: dict[str, dict[str, Any]] = {
    # no TaskId in the answer: the task is matched from the listing afterwards
    "tencent-CreateLogDownloadTask-1.json": {"stage": "matching"},
    # the task the example asks for (its log window, created hours later) is matched and,
    # finished without a Url yet, waits for it
    "tencent-DescribeLogDownloadTasks-1.json": {
        "TaskId": TASK_ID, "status": RemoteStatus.PENDING, "stage": "waiting-for-url",
        "progress": 100},
    "tencent-DeleteLogDownloadTask-1.json": {"cancelled": True},
}


@pytest.fixture
def mongo(tencent: TencentSettings, limiter: RateLimiter) -> MongodbProvider:
    return MongodbProvider(tencent, limiter=limiter)


def task(mongo: MongodbProvider) -> ExportTask:
    """An export of the examples' request: the log window 2024-03-07 9:22:15-15:33:15."""
    return ExportTask(provider="mongodb", params=mongo.validate({
        "InstanceId": "cmgo-k2p5su09", "StartTime": "2024-03-07 9:22:15",
        "EndTime": "2024-03-07 15:33:15", "LogComponents": ["NETWORK"],
        "LogConnections": [], "LogIds": [], "LogDetailParams": ["client metadata"]}))


def test_create_log_download_task(mongo: MongodbProvider, sandbox: Any) -> None:
    name = "tencent-CreateLogDownloadTask-1.json"
    record(sandbox, name)
    mine = task(mongo)
    mine.remote.update(mongo.prepare(mine))
    sub = mongo.create(mine)
    assert sub.stage == EXAMPLES[name]["stage"] and "TaskId" not in sub.remote


def test_describe_log_download_tasks(mongo: MongodbProvider, sandbox: Any) -> None:
    # GIVEN the export made (its task not known yet), nothing listed before the call
    name = "tencent-DescribeLogDownloadTasks-1.json"
    mine = task(mongo)
    mine.remote = {"known_task_ids": []}
    mine.stage = "matching"
    record(sandbox, name)
    asked: list[dict[str, Any]] = []
    call = mongo.api.call

    def noted(action: str, request: dict[str, Any]) -> Any:  # a spy: what was asked
        asked.append(request)
        return call(action, request)

    mongo.api.call = noted  # type: ignore[method-assign]
    # WHEN polled THEN the listing asks for the export's log window, as the example does
    outcome = mongo.poll([mine])[mine.id]
    want = EXAMPLES[name]
    assert {(r["StartTime"], r["EndTime"]) for r in asked} == {
        ("2024-03-07 09:22:15", "2024-03-07 15:33:15")}
    # … and the listed task is its own, finished but without its URL yet
    assert not isinstance(outcome, ProviderError), outcome
    assert outcome.remote["TaskId"] == want["TaskId"]
    assert (outcome.status, outcome.stage, outcome.progress) == (
        want["status"], want["stage"], want["progress"])


def test_delete_log_download_task(mongo: MongodbProvider, sandbox: Any) -> None:
    name = "tencent-DeleteLogDownloadTask-1.json"
    record(sandbox, name)
    mine = task(mongo)
    mine.remote["TaskId"] = TASK_ID
    mongo.cancel(mine)  # no error: deleted
    assert EXAMPLES[name]["cancelled"]
    assert sandbox.calls[("mongodb", "DeleteLogDownloadTask")] == 1
