"""TCSS: the published export-job create, DescribeExportJobResult,
DescribeExportJobManageList and DescribeExportJobDownloadURL answers, through
tencentcloud-sdk-python-tcss, to :class:`TcssProvider`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.clock import to_iso
from shared.errors import ProviderError
from shared.model import ExportTask, UrlSource
from shared.pacing import RateLimiter
from shared.providers.base import CREATE_DOUBT, RemoteStatus
from shared.providers.tcss import TcssProvider
from shared.vendor_settings import TencentSettings
from tests.vendor_examples.support import example, record

LISTED = "dc56fda9-58c8-4c4f-9e8c-b7296836c1fe"  # the job the listing example shows
EXAMPLES: dict[str, dict[str, Any]] = {
    "tencent-CreateExportComplianceStatusListJob-1.json": {
        "JobId": "e4409223-8e92-45db-a857-11b1ff547c79"},
    "tencent-CreateHostExportJob-1.json": {"JobId": "73805b97-0e40-4249-8fe5-f1e38de1c28a"},
    "tencent-CreateImageExportJob-1.json": {"JobId": "jobid-dafdhj"},
    "tencent-DescribeExportJobResult-1.json": {
        "status": RemoteStatus.READY, "url": "https://yunjing.cos.ap-guangzhou.myqcloud.com",
        "file_name": "CreateHostExportJob-e4409223-8e92-45db-a857-11b1ff547c79"},
    # the job is read as running; after a lost create it is the one new job: adopted,
    # though it is named LocalImage-…, not after the action
    "tencent-DescribeExportJobManageList-1.json": {
        "status": RemoteStatus.PENDING, "stage": "running", "progress": 0,
        "adopted": LISTED},
    "tencent-DescribeExportJobDownloadURL-1.json": {
        "url": "http://1.2.3.4/result.csv", "file_name": "result.csv"},
}
CREATES = [n for n in EXAMPLES if n.split("-")[1].startswith("Create")]


@pytest.fixture
def tcss(tencent: TencentSettings, limiter: RateLimiter) -> TcssProvider:
    return TcssProvider(tencent, limiter=limiter)


def job(tcss: TcssProvider, action: str, job_id: str | None = None) -> ExportTask:
    task = ExportTask(provider="tcss", params=tcss.validate({"Action": action}))
    if job_id:
        task.remote["JobId"] = job_id
    return task


@pytest.mark.parametrize("name", CREATES)
def test_create_export_job(tcss: TcssProvider, sandbox: Any, name: str) -> None:
    action = name.split("-")[1]
    record(sandbox, name)
    request = example(name)["_request"]
    params = json.loads(request.split("\n\n", 1)[1])
    task = ExportTask(provider="tcss", params=tcss.validate({"Action": action,
                                                             "Params": params}))
    task.remote.update(tcss.prepare(task))
    assert tcss.create(task).remote["JobId"] == EXAMPLES[name]["JobId"]


def test_describe_export_job_result(tcss: TcssProvider, sandbox: Any) -> None:
    # GIVEN a job the listing does not show: it is asked for on its own
    name = "tencent-DescribeExportJobResult-1.json"
    record(sandbox, name)
    task = job(tcss, "CreateHostExportJob", "e4409223-8e92-45db-a857-11b1ff547c79")
    outcome = tcss.poll([task])[task.id]
    want = EXAMPLES[name]
    assert not isinstance(outcome, ProviderError), outcome
    assert outcome.status is want["status"]
    assert (outcome.result["url"], outcome.result["file_name"]) == (want["url"],
                                                                     want["file_name"])


def test_describe_export_job_manage_list(tcss: TcssProvider, sandbox: Any) -> None:
    name = "tencent-DescribeExportJobManageList-1.json"
    record(sandbox, name)
    want = EXAMPLES[name]
    task = job(tcss, "CreateImageExportJob", LISTED)
    outcome = tcss.poll([task])[task.id]
    assert not isinstance(outcome, ProviderError), outcome
    assert (outcome.status, outcome.stage, outcome.progress) == (
        want["status"], want["stage"], want["progress"])
    # a create of the same kind left in doubt, made just before the listed InsertTime
    lost = job(tcss, "CreateImageExportJob")
    asked = datetime(2024, 10, 30, 10, 47, 50, tzinfo=timezone(timedelta(hours=8)))
    lost.remote = {"jobs_before": [], "asked_at": to_iso(asked), CREATE_DOUBT: True}
    assert tcss.create(lost).remote == {"JobId": want["adopted"], "adopted": True}
    assert sandbox.calls.get(("tcss", "CreateImageExportJob"), 0) == 0


def test_describe_export_job_download_url(tcss: TcssProvider, sandbox: Any) -> None:
    name = "tencent-DescribeExportJobDownloadURL-1.json"
    record(sandbox, name)
    source = tcss.result(job(tcss, "CreateHostExportJob", "15cf63db-11a9-4885-b1a3-211dd54b83b7"))
    want = EXAMPLES[name]
    assert isinstance(source, UrlSource)
    assert (source.url, source.file_name) == (want["url"], want["file_name"])
