"""An answer that does not match the vendor's model (a state not documented, a wrong type)
is never taken for success: the export stays where it was, the stage says what was
unexpected, and the answer is logged (issue 24, item 3). The answers are the published
examples with one field changed, served through the sandbox's recorded answers."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from sandbox import Sandbox
from shared.errors import ProviderError
from shared.model import ExportTask
from shared.pacing import RateLimiter
from shared.providers.base import RemoteStatus
from shared.providers.cls import ClsProvider
from shared.providers.dlc import STAGE_SQL, DlcProvider
from shared.providers.mongodb import MongodbProvider
from shared.providers.tcss import TcssProvider
from shared.vendor_settings import TencentSettings
from tests.vendor_examples.support import answer


def serve(sb: Sandbox, action: str, response: dict[str, Any]) -> None:
    sb.recorded.add(action, response)


@pytest.mark.off_model("DescribeLogDownloadTasks: Response.Tasks[0].Status: a string")
@pytest.mark.parametrize("status", [9, "2", None], ids=["unknown", "string", "missing"])
def test_mongodb_unknown_status(sb: Sandbox, tencent: TencentSettings, status: Any,
                                caplog: pytest.LogCaptureFixture) -> None:
    listing = copy.deepcopy(answer("tencent-DescribeLogDownloadTasks-1.json"))
    listing["Tasks"][0].update(Status=status, Url="https://example.invalid/log?sign=s3cr3t")
    serve(sb, "DescribeLogDownloadTasks", listing)
    mongo = MongodbProvider(tencent, limiter=RateLimiter(rate=1000))
    task = ExportTask(provider="mongodb", params=mongo.validate({
        "InstanceId": "cmgo-k2p5su09", "StartTime": "2024-03-07 09:22:15",
        "EndTime": "2024-03-07 15:33:15"}))
    task.remote["TaskId"] = listing["Tasks"][0]["TaskId"]
    with caplog.at_level(logging.WARNING):
        outcome = mongo.poll([task])[task.id]
    assert not isinstance(outcome, ProviderError), outcome
    assert outcome.status is RemoteStatus.PENDING and not outcome.result
    assert outcome.stage.startswith("unexpected status") and repr(status) in str(outcome.reason)
    assert "unknown Status" in caplog.text and "s3cr3t" not in caplog.text


def test_tcss_unknown_export_status(sb: Sandbox, tencent: TencentSettings) -> None:
    listing = copy.deepcopy(answer("tencent-DescribeExportJobManageList-1.json"))
    listing["List"][0]["ExportStatus"] = "PAUSED"
    serve(sb, "DescribeExportJobManageList", listing)
    tcss = TcssProvider(tencent, limiter=RateLimiter(rate=1000))
    task = ExportTask(provider="tcss", params=tcss.validate({"Action": "CreateImageExportJob"}))
    task.remote["JobId"] = listing["List"][0]["JobID"]
    outcome = tcss.poll([task])[task.id]
    assert not isinstance(outcome, ProviderError), outcome
    assert outcome.status is RemoteStatus.PENDING and outcome.stage.startswith("unexpected status")
    assert "PAUSED" in str(outcome.reason)


@pytest.mark.off_model("DescribeTasks: Response.TaskList[0].State: a string")
@pytest.mark.parametrize("state", [7, "2", None], ids=["unknown", "string", "missing"])
def test_dlc_unknown_task_state(sb: Sandbox, tencent: TencentSettings, state: Any) -> None:
    listing = copy.deepcopy(answer("tencent-DescribeTasks-1.json"))
    listing["TaskList"] = [{"Id": "e9663251-3a14-423a-b003-13c77c3fae11", "State": state,
                            "CreateTime": "1611646962000"}]
    listing["TotalCount"] = 1
    serve(sb, "DescribeTasks", listing)
    dlc = DlcProvider(tencent, limiter=RateLimiter(rate=1000))
    task = ExportTask(provider="dlc", params=dlc.validate({"TaskId": listing["TaskList"][0]["Id"]}),
                      stage=STAGE_SQL)
    task.remote = {"TaskId": listing["TaskList"][0]["Id"], "own_task": False}
    outcome = dlc.poll([task])[task.id]
    assert not isinstance(outcome, ProviderError), outcome
    assert outcome.status is RemoteStatus.PENDING and outcome.stage == f"unexpected state {state!r}"
    assert "DownloadId" not in outcome.remote
    assert sb.calls.get(("dlc", "CreateResultDownload"), 0) == 0


def test_cls_unknown_export_status(sb: Sandbox, tencent: TencentSettings) -> None:
    listing = copy.deepcopy(answer("tencent-DescribeExports-1.json"))
    listing["Exports"][0]["Status"] = "Archiving"
    serve(sb, "DescribeExports", listing)
    cls = ClsProvider(tencent, limiter=RateLimiter(rate=1000))
    task = ExportTask(provider="cls", params={"TopicId": listing["Exports"][0]["TopicId"]})
    task.remote["ExportId"] = listing["Exports"][0]["ExportId"]
    outcome = cls.poll([task])[task.id]
    assert not isinstance(outcome, ProviderError), outcome
    assert outcome.status is RemoteStatus.PENDING and not outcome.result
    assert outcome.stage == "unexpected status 'Archiving'"


def test_dlc_unknown_download_status(sb: Sandbox, tencent: TencentSettings) -> None:
    download = copy.deepcopy(answer("tencent-DescribeResultDownload-1.json"))
    download["Status"] = "paused"
    serve(sb, "DescribeResultDownload", download)
    dlc = DlcProvider(tencent, limiter=RateLimiter(rate=1000))
    task = ExportTask(provider="dlc", params={"TaskId": "t-1"}, stage="download")
    task.remote = {"TaskId": "t-1", "own_task": False, "DownloadId": "d-1"}
    outcome = dlc.poll([task])[task.id]
    assert not isinstance(outcome, ProviderError), outcome
    assert outcome.status is RemoteStatus.PENDING and not outcome.result
    assert outcome.stage == "unexpected download status 'paused'"
