"""ClsProvider through the real tencentcloud-sdk-python-cls against the sandbox: the
provider contract (:mod:`tests.integration.providers.contract`) and what is CLS's own."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import requests

from shared.clock import to_iso, utcnow
from shared.errors import ProviderError
from shared.model import ExportTask
from shared.pacing import RateLimiter
from shared.providers.base import RemoteStatus
from shared.providers.cls import ClsProvider
from shared.vendor_settings import TencentSettings
from tests.integration.providers.contract import ProviderContract
from tests.integration.providers.drive import submit
from tests.unit.providers.test_cls import BAD, GOOD


@pytest.fixture
def cls(sandbox: Any) -> ClsProvider:
    secret_id, secret_key = sandbox.credentials
    return ClsProvider(TencentSettings(secret_id, secret_key, endpoint=sandbox.url),
                       limiter=RateLimiter(rate=1000))


def submitted(cls: ClsProvider, topic: str = "topic-a") -> ExportTask:
    now = int(time.time() * 1000)
    return submit(cls, {"TopicId": topic, "From": now - 60_000, "To": now})


class TestClsContract(ProviderContract):
    service = "cls"
    status_action = "DescribeExports"
    cancel_action = "DeleteExport"
    params = GOOD
    bad_params = [(params, field) for _, params, field in BAD]

    @pytest.fixture
    def provider(self, cls: ClsProvider) -> ClsProvider:
        return cls

    def forget(self, task: ExportTask) -> None:
        task.remote["ExportId"] = "export-never-made"


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


# ---------------------------------------------------------------- creates left in doubt
def new_task(cls: ClsProvider, topic: str, **params: Any) -> ExportTask:
    now = int(time.time() * 1000)
    return ExportTask(provider="cls", params=cls.validate(
        {"TopicId": topic, "From": now - 60_000, "To": now, **params}))


def listed(cls: ClsProvider, topic: str) -> list[str]:
    page = cls.api.call("DescribeExports", {"TopicId": topic, "Offset": 0, "Limit": 100})
    return [info["ExportId"] for info in page.get("Exports") or []]


def test_a_create_whose_answer_was_lost_is_not_made_twice(cls: ClsProvider,
                                                           sandbox: Any) -> None:
    task = new_task(cls, "topic-lost")
    sandbox.faults.add(service="cls", action="CreateExport", kind="lost_answer", times=1)
    sub = cls.create(task)  # the export was made, the answer never came: it is found
    assert listed(cls, "topic-lost") == [sub.remote["ExportId"]]
    assert sandbox.calls[("cls", "CreateExport")] == 1


def test_a_create_left_in_doubt_is_looked_for_before_the_retry(cls: ClsProvider,
                                                               sandbox: Any) -> None:
    task = new_task(cls, "topic-doubt")
    sandbox.faults.add(service="cls", action="CreateExport", kind="lost_answer", times=1)
    sandbox.faults.add(service="cls", action="DescribeExports", kind="drop", times=1)
    with pytest.raises(ProviderError) as err:  # and the search right after fails too
        cls.create(task)
    assert err.value.code == "ClientNetworkError" and err.value.retryable
    task.error = {"code": err.value.code, "retryable": True}  # as exports.submit keeps it
    sub = cls.create(task)
    assert listed(cls, "topic-doubt") == [sub.remote["ExportId"]]
    assert sandbox.calls[("cls", "CreateExport")] == 1


def test_only_an_export_with_the_same_parameters_is_taken(cls: ClsProvider,
                                                          sandbox: Any) -> None:
    other = cls.create(new_task(cls, "topic-mix", Query="level:ERROR")).remote["ExportId"]
    task = new_task(cls, "topic-mix")
    sandbox.faults.add(service="cls", action="CreateExport", kind="drop", times=1)
    with pytest.raises(ProviderError):  # dropped before it was handled: nothing was made
        cls.create(task)
    task.error = {"code": "ClientNetworkError", "retryable": True}
    mine = cls.create(task).remote["ExportId"]
    assert mine != other and sorted(listed(cls, "topic-mix")) == sorted([mine, other])


def test_an_export_older_than_the_task_is_not_taken(cls: ClsProvider, sandbox: Any) -> None:
    older = cls.create(new_task(cls, "topic-old")).remote["ExportId"]
    task = new_task(cls, "topic-old")  # the very same parameters, accepted much later
    task.created_at = utcnow() + timedelta(minutes=30)
    task.error = {"code": "InternalError", "retryable": True}
    mine = cls.create(task).remote["ExportId"]
    assert mine != older and len(listed(cls, "topic-old")) == 2


def test_a_clear_refusal_does_not_search(cls: ClsProvider, sandbox: Any) -> None:
    task = new_task(cls, "topic-full")
    sandbox.faults.add(service="cls", action="CreateExport", kind="error",
                       code="LimitExceeded.Export", times=1)
    before = sandbox.calls.get(("cls", "DescribeExports"), 0)
    with pytest.raises(ProviderError) as err:
        cls.create(task)
    assert err.value.code == "LimitExceeded.Export"
    assert sandbox.calls.get(("cls", "DescribeExports"), 0) == before
