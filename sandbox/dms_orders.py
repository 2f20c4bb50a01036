"""DMS data-export tickets: what one ticket holds and which state it shows when.

The JobStatus values and their meanings are those of the GetDataExportOrderDetail pages
(EN and ZH) and of the SDK model's docstring (``GetDataExportOrderDetailResponseBody``,
``KeyInfo.job_status``); the StatusCode values are those of the GetOrderBaseInfo page.
What the pages leave open is marked *assumption* here and in ``sandbox/SOURCES.md``.

========================  ================================================  ==============
JobStatus                 meaning (documented)                              StatusCode
========================  ================================================  ==============
PRE_CHECKING              being prechecked                                  new
PRE_CHECK_SUCCESS         passed the precheck                               new
PRE_CHECK_FAIL            failed the precheck                               new (assumed)
WAITING_APPLY_AUDIT       still to be *submitted* for approval              new
APPLY_AUDIT_SUCCESS       submitted; waiting for the approver               toaudit
ENABLE_EXPORT             approved; ExecuteDataExport may be called         Approved
WAITING_EXPORT            waiting to be scheduled                           processing
DOING_EXPORT              exporting                                         processing
EXPORT_FAIL               the export failed                                 processing (a.)
EXPORT_SUCCESS            exported                                          success
========================  ================================================  ==============

Older pages spell the waiting state ``APPLY_AUDIT_SUCESS``; :attr:`Spelling` switches the
emulator between the two. Assumptions: PRE_CHECK_SUCCESS shows for ``queue_s`` after the
precheck, then WAITING_APPLY_AUDIT until submitted (both accept SubmitOrderApproval); a
rejected ticket keeps its JobStatus while StatusCode says ``reject``; EXPORT_FAIL has no
documented StatusCode, so it stays ``processing`` (the page lists no failure code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

CHINA = timezone(timedelta(hours=8))
FILE_TYPES = {"CSV": "csv", "JSON": "json", "XLSX": "xlsx", "SQL": "sql", "TXT": "txt"}
SUBMITTABLE = ("PRE_CHECK_SUCCESS", "WAITING_APPLY_AUDIT")
AUDIT_SPELLINGS = ("APPLY_AUDIT_SUCCESS", "APPLY_AUDIT_SUCESS")  # SDK/new pages, old pages
STATUS_CODES = {"PRE_CHECKING": "new", "PRE_CHECK_SUCCESS": "new", "PRE_CHECK_FAIL": "new",
                "WAITING_APPLY_AUDIT": "new", "APPLY_AUDIT_SUCCESS": "toaudit",
                "APPLY_AUDIT_SUCESS": "toaudit", "ENABLE_EXPORT": "Approved",
                "WAITING_EXPORT": "processing", "DOING_EXPORT": "processing",
                "EXPORT_FAIL": "processing", "EXPORT_SUCCESS": "success"}
FINISHED_CODES = ("closed", "reject", "success")


class DmsError(Exception):
    """A business error: HTTP 200 with ``Success: false``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def format_time(unix: float) -> str:
    return datetime.fromtimestamp(unix, tz=CHINA).strftime("%Y-%m-%d %H:%M:%S")


def parse_time(value: Optional[str]) -> Optional[float]:
    """``yyyy-MM-dd HH:mm:ss`` in Beijing time, as DMS takes it; None when absent."""
    if not value:
        return None
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA).timestamp()


@dataclass
class Order:
    order_id: int
    tid: int
    db_id: int
    instance_id: Optional[int]
    sql: str
    logic: bool
    comment: str
    created: float
    classify: str  # PluginParam.Classify, the reason's category (not the Comment)
    precheck_fails: bool
    submitted_at: Optional[float] = None
    decision: Optional[str] = None  # "approved" | "rejected"
    decided_at: Optional[float] = None
    closed_at: Optional[float] = None
    executed_at: Optional[float] = None
    action_detail: dict[str, Any] = field(default_factory=dict)
    export_fails: bool = False
    forced_status: Optional[str] = None  # a test's JobStatus the client does not know

    @property
    def file_name(self) -> str:
        """The object DMS hands out is a zip (the documented URL ends ``….zip``)."""
        return f"dms-export-{self.order_id}.zip"

    @property
    def member_name(self) -> str:
        """The file inside, in the chosen ``fileType`` (assumption: one member, so named)."""
        ext = FILE_TYPES.get(str(self.action_detail.get("fileType") or "CSV").upper(), "csv")
        return f"dms-export-{self.order_id}.{ext}"


def job_status(order: Order, now: float, queue_s: float, process_s: float,
               audit_spelling: str) -> str:
    """The ticket's JobStatus at sandbox time ``now``."""
    if order.forced_status is not None:
        return order.forced_status
    if now - order.created < queue_s:
        return "PRE_CHECKING"
    if order.precheck_fails:
        return "PRE_CHECK_FAIL"
    if order.submitted_at is None:
        return ("PRE_CHECK_SUCCESS" if now - order.created < 2 * queue_s
                else "WAITING_APPLY_AUDIT")
    if order.decision != "approved":
        return audit_spelling  # waiting for the approver (or rejected: StatusCode tells)
    if order.executed_at is None:
        return "ENABLE_EXPORT"
    age = now - order.executed_at
    if age < queue_s:
        return "WAITING_EXPORT"
    if age < queue_s + process_s:
        return "DOING_EXPORT"
    return "EXPORT_FAIL" if order.export_fails else "EXPORT_SUCCESS"


def status_code(order: Order, job: str) -> str:
    """GetOrderBaseInfo's StatusCode for a ticket showing JobStatus ``job``."""
    if order.closed_at is not None:
        return "closed"
    if order.decision == "rejected":
        return "reject"
    return STATUS_CODES.get(job, "processing")
