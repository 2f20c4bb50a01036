"""DmsProvider through the real alibabacloud-dms-enterprise20181101 SDK against the sandbox
(ACS3-HMAC-SHA256 signed RPC calls), including the wait for a person's approval."""

from __future__ import annotations

import io
import time
import zipfile
from typing import Any

import pytest
import requests

from sandbox import Sandbox
from sandbox.acs3 import AccessKey
from shared.clouds.alibaba import READ_TIMEOUT_MS
from shared.errors import ProviderError
from shared.model import ExportTask
from shared.pacing import DEADLINE_CODE, RateLimiter, call_deadline
from shared.providers.alibaba import DmsApi
from shared.providers.base import PollResult, Provider, RemoteStatus
from shared.providers.dms import SUBMIT_REASON, WAITING_REASON, DmsProvider
from shared.state import open_store
from shared.state.bucket import BUCKET, BucketPolicy
from shared.state.budget import SharedBudget
from shared.vendor_settings import AlibabaSettings
from tests.integration.providers.contract import ProviderContract
from tests.integration.providers.drive import step, submit

EXPORT = {"Tid": 1, "DbId": 1234, "InstanceId": 77, "ExeSQL": "SELECT * FROM orders",
          "Comment": "monthly"}


def to_approval(dms: DmsProvider, sb: Sandbox, task: ExportTask) -> PollResult:
    sb.clock.advance(5)
    return step(dms, task)


def calls(sb: Sandbox) -> int:
    return sum(sb.calls.values())


class TestDmsContract(ProviderContract):
    service = "dms"
    status_action = "GetDataExportOrderDetail"
    cancel_action = "CloseOrder"
    params = EXPORT
    bad_params = [
        ({"DbId": 1, "InstanceId": 77, "ExeSQL": "SELECT 1"}, "params.Tid"),
        ({**EXPORT, "Tid": "1"}, "params.Tid"),
        ({"Tid": 1, "ExeSQL": "SELECT 1"}, "params.DbId"),
        ({"Tid": 1, "DbId": 1}, "params.ExeSQL"),
        ({"Tid": 1, "OrderId": 5, "DbId": 1}, "params.DbId"),
        ({"Tid": 1, "DbId": 1, "ExeSQL": "SELECT 1"}, "params.InstanceId"),
        ({**EXPORT, "FileType": "PDF"}, "params.FileType"),
        ({**EXPORT, "Encoding": "UTF-16"}, "params.Encoding"),
        ({**EXPORT, "Logic": "yes"}, "params.Logic"),
        ({**EXPORT, "Bucket": "x"}, "params.Bucket"),
    ]
    errors = [
        ({"kind": "error", "code": "Throttling.User"}, "Throttling.User", True),  # HTTP 400
        ({"kind": "error", "code": "ServiceUnavailable"}, "ServiceUnavailable", True),  # 503
        ({"kind": "error", "code": "InternalError"}, "InternalError", True),  # HTTP 500
        ({"kind": "error", "code": "Order.Busy"}, "Order.Busy", True),  # 200, Success=false
        ({"kind": "error", "code": "InvalidParameterValid"}, "InvalidParameterValid", False),
        ({"kind": "drop"}, "NetworkError", True),  # no answer at all
    ]

    @pytest.fixture
    def provider(self, dms: DmsProvider) -> DmsProvider:
        return dms

    def finish(self, provider: Provider, sandbox: Any, task: ExportTask) -> PollResult:
        waiting = to_approval(provider, sandbox, task)  # type: ignore[arg-type]
        assert waiting.status is RemoteStatus.WAITING
        sandbox.dms.approve(task.remote["OrderId"])
        assert step(provider, task).stage == "exporting"
        sandbox.clock.advance(5)
        return step(provider, task)

    def forget(self, task: ExportTask) -> None:
        task.remote["OrderId"] = 999_999


