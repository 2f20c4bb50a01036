"""Alibaba Cloud DMS Enterprise data-export tickets (API 2018-11-01).

A DMS export is a ticket that a person approves. ``create`` opens it with
``CreateDataExportOrder`` (or adopts an existing ticket given as ``params.OrderId``); each
poll reads ``GetDataExportOrderDetail`` and moves the ticket on by its ``JobStatus``:

=========================================  ==============================================
PRE_CHECKING                               pending (stage ``precheck``)
PRE_CHECK_SUCCESS / WAITING_APPLY_AUDIT    still to be submitted: ``SubmitOrderApproval``
                                           once → WAITING (stage ``approval``)
APPLY_AUDIT_SUCCESS (old: …_SUCESS)        submitted, WAITING for a person;
                                           ``GetOrderBaseInfo`` tells a rejected / closed
                                           ticket (then FAILED)
ENABLE_EXPORT                              approved: ``ExecuteDataExport`` once →
                                           ``exporting``
WAITING_EXPORT / DOING_EXPORT              pending
EXPORT_SUCCESS                             ``GetDataExportDownloadURL`` → READY
PRE_CHECK_FAIL / EXPORT_FAIL               FAILED
anything else                              never success: logged, kept in
                                           ``remote.unknown_job_status``, polled on
=========================================  ==============================================

The meanings are those of the GetDataExportOrderDetail pages (EN, ZH) and the SDK model's
docstring; older pages spell the waiting state ``APPLY_AUDIT_SUCESS``, so both spellings
are read. The JobStatus last seen is kept in ``remote.job_status`` (shown by the API).

``CreateDataExportOrder`` takes no idempotency token. The ticket's comment ends with
``[Export Courier <export id>]``, which also tells the approver where it comes from; when a
create gets no clear answer (no answer at all, a timeout, a server error: it may have gone
through), ``ListOrders`` is searched for that mark before a ticket is opened again, right
away and on the retry, so an approver never sees the same request twice.

Waiting for approval is normal and may last days: it is reported as
:attr:`RemoteStatus.WAITING`, never as a failure.

API calls per export in the normal path, when the approval lands between two polls:
CreateDataExportOrder, then GetDataExportOrderDetail + SubmitOrderApproval, + ExecuteDataExport,
+ GetDataExportDownloadURL — 7; each poll that finds the ticket waiting for approval adds
two (detail + base info), each other poll that finds it busy adds one.
"""

from __future__ import annotations

import logging
from datetime import timedelta, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

from shared.errors import ProviderError, ValidationError
from shared.keys import DataWindow
from shared.model import ExportTask, OssObjectSource, Source
from shared.pacing import RateBudget
from shared.providers import schema as ps
from shared.providers.alibaba import DmsApi
from shared.providers.api import VendorProvider
from shared.providers.base import (
    PollResult,
    RemoteStatus,
    Submission,
    content_type_of,
    create_once,
    poll_each,
    window_of,
)
from shared.providers.validate import Params
from shared.vendor_settings import AlibabaSettings

log = logging.getLogger(__name__)

FILE_TYPES = ("CSV", "JSON", "XLSX", "SQL", "TXT")
ENCODINGS = ("UTF8", "UTF8MB4", "GB2312", "ISO_8859_1", "GBK", "LATAIN1", "CP1252")
EXPORT_MODE = "FAST"
WAITING_REASON = "waiting for approval in DMS"
WAITING_POLL_S = 60.0  # a person decides: no need to look every few seconds
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
DEFAULT_CLASSIFY = "data export requested through Export Courier"
UNKNOWN_AFFECT_ROWS = 1  # the documented example's AffectRows, sent with IgnoreAffectRows
# Answers that leave open whether CreateDataExportOrder went through.
AMBIGUOUS_CODES = frozenset({"NetworkError", "RequestTimeout", "InternalError",
                             "UnknownError", "ServiceUnavailable"})
SEARCH_MARGIN = timedelta(minutes=10)  # clock skew allowed when searching by creation time
BEIJING = timezone(timedelta(hours=8))  # DMS takes and gives times in Beijing time

SUBMIT_REASON = "the DMS ticket is being submitted for approval"
PENDING_PRECHECK = frozenset({"PRE_CHECKING"})
TO_SUBMIT = frozenset({"PRE_CHECK_SUCCESS", "WAITING_APPLY_AUDIT"})
AWAITING_APPROVER = frozenset({"APPLY_AUDIT_SUCCESS", "APPLY_AUDIT_SUCESS"})  # both spellings
APPROVED = frozenset({"ENABLE_EXPORT"})
EXPORTING = frozenset({"WAITING_EXPORT", "DOING_EXPORT"})
FAILED = {"PRE_CHECK_FAIL": "the DMS pre-check refused the SQL",
          "EXPORT_FAIL": "DMS reported the export as failed"}
