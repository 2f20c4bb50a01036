"""DLC: the published CreateTasks, DescribeTasks, CreateResultDownload,
DescribeResultDownload and CancelTask answers, through tencentcloud-sdk-python-dlc, to
:class:`DlcProvider`."""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import pytest

from shared.clock import to_iso, utcnow
from shared.errors import ProviderError
from shared.model import CosObjectSource, ExportTask
from shared.pacing import RateLimiter
from shared.providers.base import RemoteStatus
from shared.providers.dlc import STAGE_DOWNLOAD, STAGE_SQL, DlcProvider
from shared.vendor_settings import TencentSettings
from tests.vendor_examples.support import example, record

EXAMPLES: dict[str, dict[str, Any]] = {
    "tencent-CreateTasks-1.json": {"TaskId": "e9663251-3a14-423a-b003-13c77c3fae11",
                                   "stage": STAGE_SQL},
    # an empty listing: the task is gone, said so, and may be made again
    "tencent-DescribeTasks-1.json": {"status": RemoteStatus.FAILED, "retryable": True,
                                     "reason": "DLC no longer lists task"},
    "tencent-CreateResultDownload-1.json": {
        "stage": STAGE_DOWNLOAD, "DownloadId": "********-****-****-****-e2b74f9da97c"},
    "tencent-DescribeResultDownload-1.json": {
        # the example names the bucket without its -<appid>: completed with the account's
        # TENCENTCLOUD_APPID; without it the export stops naming that setting
        "status": RemoteStatus.READY, "file_name": "download-daace.csv",
        "bucket": "geoli-test-1300000000", "without_appid": "TENCENTCLOUD_APPID",
        "key": "dlc/DLCQueryResults/2024/12/29/*/*/download/download-daace.csv"},
    "tencent-CancelTask-1.json": {"cancelled": True},
}


@pytest.fixture
def dlc(tencent: TencentSettings, limiter: RateLimiter) -> DlcProvider:
    return DlcProvider(tencent, limiter=limiter)


def sql_task(task_id: str | None = None) -> ExportTask:
    """An export of the CreateTasks example's request."""
    request = example("tencent-CreateTasks-1.json")["_request"]
    encoded = request.split('"SQL": "', 1)[1].split('"', 1)[0]
    task = ExportTask(provider="dlc", params={
        "SQL": base64.b64decode(encoded).decode("utf-8"), "DatabaseName": "testdb",
        "DatasourceConnectionName": "DataLakeCatalog", "Format": "csv"})
    if task_id:
        task.remote = {"TaskId": task_id, "own_task": True, "created": to_iso(utcnow())}
        task.stage = STAGE_SQL
    return task


def test_create_tasks(dlc: DlcProvider, sandbox: Any) -> None:
    name = "tencent-CreateTasks-1.json"
    record(sandbox, name)
    sub = dlc.create(sql_task())
    want = EXAMPLES[name]
    assert (sub.remote["TaskId"], sub.stage) == (want["TaskId"], want["stage"])


def test_describe_tasks_without_the_task(dlc: DlcProvider, sandbox: Any) -> None:
    name = "tencent-DescribeTasks-1.json"
    record(sandbox, name)
    task = sql_task("e9663251-3a14-423a-b003-13c77c3fae11")
    outcome = dlc.poll([task])[task.id]
    want = EXAMPLES[name]
    assert not isinstance(outcome, ProviderError), outcome
    assert (outcome.status, outcome.retryable) == (want["status"], want["retryable"])
    assert want["reason"] in str(outcome.reason)


def test_create_result_download(dlc: DlcProvider, sandbox: Any) -> None:
    # GIVEN a query DLC reports finished (the emulator's own task)
    task = sql_task(sandbox.dlc.add_task("SELECT 1", age_s=600))
    name = "tencent-CreateResultDownload-1.json"
    record(sandbox, name)
    # WHEN it is polled THEN its result download is the one the example names
    outcome = dlc.poll([task])[task.id]
    want = EXAMPLES[name]
    assert not isinstance(outcome, ProviderError), outcome
    assert outcome.status is RemoteStatus.PENDING and outcome.stage == want["stage"]
    assert outcome.remote["DownloadId"] == want["DownloadId"]


def download_task() -> ExportTask:
    task = sql_task("e9663251-3a14-423a-b003-13c77c3fae11")
    task.stage = STAGE_DOWNLOAD
    task.remote["DownloadId"] = "31f36df6-7510-4e3e-a467-c1d86494ad1d"
    return task


def test_describe_result_download(tencent: TencentSettings, limiter: RateLimiter,
                                  sandbox: Any) -> None:
    name = "tencent-DescribeResultDownload-1.json"
    record(sandbox, name)
    dlc = DlcProvider(replace(tencent, appid="1300000000"), limiter=limiter)
    task = download_task()
    outcome = dlc.poll([task])[task.id]
    want = EXAMPLES[name]
    assert not isinstance(outcome, ProviderError), outcome
    assert outcome.status is want["status"]
    assert outcome.result["file_name"] == want["file_name"]
    task.result.update(outcome.result)
    source = dlc.result(task)
    assert isinstance(source, CosObjectSource)
    assert (source.bucket, source.key) == (want["bucket"], want["key"])


def test_describe_result_download_without_the_appid_names_the_setting(
        dlc: DlcProvider, sandbox: Any) -> None:
    name = "tencent-DescribeResultDownload-1.json"
    record(sandbox, name)
    task = download_task()
    outcome = dlc.poll([task])[task.id]
    assert isinstance(outcome, ProviderError) and not outcome.retryable
    assert EXAMPLES[name]["without_appid"] in outcome.message


def test_cancel_task(dlc: DlcProvider, sandbox: Any) -> None:
    name = "tencent-CancelTask-1.json"
    record(sandbox, name)
    dlc.cancel(sql_task("4ad30ca9-8b0e-499f-b4e1-d6e43ba0e564"))  # no error: cancelled
    assert EXAMPLES[name]["cancelled"] and sandbox.calls[("dlc", "CancelTask")] == 1