def test_export_waits_for_approval_then_exports(dms: DmsProvider, sb: Sandbox) -> None:
    before = calls(sb)
    task = submit(dms, EXPORT)
    order_id = task.remote["OrderId"]
    assert sb.calls[("dms", "CreateDataExportOrder")] == 1
    assert step(dms, task).status is RemoteStatus.PENDING  # pre-checking

    submitted = to_approval(dms, sb, task)  # WAITING_APPLY_AUDIT: Courier submits it
    assert submitted.status is RemoteStatus.WAITING and submitted.reason == SUBMIT_REASON
    assert task.stage == "approval" and sb.calls[("dms", "SubmitOrderApproval")] == 1
    sb.clock.advance(3600)  # nobody has looked at it yet: still a normal wait
    still = step(dms, task)
    assert still.status is RemoteStatus.WAITING and not still.retryable
    assert still.reason == WAITING_REASON
    assert sb.calls[("dms", "SubmitOrderApproval")] == 1

    sb.dms.approve(order_id)
    exporting = step(dms, task)
    assert exporting.status is RemoteStatus.PENDING and task.stage == "exporting"
    assert step(dms, task).status is RemoteStatus.PENDING
    assert sb.calls[("dms", "ExecuteDataExport")] == 1

    sb.clock.advance(5)
    ready = step(dms, task)
    assert ready.status is RemoteStatus.READY
    assert ready.result["file_name"].endswith(".zip")  # as DMS ships it
    assert ready.result["content_type"] == "application/zip"
    # create, detail ×6 (one per poll), submit, base info (the poll that found it waiting),
    # execute, download URL
    assert calls(sb) - before == 11

    source = dms.result(task)
    body = requests.get(source.url, timeout=5)
    assert body.status_code == 200 and len(body.content) == int(body.headers["Content-Length"])
    assert body.headers["Content-Type"] == "application/zip"
    assert members(body.content) == {f"dms-export-{order_id}.csv": sb.file_size}
    assert "sign=" not in repr(source)


def members(zipped: bytes) -> dict[str, int]:
    """Name -> size of each file in a zip."""
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        return {info.filename: len(archive.read(info)) for info in archive.infolist()}


def test_auto_approved_export_in_seven_calls(dms: DmsProvider, sb: Sandbox) -> None:
    sb.dms.auto_approve = True
    before = calls(sb)
    task = submit(dms, {**EXPORT, "FileType": "JSON", "AffectRows": 10})
    for _ in range(3):
        sb.clock.advance(5)
        outcome = step(dms, task)
    assert outcome.status is RemoteStatus.READY
    assert calls(sb) - before == 7
    body = requests.get(dms.result(task).url, timeout=5).content
    assert list(members(body)) == [f"dms-export-{task.remote['OrderId']}.json"]


def test_rejected_ticket_fails_permanently(dms: DmsProvider, sb: Sandbox) -> None:
    task = submit(dms, EXPORT)
    assert to_approval(dms, sb, task).status is RemoteStatus.WAITING
    sb.dms.reject(task.remote["OrderId"])
    failed = step(dms, task)
    assert failed.status is RemoteStatus.FAILED and not failed.retryable
    assert "rejected" in (failed.reason or "")


def test_cancel_closes_our_ticket(dms: DmsProvider, sb: Sandbox) -> None:
    task = submit(dms, EXPORT)
    to_approval(dms, sb, task)
    dms.cancel(task)
    assert sb.calls[("dms", "CloseOrder")] == 1
    failed = step(dms, task)
    assert failed.status is RemoteStatus.FAILED and "closed" in (failed.reason or "")


