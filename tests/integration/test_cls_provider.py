"""ClsProvider through the real tencentcloud-sdk-python-cls against the sandbox."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import requests

from shared.clock import to_iso, utcnow
from shared.config import TencentSettings
from shared.errors import ProviderError
from shared.model import ExportTask, TaskState
from shared.providers.base import RateLimiter, RemoteStatus
from shared.providers.cls import ClsProvider


@pytest.fixture
def cls(sandbox: Any) -> ClsProvider:
    secret_id, secret_key = sandbox.credentials
    return ClsProvider(TencentSettings(secret_id, secret_key, endpoint=sandbox.url),
                       limiter=RateLimiter(rate=1000))


def submitted(cls: ClsProvider, topic: str = "topic-a") -> ExportTask:
    now = int(time.time() * 1000)
    task = ExportTask(provider="cls", params=cls.validate(
        {"TopicId": topic, "From": now - 60_000, "To": now}))
    task.remote.update(cls.create(task).remote)
    task.state = TaskState.SUBMITTED
    return task


def test_create_then_poll_until_completed(cls: ClsProvider, sandbox: Any) -> None:
    task = submitted(cls)
    first = cls.poll([task])[task.id]
    assert isinstance(first, type(first)) and first.status is RemoteStatus.PENDING
    sandbox.clock.advance(60)
    done = cls.poll([task])[task.id]
    assert not isinstance(done, ProviderError)
    assert done.status is RemoteStatus.READY
    body = requests.get(done.result["url"], timeout=5).content
    assert len(body) == done.result["size"] > 0


def test_one_listing_settles_every_export_of_a_topic(cls: ClsProvider, sandbox: Any) -> None:
    tasks = [submitted(cls) for _ in range(5)]
    before = sandbox.calls.get(("cls", "DescribeExports"), 0)
    results = cls.poll(tasks)
    assert set(results) == {t.id for t in tasks}
    assert sandbox.calls[("cls", "DescribeExports")] - before == 1


def test_listing_pages_when_the_export_is_old(cls: ClsProvider, sandbox: Any) -> None:
    sandbox.rate_limit = 10_000  # creating 121 exports quickly is set-up, not the subject
    oldest = submitted(cls, "topic-busy")
    for _ in range(120):  # newer exports push the oldest onto the second page
        submitted(cls, "topic-busy")
    before = sandbox.calls.get(("cls", "DescribeExports"), 0)
    results = cls.poll([oldest])
    assert not isinstance(results[oldest.id], ProviderError)
    assert sandbox.calls[("cls", "DescribeExports")] - before == 2


def test_failed_export_is_reported(cls: ClsProvider, sandbox: Any) -> None:
    sandbox.fail_exports("topic-bad")
    task = submitted(cls, "topic-bad")
    sandbox.clock.advance(60)
    outcome = cls.poll([task])[task.id]
    assert not isinstance(outcome, ProviderError)
    assert outcome.status is RemoteStatus.FAILED


@pytest.mark.parametrize(("kind", "extra", "code"), [
    ("error", {"code": "InternalError"}, "InternalError"),
    ("error", {"code": "RequestLimitExceeded"}, "RequestLimitExceeded"),
    ("drop", {}, "ClientNetworkError"),
    ("http_status", {"status": 502}, "ServerNetworkError"),
], ids=["internal", "throttled", "dropped", "bad-gateway"])
def test_transient_failures_are_retryable(cls: ClsProvider, sandbox: Any, kind: str,
                                          extra: dict[str, Any], code: str) -> None:
    task = submitted(cls)
    sandbox.faults.add(service="cls", action="DescribeExports", kind=kind, times=1, **extra)
    with pytest.raises(ProviderError) as err:
        cls.poll([task])
    assert err.value.retryable
    assert err.value.code == code
    assert not isinstance(cls.poll([task])[task.id], ProviderError)  # the next try succeeds


def test_wrong_key_is_permanent(sandbox: Any) -> None:
    secret_id, _ = sandbox.credentials
    bad = ClsProvider(TencentSettings(secret_id, "not-the-key", endpoint=sandbox.url))
    now = int(time.time() * 1000)
    task = ExportTask(provider="cls", params=bad.validate(
        {"TopicId": "topic-a", "From": now - 1000, "To": now}))
    with pytest.raises(ProviderError) as err:
        bad.create(task)
    assert err.value.code.startswith("AuthFailure")
    assert not err.value.retryable
    assert "not-the-key" not in str(err.value)


def test_lapsed_url_is_read_again(cls: ClsProvider, sandbox: Any) -> None:
    task = submitted(cls)
    sandbox.clock.advance(60)
    ready = cls.poll([task])[task.id]
    assert not isinstance(ready, ProviderError)
    task.result.update(ready.result)
    assert cls.result(task).url == ready.result["url"]  # still fresh: no call
    sandbox.clock.advance(2 * 3600)
    assert requests.get(ready.result["url"], timeout=5).status_code == 403
    task.result["url_expires_at"] = to_iso(utcnow() - timedelta(minutes=1))
    before = sandbox.calls[("cls", "DescribeExports")]
    fresh = cls.result(task)
    assert sandbox.calls[("cls", "DescribeExports")] == before + 1
    assert requests.get(fresh.url, timeout=5).status_code == 200


def test_cancel_deletes_and_tolerates_a_missing_export(cls: ClsProvider, sandbox: Any) -> None:
    task = submitted(cls)
    cls.cancel(task)
    cls.cancel(task)  # already gone: not an error
    assert sandbox.calls[("cls", "DeleteExport")] == 2