KNOWN = (PENDING_PRECHECK | TO_SUBMIT | AWAITING_APPROVER | APPROVED | EXPORTING
         | {"EXPORT_SUCCESS"} | set(FAILED))
ENDED_CODES = {"reject": "the DMS ticket was rejected", "closed": "the DMS ticket was closed"}


# The parameters an export of this provider takes (validate() reads their names; the
# OpenAPI document, the CLI, the status page and docs/api.md are made from it).
PARAMS_SCHEMA = ps.obj({
    "Tid": ps.integer(1),
    "OrderId": ps.integer(1, description="An existing ticket; then none of DbId, ExeSQL, "
                                      "Logic, InstanceId, Comment, AffectRows"),
    "DbId": ps.integer(1, description="Required without OrderId"),
    "ExeSQL": ps.text(64 * 1024, description="Required without OrderId"),
    "Logic": {"type": "boolean", "default": False},
    "InstanceId": ps.integer(1, description="Required without OrderId (the ticket's "
                                         "PluginParam.InstanceId)"),
    "AffectRows": ps.integer(0),
    "Comment": ps.text(512),
    "FileType": ps.choice(FILE_TYPES, "CSV"),
    "Encoding": ps.choice(ENCODINGS, "UTF8"),
}, ["Tid"], "DMS data export ticket: an existing OrderId, or DbId with ExeSQL and "
            "InstanceId.")