def test_precheck_and_export_failures(dms: DmsProvider, sb: Sandbox) -> None:
    bad_sql = submit(dms, {**EXPORT, "ExeSQL": "DELETE FROM orders"})
    failed = to_approval(dms, sb, bad_sql)
    assert failed.status is RemoteStatus.FAILED and "pre-check" in (failed.reason or "")
    assert ("dms", "SubmitOrderApproval") not in sb.calls

    sb.dms.auto_approve = True
    sb.dms.failing_exports = 1
    task = submit(dms, EXPORT)
    for _ in range(3):
        sb.clock.advance(5)
        outcome = step(dms, task)
    assert outcome.status is RemoteStatus.FAILED and not outcome.retryable
    assert ("dms", "GetDataExportDownloadURL") not in sb.calls


def test_lapsed_download_url_is_read_again(dms: DmsProvider, sb: Sandbox) -> None:
    sb.dms.auto_approve = True
    task = submit(dms, EXPORT)
    for _ in range(3):
        sb.clock.advance(5)
        step(dms, task)
    old = dms.result(task).url
    sb.clock.advance(sb.dms.url_ttl_s + 1)
    assert requests.get(old, timeout=5).status_code == 403
    fresh = dms.result(task, refresh=True)
    assert fresh.url != old
    assert requests.get(fresh.url, timeout=5).status_code == 200


def test_a_refused_create_opens_no_ticket(dms: DmsProvider, sb: Sandbox) -> None:
    sb.faults.add(service="dms", action="CreateDataExportOrder", kind="error",
                  code="Throttling.User")
    with pytest.raises(ProviderError) as exc:
        submit(dms, EXPORT)
    assert exc.value.code == "Throttling.User" and exc.value.retryable
    assert not sb.dms.orders


def test_a_throttling_answer_slows_the_shared_bucket_for_every_caller(
        alibaba: AlibabaSettings, sb: Sandbox) -> None:
    # GIVEN two invocations drawing DMS calls from one shared budget
    store = open_store("sqlite:///:memory:")
    policy = BucketPolicy(ceiling=100.0, recover_per_s=0.001)

    def invocation() -> DmsProvider:
        return DmsProvider(alibaba, limiter=SharedBudget(lambda: store, "acct", "dms",
                                                         policy=policy, draw=1))

    first, second = invocation(), invocation()
    task = submit(first, EXPORT)
    bucket = first.api.limiter.bucket("GetDataExportOrderDetail")
    # WHEN DMS's flow control refuses the first one's status call
    sb.faults.add(service="dms", action="GetDataExportOrderDetail", kind="error",
                  code="Throttling.User")
    outcome = first.poll([task])[task.id]
    assert isinstance(outcome, ProviderError) and outcome.code == "Throttling.User"
    # THEN the bucket of that action runs at half its rate, for the other invocation too
    rec = store.get_record(BUCKET, bucket)
    assert rec is not None and rec.data["rate"] == pytest.approx(50.0, rel=0.01)
    a = second.api.limiter.acquire("GetDataExportOrderDetail")
    b = second.api.limiter.acquire("GetDataExportOrderDetail")
    assert a is not None and b is not None and b - a == pytest.approx(1 / 50, rel=0.05)
    # ... and no other action's bucket was touched
    assert store.get_record(BUCKET, first.api.limiter.bucket(
        "CreateDataExportOrder")).data["rate"] == pytest.approx(100.0)
    store.close()


def test_no_call_is_started_that_cannot_finish_before_the_deadline(dms: DmsProvider,
                                                                   sb: Sandbox) -> None:
    task = submit(dms, EXPORT)
    before = dict(sb.calls)
    with call_deadline(time.monotonic() + 0.5):
        outcome = dms.poll([task])[task.id]
    assert isinstance(outcome, ProviderError) and outcome.code == DEADLINE_CODE
    assert outcome.retryable and sb.calls == before


def test_the_read_timeout_is_capped_by_the_time_left() -> None:
    assert DmsApi.runtime().read_timeout == READ_TIMEOUT_MS
    capped = DmsApi.runtime(2.5)
    assert capped.read_timeout == 2500 and capped.connect_timeout == 2500


