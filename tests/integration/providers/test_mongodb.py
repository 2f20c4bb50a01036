"""MongoDB log downloads through the real tencentcloud-sdk-python-mongodb against the sandbox:
the provider contract (:mod:`tests.integration.providers.contract`) and what is its own."""

from __future__ import annotations

import math
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import requests

from shared import exports
from shared.clock import to_iso, utcnow
from shared.errors import ProviderError
from shared.model import ExportTask
from shared.pacing import RateLimiter
from shared.providers.base import PollResult, RemoteStatus
from shared.providers.mongodb import URL_WAIT, MongodbProvider
from shared.vendor_settings import TencentSettings
from tests.integration.providers.contract import ProviderContract
from tests.integration.providers.drive import submit

WINDOW = {"StartTime": "2026-11-21 00:00:00", "EndTime": "2026-11-21 06:00:00"}


def settings(sandbox: Any) -> TencentSettings:
    secret_id, secret_key = sandbox.credentials
    return TencentSettings(secret_id, secret_key, endpoint=sandbox.url)


@pytest.fixture
def mongo(sandbox: Any) -> MongodbProvider:
    return MongodbProvider(settings(sandbox), limiter=RateLimiter(rate=1000))


def mongo_task(mongo: MongodbProvider, instance: str = "cmgo-abc123") -> ExportTask:
    return submit(mongo, {"InstanceId": instance, **WINDOW})


class TestMongodbContract(ProviderContract):
    service = "mongodb"
    status_action = "DescribeLogDownloadTasks"
    cancel_action = "DeleteLogDownloadTask"
    params = {"InstanceId": "cmgo-abc123", **WINDOW}
    bad_params = [
        ({"InstanceId": "cmgo-abc123", "StartTime": "2026/11/21 00:00",
          "EndTime": "2026-11-21 06:00:00"}, "params.StartTime"),
        ({"InstanceId": "cmgo-abc123", "StartTime": "2026-11-21 06:00:00",
          "EndTime": "2026-11-21 00:00:00"}, "params.StartTime"),
        ({"InstanceId": "mysql-1", **WINDOW}, "params.InstanceId"),
        ({"InstanceId": "cmgo-abc123", **WINDOW, "LogLevels": "ERROR"}, "params.LogLevels"),
    ]

    @pytest.fixture
    def provider(self, mongo: MongodbProvider) -> MongodbProvider:
        return mongo

    def forget(self, task: ExportTask) -> None:
        task.remote["TaskId"] = "task-never-made"


def test_mongodb_exports_created_together_get_distinct_tasks(bundle: Any, sandbox: Any) -> None:
    # GIVEN six exports of one instance created at the same moment by six invocations
    sandbox.rate_limit = 1000
    body = {"provider": "mongodb", "params": {"InstanceId": "cmgo-race01", **WINDOW}}
    barrier = threading.Barrier(6)
    ids: list[str] = []

    def create() -> None:
        barrier.wait()
        ids.append(exports.accept(bundle.store(), bundle.providers, dict(body)).task.id)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # WHEN the timer submits the ones that found the instance's create lock taken
    store = bundle.store()
    for _ in range(10):
        if all(store.get_task(i).remote.get("TaskId") for i in ids):
            break
        bundle.poller.tick(deadline=time.monotonic() + 10, owner="t",
                           now=utcnow() + timedelta(seconds=30))
    # THEN each export holds its own vendor task: no task attached to two exports
    task_ids = [store.get_task(i).remote.get("TaskId") for i in ids]
    assert all(task_ids)
    assert len(set(task_ids)) == 6
    assert sandbox.calls[("mongodb", "CreateLogDownloadTask")] == 6


def test_mongodb_failed_task(mongo: MongodbProvider, sandbox: Any) -> None:
    sandbox.fail_log_downloads("cmgo-broken1")
    task = mongo_task(mongo, "cmgo-broken1")
    sandbox.clock.advance(60)
    outcome = mongo.poll([task])[task.id]
    assert not isinstance(outcome, ProviderError)
    assert outcome.status is RemoteStatus.FAILED


@pytest.mark.parametrize("lag", [120.0, math.inf], ids=["url-comes-later", "url-never-comes"])
def test_mongodb_finished_task_without_url_is_read_again(mongo: MongodbProvider,
                                                         sandbox: Any, lag: float) -> None:
    # GIVEN a finished task listed with Url "" (as in the documented answer)
    sandbox.mongodb.url_lag_s = lag
    task = mongo_task(mongo)
    sandbox.clock.advance(60)
    waiting = mongo.poll([task])[task.id]
    assert isinstance(waiting, PollResult) and waiting.status is RemoteStatus.PENDING
    assert waiting.stage == "waiting-for-url" and waiting.next_poll_s
    task.remote.update(waiting.remote)
    if lag == 120.0:
        # WHEN the listing fills the URL in THEN the export is ready with it
        sandbox.clock.advance(200)
        ready = mongo.poll([task])[task.id]
        assert isinstance(ready, PollResult) and ready.status is RemoteStatus.READY
        assert requests.get(ready.result["url"], timeout=5).status_code == 200
        return
    # WHEN it stays empty past the bound THEN the export fails, saying why
    since = utcnow() - URL_WAIT - timedelta(seconds=1)
    task.remote["url_missing_since"] = to_iso(since)
    failed = mongo.poll([task])[task.id]
    assert isinstance(failed, PollResult) and failed.status is RemoteStatus.FAILED
    assert "Url stayed empty" in (failed.reason or "")
