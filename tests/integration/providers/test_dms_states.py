"""The DMS ticket through the JobStatus values as the vendor documents them
(GetDataExportOrderDetail pages and the SDK model; see sandbox/SOURCES.md): submitted from
WAITING_APPLY_AUDIT, waiting for a person in APPLY_AUDIT_SUCCESS (or the older pages'
APPLY_AUDIT_SUCESS), executed only in ENABLE_EXPORT — and stopped at each step."""

from __future__ import annotations

import json
import logging

import pytest
import requests

from sandbox import Sandbox
from sandbox.dms_orders import AUDIT_SPELLINGS
from shared.errors import ProviderError
from shared.model import ExportTask
from shared.providers.base import PollResult, RemoteStatus
from shared.providers.dms import WAITING_REASON, DmsProvider
from tests.integration.providers.drive import step, submit

EXPORT = {"Tid": 1, "DbId": 1234, "InstanceId": 77, "ExeSQL": "SELECT * FROM orders",
          "Comment": "monthly"}


def seen(sb: Sandbox, task: ExportTask) -> str:
    """The JobStatus the emulator shows now."""
    order = sb.dms.orders[task.remote["OrderId"]]
    return sb.dms.job_status(order, sb.clock.now())


def to_be_submitted(dms: DmsProvider, sb: Sandbox) -> ExportTask:
    """A new ticket past its precheck, sitting in WAITING_APPLY_AUDIT, not looked at yet."""
    task = submit(dms, EXPORT)
    sb.clock.advance(5)
    assert seen(sb, task) == "WAITING_APPLY_AUDIT"
    return task


def calls(sb: Sandbox, action: str) -> int:
    return sb.calls.get(("dms", action), 0)


@pytest.mark.parametrize("spelling", AUDIT_SPELLINGS)
def test_round_trip_through_the_documented_states(dms: DmsProvider, sb: Sandbox,
                                                  spelling: str) -> None:
    # GIVEN the emulator spelling the waiting state one way or the other
    sb.dms.audit_spelling = spelling
    task = to_be_submitted(dms, sb)

    # WHEN the ticket is still to be submitted THEN Courier submits it, once
    submitted = step(dms, task)
    assert submitted.status is RemoteStatus.WAITING and calls(sb, "SubmitOrderApproval") == 1
    assert seen(sb, task) == spelling and task.remote["job_status"] == "WAITING_APPLY_AUDIT"

    # WHEN it waits for a person THEN nothing is executed, however long it takes
    sb.clock.advance(86_400)
    waiting = step(dms, task)
    assert waiting.status is RemoteStatus.WAITING and waiting.reason == WAITING_REASON
    assert task.remote["job_status"] == spelling
    assert calls(sb, "ExecuteDataExport") == 0 and calls(sb, "SubmitOrderApproval") == 1

    # WHEN the person approves THEN ENABLE_EXPORT leads to one ExecuteDataExport
    sb.dms.approve(task.remote["OrderId"])
    assert seen(sb, task) == "ENABLE_EXPORT"
    assert step(dms, task).status is RemoteStatus.PENDING and task.stage == "exporting"
    assert step(dms, task).status is RemoteStatus.PENDING
    assert calls(sb, "ExecuteDataExport") == 1

    # WHEN the export is done THEN the file is downloaded
    sb.clock.advance(5)
    ready = step(dms, task)
    assert ready.status is RemoteStatus.READY and task.remote["job_status"] == "EXPORT_SUCCESS"
    body = requests.get(dms.result(task).url, timeout=5)
    assert body.status_code == 200 and body.content


def test_precheck_success_is_submitted_too(dms: DmsProvider, sb: Sandbox) -> None:
    task = submit(dms, EXPORT)
    sb.clock.advance(1.5)  # past the precheck, not yet WAITING_APPLY_AUDIT
    assert seen(sb, task) == "PRE_CHECK_SUCCESS"
    assert step(dms, task).status is RemoteStatus.WAITING
    assert calls(sb, "SubmitOrderApproval") == 1