def test_wrong_secret_and_unknown_key_are_refused(sb: Sandbox) -> None:
    ak, _ = sb.dms.credentials
    wrong = DmsProvider(AlibabaSettings(ak, "not-the-secret", endpoint=sb.url),
                        limiter=RateLimiter(rate=1000))
    with pytest.raises(ProviderError) as bad_sig:
        submit(wrong, EXPORT)
    assert bad_sig.value.code == "SignatureDoesNotMatch" and not bad_sig.value.retryable

    unknown = DmsProvider(AlibabaSettings("LTAInobody", "x", endpoint=sb.url),
                          limiter=RateLimiter(rate=1000))
    with pytest.raises(ProviderError) as bad_key:
        submit(unknown, EXPORT)
    assert bad_key.value.code == "InvalidAccessKeyId.NotFound"
    assert not sb.dms.orders


def test_sts_credentials_need_their_token(sb: Sandbox) -> None:
    sb.dms.keys["STS.sandbox"] = AccessKey("STS.sandbox", "sts-secret", "sts-token")
    good = DmsProvider(AlibabaSettings("STS.sandbox", "sts-secret", "sts-token",
                                       endpoint=sb.url), limiter=RateLimiter(rate=1000))
    assert submit(good, EXPORT).remote["OrderId"]
    bad = DmsProvider(AlibabaSettings("STS.sandbox", "sts-secret", "other-token",
                                      endpoint=sb.url), limiter=RateLimiter(rate=1000))
    with pytest.raises(ProviderError) as exc:
        submit(bad, EXPORT)
    assert exc.value.code == "InvalidSecurityToken.Mismatch"


def test_unknown_tenant_is_a_permanent_error(dms: DmsProvider, sb: Sandbox) -> None:
    with pytest.raises(ProviderError) as exc:
        submit(dms, {**EXPORT, "Tid": 99})
    assert exc.value.code == "InvalidTid" and not exc.value.retryable


def test_existing_order_is_adopted(dms: DmsProvider, sb: Sandbox) -> None:
    first = submit(dms, EXPORT)
    to_approval(dms, sb, first)
    sb.dms.approve(first.remote["OrderId"])
    task = submit(dms, {"Tid": 1, "OrderId": first.remote["OrderId"]})
    assert task.remote["own_order"] is False
    assert step(dms, task).status is RemoteStatus.PENDING
    sb.clock.advance(5)
    assert step(dms, task).status is RemoteStatus.READY
    dms.cancel(task)
    assert ("dms", "CloseOrder") not in sb.calls

    with pytest.raises(ProviderError) as missing:
        submit(dms, {"Tid": 1, "OrderId": 999})
    assert not missing.value.retryable


@pytest.mark.parametrize("extra", [{}, {"AffectRows": 250}], ids=["no-estimate", "estimate"])
def test_every_required_plugin_param_goes_out(dms: DmsProvider, sb: Sandbox,
                                              extra: dict[str, Any]) -> None:
    # The emulator refuses a PluginParam without any of the fields the page and the SDK
    # model mark required (InstanceId, AffectRows, Logic, IgnoreAffectRows, ...).
    task = submit(dms, {**EXPORT, **extra})
    order = sb.dms.orders[task.remote["OrderId"]]
    assert order.instance_id == EXPORT["InstanceId"]


@pytest.mark.parametrize("missing", ["InstanceId", "AffectRows", "Logic", "IgnoreAffectRows"])
def test_sandbox_refuses_a_plugin_param_without_a_required_field(dms: DmsProvider,
                                                                 missing: str) -> None:
    plugin = {"DbId": 1, "InstanceId": 2, "ExeSQL": "SELECT 1", "Classify": "c",
              "AffectRows": 1, "Logic": False, "IgnoreAffectRows": False}
    del plugin[missing]
    with pytest.raises(ProviderError) as err:
        dms.api.call("CreateDataExportOrder", {"Tid": 1, "Comment": "x",
                                               "PluginParam": plugin})
    assert err.value.code == "InvalidParameterValid" and missing in err.value.detail