class DmsProvider(VendorProvider[AlibabaSettings, DmsApi]):
    name = "dms"
    params_schema = PARAMS_SCHEMA
    access_check = ("GetUserActiveTenant", {})
    create_check = ("ListOrders of the tenant: the ticket whose comment carries this "
                    "export's mark")

    @classmethod
    def build_api(cls, settings: AlibabaSettings, limiter: RateBudget | None,
                  credentials: Any = None) -> DmsApi:
        return DmsApi.build(settings, limiter, credentials)

    # ------------------------------------------------------------------ input
    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        p = Params(params, known=ps.fields(PARAMS_SCHEMA))
        out: dict[str, Any] = {"Tid": p.integer("Tid", minimum=1)}
        if params.get("OrderId") is not None:
            for name in ("DbId", "ExeSQL", "Logic", "InstanceId", "Comment", "AffectRows"):
                if params.get(name) is not None:
                    raise ValidationError(f"params.{name}",
                                          "does not apply to an existing ticket (OrderId)")
            out["OrderId"] = p.integer("OrderId", minimum=1)
        else:
            out["DbId"] = p.integer("DbId", minimum=1)
            out["ExeSQL"] = p.text("ExeSQL", max_len=64 * 1024)
            out["Logic"] = p.boolean("Logic", default=False)
            # PluginParam.InstanceId is required (CreateDataExportOrder page, SDK model).
            out["InstanceId"] = p.integer("InstanceId", minimum=1)
            rows = p.integer("AffectRows", default=None, minimum=0)
            if rows is not None:
                out["AffectRows"] = rows
            comment = p.text("Comment", default=None, max_len=512)
            if comment is not None:
                out["Comment"] = comment
        out["FileType"] = p.choice("FileType", FILE_TYPES, default="CSV")
        out["Encoding"] = p.choice("Encoding", ENCODINGS, default="UTF8")
        return out

    # ------------------------------------------------------------------ calls
    def ambiguous(self, code: str | None) -> bool:
        return _ambiguous(code)

    def owned_id(self, remote: dict[str, Any]) -> str | None:
        return str(remote["OrderId"]) if remote.get("own_order") else None

    def create(self, task: ExportTask) -> Submission:
        params = task.params
        if params.get("OrderId"):
            # An existing ticket: make sure it is there (and ours to read) before polling.
            self._detail(params["Tid"], params["OrderId"])
            return Submission(remote={"OrderId": params["OrderId"], "own_order": False},
                              stage="existing")
        # Every field the page and the SDK model mark required goes out. AffectRows is
        # required even when the count is not checked: without the caller's estimate the
        # documented example's value is sent and the check skipped (IgnoreAffectRows).
        plugin: dict[str, Any] = {
            "DbId": params["DbId"],
            "InstanceId": params["InstanceId"],
            "ExeSQL": params["ExeSQL"],
            "Logic": params.get("Logic", False),
            "Classify": params.get("Comment") or DEFAULT_CLASSIFY,
            "AffectRows": params.get("AffectRows", UNKNOWN_AFFECT_ROWS),
            "IgnoreAffectRows": params.get("AffectRows") is None,
        }
        if plugin["IgnoreAffectRows"]:
            plugin["IgnoreAffectRowsReason"] = "row count not known in advance"
        comment = f"{params.get('Comment') or DEFAULT_CLASSIFY} {_mark(task)}"

        def open_ticket() -> Submission:
            answer = self.api.call("CreateDataExportOrder", {
                "Tid": params["Tid"], "Comment": comment, "PluginParam": plugin})
            ids = (answer.get("CreateOrderResult") or {}).get("CreateOrderResult") or []
            if not ids:
                raise ProviderError("dms", "NoOrderId", "CreateDataExportOrder answered "
                                    "without an order id", retryable=True)
            return _own(int(ids[0]))

        return create_once(task, open_ticket, lambda: self._opened_earlier(task), _ambiguous)

    def poll(self, tasks: list[ExportTask]) -> dict[str, PollResult | ProviderError]:
        return poll_each(tasks, self._poll_one)

    def data_window(self, task: ExportTask) -> DataWindow:
        """A ticket's result has no window of its own: the schedule's, else the acceptance
        time; its source is the tenant (``Tid``)."""
        return window_of(task, source=f"tid-{task.params['Tid']}",
                         region=self.settings.region)

    def result(self, task: ExportTask, *, refresh: bool = False) -> Source:
        url = task.result.get("url")
        if refresh or not url:
            info = self._download(task)
            if not info.get("HasResult") or not info.get("URL"):
                raise ProviderError("dms", "NoResult", "DMS has no download URL for the "
                                    "ticket", retryable=False)
            url = str(info["URL"])
            task.result["url"] = url
        # DMS keeps its results in OSS (the documented URL is an OSS object's): an oss://
        # destination that may read the bucket copies it there; anything else streams it
        return OssObjectSource.of_url(url, task.result.get("file_name"),
                                      endpoint=self.settings.oss_endpoint,
                                      region=self.settings.region)

    def cancel(self, task: ExportTask) -> None:
        if not task.remote.get("own_order") or not task.remote.get("OrderId"):
            return  # never close somebody else's ticket
        try:
            self.api.call("CloseOrder", {"Tid": task.params["Tid"],
                                         "OrderId": task.remote["OrderId"],
                                         "CloseReason": "export cancelled"})
        except ProviderError as exc:
            if exc.retryable:
                raise
            log.info("dms close of %s refused: %s", task.id, exc.code)

    # --------------------------------------------------------------- helpers
    def _opened_earlier(self, task: ExportTask) -> Submission | None:
        """The ticket this export opened, found by the mark in its comment, if any."""
        since = (task.created_at - SEARCH_MARGIN).astimezone(BEIJING)
        page = self.api.call("ListOrders", {
            "Tid": task.params["Tid"], "PluginType": "DATA_EXPORT",
            "OrderResultType": "AS_COMMITTER", "OrderStatus": "ALL",
            "SearchContent": task.id, "SearchDateType": "CREATE_TIME",
            "StartTime": since.strftime(TIME_FORMAT), "PageNumber": 1, "PageSize": 20})
        orders = (page.get("Orders") or {}).get("Order") or []
        mark = _mark(task)
        found = sorted(int(o["OrderId"]) for o in orders
                       if mark in str(o.get("Comment") or "") and o.get("OrderId"))
        if found:
            log.info("export %s: DMS ticket %s carries its mark and was opened by an "
                     "earlier, unanswered create; taking it over", task.id, found[0])
            adopted = _own(found[0])
            adopted.remote["adopted"] = True
            return adopted
        return None

    def _poll_one(self, task: ExportTask) -> PollResult:
        status = self._detail(task.params["Tid"], task.remote["OrderId"])
        outcome = self._advance(task, status)
        outcome.remote.setdefault("job_status", status[:64])
        if status in KNOWN and task.remote.get("unknown_job_status") is not None:
            outcome.remote["unknown_job_status"] = None
        return outcome

    def _advance(self, task: ExportTask, status: str) -> PollResult:
        """Move the ticket on by its JobStatus (the table in the module's docstring)."""
        tid, order_id = task.params["Tid"], task.remote["OrderId"]
        if status in PENDING_PRECHECK:
            return PollResult(RemoteStatus.PENDING, stage="precheck")
        if status in TO_SUBMIT or status in AWAITING_APPROVER:
            if status in TO_SUBMIT and not task.remote.get("submitted"):
                try:
                    self.api.call("SubmitOrderApproval", {"Tid": tid, "OrderId": order_id})
                except ProviderError as exc:
                    ended = None if exc.retryable else self._ended(tid, order_id)
                    if not ended:
                        raise
                    return PollResult(RemoteStatus.FAILED, reason=ended, retryable=False)
                return PollResult(RemoteStatus.WAITING, stage="approval",
                                  reason=SUBMIT_REASON, remote={"submitted": True},
                                  next_poll_s=WAITING_POLL_S)
            ended = self._ended(tid, order_id)
            if ended:
                return PollResult(RemoteStatus.FAILED, reason=ended, retryable=False)
            return PollResult(RemoteStatus.WAITING, stage="approval", reason=WAITING_REASON,
                              remote={"submitted": True}, next_poll_s=WAITING_POLL_S)
        if status in APPROVED:
            if not task.remote.get("executed"):
                self.api.call("ExecuteDataExport", {"Tid": tid, "OrderId": order_id,
                                                    "ActionDetail": {
                                                        "fileType": task.params["FileType"],
                                                        "encoding": task.params["Encoding"],
                                                        "mode": EXPORT_MODE}})
            return PollResult(RemoteStatus.PENDING, stage="exporting",
                              remote={"executed": True})
        if status in EXPORTING:
            return PollResult(RemoteStatus.PENDING, stage="exporting")
        if status == "EXPORT_SUCCESS":
            info = self._download(task)
            if not info.get("HasResult") or not info.get("URL"):
                return PollResult(RemoteStatus.PENDING, stage="exporting",
                                  reason=str(info.get("TipMessage") or "")[:200] or None)
            url = str(info["URL"])
            name = _file_name(url, order_id)
            return PollResult(RemoteStatus.READY, progress=100, result={
                "url": url, "file_name": name, "content_type": content_type_of(name)})
        if status in FAILED:
            return PollResult(RemoteStatus.FAILED, reason=FAILED[status], retryable=False)
        # Not a state the pages list: never success. Say so, keep it visible, look again.
        log.warning("export %s: DMS ticket %s shows an unknown JobStatus %r; polling on",
                    task.id, order_id, status[:64], extra={"export_id": task.id})
        ended = self._ended(tid, order_id)
        if ended:
            return PollResult(RemoteStatus.FAILED, reason=ended, retryable=False)
        return PollResult(RemoteStatus.PENDING, reason=f"unknown DMS job status {status!r}",
                          remote={"unknown_job_status": status[:64]})

    def _detail(self, tid: int, order_id: int) -> str:
        answer = self.api.call("GetDataExportOrderDetail", {"Tid": tid, "OrderId": order_id})
        detail = answer.get("DataExportOrderDetail") or {}
        return str((detail.get("KeyInfo") or {}).get("JobStatus") or "")

    def _ended(self, tid: int, order_id: int) -> str | None:
        """Why the ticket can no longer go on (rejected / closed), or None."""
        answer = self.api.call("GetOrderBaseInfo", {"Tid": tid, "OrderId": order_id})
        code = str((answer.get("OrderBaseInfo") or {}).get("StatusCode") or "").lower()
        return ENDED_CODES.get(code)

    def _download(self, task: ExportTask) -> dict[str, Any]:
        answer = self.api.call("GetDataExportDownloadURL", {"Tid": task.params["Tid"],
                                                            "OrderId": task.remote["OrderId"]})
        info: dict[str, Any] = answer.get("DownloadURLResult") or {}
        return info


def _file_name(url: str, order_id: int) -> str:
    """The name in the URL; DMS's files are zips (the documented URL ends ``.zip``)."""
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return name or f"dms-{order_id}.zip"


def _own(order_id: int) -> Submission:
    """A ticket this export opened (Courier may close it on cancel)."""
    return Submission(remote={"OrderId": order_id, "own_order": True}, stage="precheck")


def _mark(task: ExportTask) -> str:
    return f"[Export Courier {task.id}]"


def _ambiguous(code: str | None) -> bool:
    return bool(code) and (code in AMBIGUOUS_CODES or str(code).startswith(
        ("InternalError.", "ServiceUnavailable.", "HTTP5")))
