"""The providers against the emulators answering in the shapes the vendors' published
examples show (issue 24): CLS ids listed as ``export-<id>`` without ``CreateTimestamp``,
DLC ``CreateTime`` in epoch milliseconds and ``SQL`` in base64, MongoDB listings selected
by the log time range, TCSS jobs named by TCSS in no documented order."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest

from sandbox.params import Params
from shared.clock import utcnow
from shared.errors import ProviderError
from shared.model import ExportTask
from shared.pacing import RateLimiter
from shared.providers.base import RemoteStatus
from shared.providers.cls import ClsProvider
from shared.providers.dlc import DlcProvider
from shared.providers.mongodb import TIME_FORMAT, MongodbProvider
from shared.providers.tcss import TcssProvider
from shared.vendor_settings import TencentSettings
from tests.integration.providers.drive import step, submit


def build(cls: Any, tencent: TencentSettings) -> Any:
    return cls(tencent, limiter=RateLimiter(rate=1000))


def finish(sb: Any) -> None:
    sb.clock.advance(sb.queue_s + sb.process_s + 1)


# -- CLS (N7) -------------------------------------------------------------------------------

@pytest.fixture
def cls_as_documented(sb: Any) -> None:
    sb.cls.listed_prefix = "export-"  # DescribeExports example: export-57196a6a-…
    sb.cls.create_timestamp = False  # … and no CreateTimestamp


def cls_params() -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {"TopicId": "topic-doc", "From": now - 60_000, "To": now, "Count": 1000}


def test_cls_export_listed_with_the_prefix_is_found(sb: Any, tencent: TencentSettings,
                                                    cls_as_documented: None) -> None:
    cls = build(ClsProvider, tencent)
    task = submit(cls, cls_params())
    assert not task.remote["ExportId"].startswith("export-")  # CreateExport's bare id
    finish(sb)
    outcome = step(cls, task)
    assert outcome.status is RemoteStatus.READY and outcome.result["url"]
    cls.cancel(task)  # DeleteExport takes the bare id
    assert sb.cls.exports == {}


def test_cls_lost_create_is_adopted_without_create_timestamp(
        sb: Any, tencent: TencentSettings, cls_as_documented: None) -> None:
    cls = build(ClsProvider, tencent)
    task = ExportTask(provider="cls", params=cls.validate(cls_params()))
    sb.faults.add(service="cls", action="CreateExport", kind="lost_answer", times=1)
    sub = cls.create(task)  # the answer was lost: the listed export is taken over
    assert sub.remote["adopted"] and sub.remote["ExportId"].startswith("export-")
    assert sb.calls[("cls", "CreateExport")] == 1


# -- DLC (N4) -------------------------------------------------------------------------------

def test_dlc_lost_create_is_adopted_from_the_documented_listing(
        sb: Any, tencent: TencentSettings) -> None:
    dlc = build(DlcProvider, tencent)
    task = ExportTask(provider="dlc", params=dlc.validate(
        {"SQL": "SELECT * FROM sales.orders LIMIT 10", "DatabaseName": "sales"}))
    sb.faults.add(service="dlc", action="CreateTasks", kind="lost_answer", times=1)
    sub = dlc.create(task)  # CreateTime 1611646962000-style, SQL base64: still adopted
    assert sub.remote["adopted"] and sub.remote["TaskId"] in sb.dlc.tasks
    assert sb.calls[("dlc", "CreateTasks")] == 1  # the query is not run (billed) twice
    listed = dlc._describe([sub.remote["TaskId"]], {})[sub.remote["TaskId"]]
    assert listed["CreateTime"].isdigit() and listed["SQL"] != task.params["SQL"]


# -- MongoDB (N1) ---------------------------------------------------------------------------

def test_mongodb_logs_older_than_a_day_are_delivered(sb: Any,
                                                     tencent: TencentSettings) -> None:
    mongo = build(MongodbProvider, tencent)
    start = utcnow() - timedelta(days=30)
    task = submit(mongo, {"InstanceId": "cmgo-old123",
                          "StartTime": start.strftime(TIME_FORMAT),
                          "EndTime": (start + timedelta(hours=6)).strftime(TIME_FORMAT)})
    finish(sb)
    outcome = step(mongo, task)
    assert outcome.status is RemoteStatus.READY, outcome.reason
    assert outcome.result["url"]


def test_mongodb_listing_selects_by_log_range(sb: Any, tencent: TencentSettings) -> None:
    mongo = build(MongodbProvider, tencent)
    submit(mongo, {"InstanceId": "cmgo-rng123", "StartTime": "2024-03-07 9:22:15",
                   "EndTime": "2024-03-07 15:33:15"})

    def listed(start: str, end: str) -> int:
        page = mongo.api.call("DescribeLogDownloadTasks", {
            "InstanceId": "cmgo-rng123", "StartTime": start, "EndTime": end})
        return int(page["TotalCount"])

    assert listed("2024-03-07 09:22:15", "2024-03-07 15:33:15") == 1  # the example's ask
    assert listed("2024-03-08 00:00:00", "2024-03-09 00:00:00") == 0


# -- TCSS (N6) ------------------------------------------------------------------------------

def test_tcss_lost_create_with_another_new_job_is_refused(sb: Any,
                                                          tencent: TencentSettings) -> None:
    # GIVEN a listing oldest first, and a job someone else made after ours
    sb.tcss.list_order = "oldest"
    tcss = build(TcssProvider, tencent)
    task = ExportTask(provider="tcss", params=tcss.validate({"Action": "CreateHostExportJob"}))
    task.remote.update(tcss.prepare(task))
    sb.faults.add(service="tcss", action="CreateHostExportJob", kind="lost_answer", times=1)
    sb.faults.add(service="tcss", action="DescribeExportJobManageList", kind="drop", times=1)
    with pytest.raises(ProviderError) as err:
        tcss.create(task)
    task.error = {"code": err.value.code, "retryable": err.value.retryable}
    sb.tcss.create("CreateImageExportJob", Params({}))
    # WHEN the create is tried again THEN neither job is taken, none is made again
    with pytest.raises(ProviderError) as err:
        tcss.create(task)
    assert err.value.code == "TcssJobAmbiguous" and not err.value.retryable
    assert "2 new jobs" in err.value.detail
    assert sb.calls[("tcss", "CreateHostExportJob")] == 1


def test_tcss_lost_create_is_adopted_whatever_the_order(sb: Any,
                                                        tencent: TencentSettings) -> None:
    sb.tcss.list_order = "oldest"
    tcss = build(TcssProvider, tencent)
    sb.tcss.create("CreateImageExportJob", Params({}))  # older, listed first
    task = ExportTask(provider="tcss", params=tcss.validate({"Action": "CreateHostExportJob"}))
    task.remote.update(tcss.prepare(task))
    sb.faults.add(service="tcss", action="CreateHostExportJob", kind="lost_answer", times=1)
    sub = tcss.create(task)
    made = [j for j in sb.tcss.jobs.values() if j.owner == "CreateHostExportJob"]
    assert sub.remote == {"JobId": made[0].job_id, "adopted": True}
    assert made[0].name.startswith("Host-")  # named by TCSS, not after the action