# ---------------------------------------------------------------- creates left in doubt
def new_task(dms: DmsProvider, **extra: Any) -> ExportTask:
    return ExportTask(provider="dms", params=dms.validate({**EXPORT, **extra}))


def test_the_ticket_says_which_export_opened_it(dms: DmsProvider, sb: Sandbox) -> None:
    task = submit(dms, EXPORT)
    comment = sb.dms.orders[task.remote["OrderId"]].comment
    assert comment == f"monthly [Export Courier {task.id}]"


def test_a_ticket_whose_answer_was_lost_is_not_opened_twice(dms: DmsProvider,
                                                             sb: Sandbox) -> None:
    task = new_task(dms)
    sb.faults.add(service="dms", action="CreateDataExportOrder", kind="lost_answer")
    sub = dms.create(task)  # the ticket was opened, the answer never came: it is found
    assert list(sb.dms.orders) == [sub.remote["OrderId"]] and sub.remote["own_order"]
    assert sb.calls[("dms", "CreateDataExportOrder")] == 1
    assert sb.calls[("dms", "ListOrders")] == 1


def test_a_ticket_left_in_doubt_is_looked_for_before_the_retry(dms: DmsProvider,
                                                               sb: Sandbox) -> None:
    other = submit(dms, EXPORT)  # another export's ticket, same SQL: not ours
    task = new_task(dms)
    sb.faults.add(service="dms", action="CreateDataExportOrder", kind="lost_answer")
    sb.faults.add(service="dms", action="ListOrders", kind="drop")
    with pytest.raises(ProviderError) as err:  # and the search right after fails too
        dms.create(task)
    assert err.value.code == "NetworkError" and err.value.retryable
    task.error = {"code": err.value.code, "retryable": True}  # as exports.submit keeps it
    sub = dms.create(task)
    assert sub.remote["OrderId"] != other.remote["OrderId"]
    assert len(sb.dms.orders) == 2 and sb.calls[("dms", "CreateDataExportOrder")] == 2


def test_nothing_found_means_the_ticket_is_opened(dms: DmsProvider, sb: Sandbox) -> None:
    task = new_task(dms)
    sb.faults.add(service="dms", action="CreateDataExportOrder", kind="drop")
    with pytest.raises(ProviderError):  # dropped before it was handled: nothing opened
        dms.create(task)
    assert not sb.dms.orders
    task.error = {"code": "NetworkError", "retryable": True}
    sub = dms.create(task)
    assert list(sb.dms.orders) == [sub.remote["OrderId"]]


def test_a_clear_refusal_does_not_search(dms: DmsProvider, sb: Sandbox) -> None:
    sb.faults.add(service="dms", action="CreateDataExportOrder", kind="error",
                  code="InvalidParameterValid")
    with pytest.raises(ProviderError):
        dms.create(new_task(dms))
    assert sb.calls.get(("dms", "ListOrders"), 0) == 0


def test_sandbox_list_orders_filters_and_pages(dms: DmsProvider, sb: Sandbox) -> None:
    first = submit(dms, EXPORT)
    second = submit(dms, {**EXPORT, "Comment": "weekly"})

    def ids(**query: Any) -> list[int]:
        page = dms.api.call("ListOrders", {"Tid": 1, **query})
        return [int(o["OrderId"]) for o in page["Orders"]["Order"]]

    mine = [second.remote["OrderId"], first.remote["OrderId"]]  # newest first
    assert ids() == mine
    assert ids(SearchContent=second.id) == mine[:1]
    assert ids(SearchContent="weekly") == mine[:1]
    assert ids(PageSize=1, PageNumber=2) == mine[1:]
    assert ids(StartTime="2999-01-01 00:00:00") == []
    assert ids(OrderStatus="FINISHED") == []
    with pytest.raises(ProviderError) as err:
        ids(OrderStatus="SOMETIMES")
    assert not err.value.retryable