def test_executing_before_approval_is_refused_by_the_emulator(dms: DmsProvider,
                                                              sb: Sandbox) -> None:
    task = to_be_submitted(dms, sb)
    step(dms, task)
    with pytest.raises(Exception, match="InvalidStatus"):
        dms.api.call("ExecuteDataExport", {"Tid": 1, "OrderId": task.remote["OrderId"],
                                           "ActionDetail": {"fileType": "CSV"}})


def failed(outcome: PollResult, words: str) -> bool:
    return (outcome.status is RemoteStatus.FAILED and not outcome.retryable
            and words in (outcome.reason or ""))


def test_stopped_at_the_precheck(dms: DmsProvider, sb: Sandbox) -> None:
    task = submit(dms, {**EXPORT, "ExeSQL": "SELECT sandbox_fail FROM t"})
    sb.clock.advance(5)
    assert failed(step(dms, task), "pre-check")
    assert calls(sb, "SubmitOrderApproval") == 0


def test_closed_before_it_was_submitted(dms: DmsProvider, sb: Sandbox) -> None:
    task = to_be_submitted(dms, sb)
    dms.api.call("CloseOrder", {"Tid": 1, "OrderId": task.remote["OrderId"],
                                "CloseReason": "not needed"})  # by a person
    assert failed(step(dms, task), "closed")  # the submit is refused; the reason is told


def test_close_without_a_reason_is_refused_as_dms_does(dms: DmsProvider,
                                                       sb: Sandbox) -> None:
    # CloseReason is required (SDK CloseOrderRequest); the gateway refuses without it
    task = to_be_submitted(dms, sb)
    with pytest.raises(ProviderError) as err:
        dms.api.call("CloseOrder", {"Tid": 1, "OrderId": task.remote["OrderId"]})
    assert err.value.code == "MissingParameter" and "CloseReason" in err.value.detail
    assert sb.dms.orders[task.remote["OrderId"]].closed_at is None


def test_the_detail_shows_the_classify_sent_not_the_comment(dms: DmsProvider,
                                                           sb: Sandbox) -> None:
    task = submit(dms, EXPORT)
    detail = dms.api.call("GetDataExportOrderDetail", {"Tid": 1,
                                                      "OrderId": task.remote["OrderId"]})
    sent = sb.made[-1][2]["PluginParam"]
    assert detail["DataExportOrderDetail"]["OrderDetail"]["Classify"] == \
        json.loads(sent)["Classify"] == "monthly"


def test_rejected_by_the_approver(dms: DmsProvider, sb: Sandbox) -> None:
    task = to_be_submitted(dms, sb)
    step(dms, task)
    sb.dms.reject(task.remote["OrderId"])
    assert failed(step(dms, task), "rejected")
    assert calls(sb, "ExecuteDataExport") == 0


def test_stopped_in_the_export(dms: DmsProvider, sb: Sandbox) -> None:
    sb.dms.auto_approve = True
    sb.dms.failing_exports = 1
    task = to_be_submitted(dms, sb)
    step(dms, task)
    step(dms, task)  # ENABLE_EXPORT → executed
    sb.clock.advance(5)
    assert failed(step(dms, task), "export")
    assert calls(sb, "GetDataExportDownloadURL") == 0


@pytest.mark.parametrize("status", ["", "APPLY_AUDIT_PASSED", "EXPORT_SUCCESS_PARTIAL"])
def test_an_unknown_state_is_never_success(dms: DmsProvider, sb: Sandbox, status: str,
                                           caplog: pytest.LogCaptureFixture) -> None:
    task = to_be_submitted(dms, sb)
    step(dms, task)
    sb.dms.force_status(task.remote["OrderId"], status)
    with caplog.at_level(logging.WARNING, logger="shared.providers.dms"):
        outcome = step(dms, task)
    assert outcome.status is RemoteStatus.PENDING and repr(status) in (outcome.reason or "")
    assert task.remote["unknown_job_status"] == status
    assert "unknown JobStatus" in caplog.text
    assert calls(sb, "ExecuteDataExport") == 0 and calls(sb, "GetDataExportDownloadURL") == 0

    sb.dms.force_status(task.remote["OrderId"], None)  # polled on: the known state returns
    assert step(dms, task).status is RemoteStatus.WAITING
    assert task.remote["unknown_job_status"] is None
