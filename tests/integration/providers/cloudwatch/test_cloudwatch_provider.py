"""The cloudwatch provider through boto3 against moto (behind the fault gateway)."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
import requests

from shared.errors import ProviderError
from shared.model import ExportTask, S3ObjectSource, SourceSet, TaskState
from shared.providers.base import CREATE_DOUBT, RemoteStatus
from tests.integration.providers.cloudwatch.conftest import add_logs


def submitted(provider: Any, params: dict[str, Any]) -> ExportTask:
    task = ExportTask(provider="cloudwatch", params=provider.validate(params))
    task.remote.update(provider.create(task).remote)
    task.state = TaskState.SUBMITTED
    return task


def test_one_group_is_exported_as_one_object_per_stream(provider: Any, moto: Any) -> None:
    start, end = add_logs(moto.url, "app", {"web-1": ["a", "b"], "web-2": ["c"]})
    task = submitted(provider, {"logGroupName": "app", "from": start, "to": end})

    outcome = provider.poll([task])[task.id]

    assert outcome.status is RemoteStatus.READY
    files = provider.result(task)
    assert isinstance(files, SourceSet) and len(files.items) == 2
    assert all(isinstance(s, S3ObjectSource) and s.bucket == "cw-staging" for s in files.items)
    bodies = [gzip.decompress(requests.get(s.url, timeout=10).content) for s in files.items]
    assert sorted(b.decode().count("\n") + 1 for b in bodies) == [1, 2]
    assert all(s.file_name and s.file_name.startswith("000-app/") for s in files.items)
    assert "url" not in repr(files.items[0]) and "Signature" not in repr(files.items[0])


def test_a_prefix_runs_one_task_per_group_in_turn(provider: Any, moto: Any,
                                                   gateway: Any) -> None:
    start, end = add_logs(moto.url, "svc/a", {"s": ["1"]})
    add_logs(moto.url, "svc/b", {"s": ["2"]})
    add_logs(moto.url, "other", {"s": ["3"]})
    task = submitted(provider, {"logGroupNamePrefix": "svc/", "from": start, "to": end})
    assert task.remote["groups"] == ["svc/a", "svc/b"]

    first = provider.poll([task])[task.id]
    assert first.status is RemoteStatus.PENDING and first.stage == "group 2 of 2"
    assert first.resubmit and first.remote == {"index": 1}  # the next create is submit's
    task.remote.update(first.remote)
    made = provider.create(task)
    assert made.stage == "group 2 of 2" and made.claims == (made.remote["taskIds"][1],)
    task.remote.update(made.remote)
    second = provider.poll([task])[task.id]

    assert second.status is RemoteStatus.READY
    assert gateway.calls["CreateExportTask"] == 2
    names = sorted(s.file_name for s in provider.result(task).items)
    assert names[0].startswith("000-svc-a/") and names[1].startswith("001-svc-b/")


def test_several_exports_are_settled_by_the_active_listing(provider: Any, moto: Any,
                                                             gateway: Any) -> None:
    start, end = add_logs(moto.url, "app", {"s": ["x"]})
    tasks = [submitted(provider, {"logGroupName": "app", "from": start, "to": end})
             for _ in range(3)]
    gateway.calls.clear()

    results = provider.poll(tasks)

    assert {r.status for r in results.values()} == {RemoteStatus.READY}
    # PENDING and RUNNING listings, then each finished task once by its id
    assert gateway.calls["DescribeExportTasks"] == 2 + 3


def test_a_running_task_is_pending_and_a_second_create_is_refused(moto: Any, aws: Any) -> None:
    from sandbox.aws_gateway import AwsGateway
    from shared.providers.cloudwatch import CloudwatchProvider
    from shared.vendor_settings import AwsSettings

    start, end = add_logs(moto.url, "app", {"s": ["x"]})
    with AwsGateway(moto.url, run_s=30) as slow:
        settings = AwsSettings(**{**vars(aws), "endpoint": slow.url})
        provider = CloudwatchProvider(settings)
        task = submitted(provider, {"logGroupName": "app", "from": start, "to": end})
        assert provider.poll([task])[task.id].status is RemoteStatus.PENDING
        with pytest.raises(ProviderError) as refused:
            submitted(provider, {"logGroupName": "app", "from": start, "to": end})
    assert refused.value.code == "LimitExceededException"
    assert refused.value.retryable and refused.value.retry_after


def test_an_unanswered_create_is_found_by_its_task_name(provider: Any, moto: Any,
                                                        gateway: Any) -> None:
    start, end = add_logs(moto.url, "app", {"s": ["x"]})
    gateway.faults.add("logs", "CreateExportTask", kind="lost_answer")

    task = submitted(provider, {"logGroupName": "app", "from": start, "to": end})

    assert gateway.calls["CreateExportTask"] == 1  # adopted, not made twice
    assert task.remote["taskIds"]
    assert provider.poll([task])[task.id].status is RemoteStatus.READY


def test_a_create_cut_off_by_a_kill_is_found_by_its_task_name(provider: Any, moto: Any,
                                                              gateway: Any) -> None:
    # GIVEN an attempt that made the export task and died before storing its id
    start, end = add_logs(moto.url, "app", {"s": ["x"]})
    first = submitted(provider, {"logGroupName": "app", "from": start, "to": end})
    # WHEN the next attempt runs, knowing only that the one before was cut off (as
    # exports.submit marks it), after the first task has finished
    again = ExportTask(provider="cloudwatch", id=first.id, params=first.params,
                       remote={CREATE_DOUBT: True})
    made = provider.create(again)
    # THEN the first task is taken over, not a second one made
    assert gateway.calls["CreateExportTask"] == 1
    assert made.remote["taskIds"] == first.remote["taskIds"]


@pytest.mark.parametrize("code,retryable", [
    ("ThrottlingException", True), ("ServiceUnavailableException", True),
    ("InvalidParameterException", False), ("AccessDeniedException", False),
], ids=["throttled", "unavailable", "bad-parameter", "denied"])
def test_vendor_errors_are_classified(provider: Any, moto: Any, gateway: Any, code: str,
                                      retryable: bool) -> None:
    start, end = add_logs(moto.url, "app", {"s": ["x"]})
    task = submitted(provider, {"logGroupName": "app", "from": start, "to": end})
    gateway.faults.add("logs", "DescribeExportTasks", code=code)

    outcome = provider.poll([task])[task.id]

    assert isinstance(outcome, ProviderError)
    assert (outcome.code, outcome.retryable) == (code, retryable)


def test_a_missing_group_and_an_empty_prefix_are_permanent(provider: Any, moto: Any) -> None:
    with pytest.raises(ProviderError) as missing:
        submitted(provider, {"logGroupName": "nope", "from": 1_700_000_000_000,
                             "to": 1_700_000_100_000})
    with pytest.raises(ProviderError) as empty:
        submitted(provider, {"logGroupNamePrefix": "nope", "from": 1_700_000_000_000,
                             "to": 1_700_000_100_000})
    assert missing.value.code == "ResourceNotFoundException" and not missing.value.retryable
    assert empty.value.code == "NoLogGroup" and not empty.value.retryable


def test_cancel_asks_cloudwatch(provider: Any, moto: Any, gateway: Any) -> None:
    start, end = add_logs(moto.url, "app", {"s": ["x"]})
    task = submitted(provider, {"logGroupName": "app", "from": start, "to": end})

    provider.cancel(task)

    assert gateway.calls["CancelExportTask"] == 1
    outcome = provider.poll([task])[task.id]
    assert outcome.status is RemoteStatus.FAILED and "CANCELLED" in (outcome.reason or "")
