"""Alibaba Cloud DMS Enterprise (API 2018-11-01): data-export tickets.

Written from the vendor's API description, not from any client. RPC style: ``POST /`` with
the parameters in the query string (some actions put a few in a form body), headers
``x-acs-action`` / ``x-acs-version`` and an ACS3-HMAC-SHA256 signature (:mod:`sandbox.acs3`).
Answers are flat JSON: ``RequestId``, ``Success``, ``ErrorCode``, ``ErrorMessage`` and the
action's fields. Business errors come back as HTTP 200 with ``Success: false``; gateway
errors (signature, throttling, outage) as HTTP 4xx/5xx with ``Code`` / ``Message``.

A ticket (order) follows sandbox time and the people around it, through the JobStatus
values documented for GetDataExportOrderDetail (table and sources: :mod:`sandbox.dms_orders`
and ``sandbox/SOURCES.md``):

* ``PRE_CHECKING`` for ``queue_s``, then ``PRE_CHECK_SUCCESS`` — or ``PRE_CHECK_FAIL`` when
  the SQL is not a query or mentions ``sandbox_fail`` — and after another ``queue_s``
  ``WAITING_APPLY_AUDIT``: still to be submitted;
* ``SubmitOrderApproval`` (from either) → ``APPLY_AUDIT_SUCCESS`` (``audit_spelling`` picks
  the older pages' ``APPLY_AUDIT_SUCESS``), waiting until a test calls :meth:`approve` /
  :meth:`reject` (or at once with ``auto_approve``); a rejected ticket keeps that JobStatus
  while ``GetOrderBaseInfo`` says ``StatusCode: reject``;
* approved → ``ENABLE_EXPORT``, the only state ``ExecuteDataExport`` accepts;
* ``ExecuteDataExport`` → ``WAITING_EXPORT`` for ``queue_s``, ``DOING_EXPORT`` for
  ``process_s``, then ``EXPORT_SUCCESS`` (``EXPORT_FAIL`` while ``failing_exports`` lasts);
* ``GetDataExportDownloadURL`` → a signed sandbox URL of a ``.zip`` (as the documented OSS
  URL), valid ``url_ttl_s`` seconds, holding the file in the chosen ``fileType``; with
  :attr:`DmsService.results` set (a :class:`sandbox.oss_gateway.ResultBucket`), the zip is
  an object of that OSS bucket and the URL a presigned V4 one, as DMS's own results are.

:meth:`force_status` makes a ticket show a JobStatus no page lists (a client's caution).

``ListOrders`` lists the tenant's tickets, newest first, by comment or id, creation time and
status, paged. A required parameter missing (:data:`REQUIRED`) is the gateway's 400
``MissingParameter``.

Faults: service ``"dms"``, action = the x-acs-action. An ``error`` fault with a gateway code
(``Throttling*``, ``ServiceUnavailable``, ``InternalError``) is an HTTP error; any other code
is an HTTP 200 ``Success: false`` answer. ``lost_answer`` carries the request out and
drops the connection instead of answering.
"""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import parse_qsl, urlsplit

from sandbox.acs3 import AccessKey, AcsError, NonceCache, answer_json, gateway_error, verify
from sandbox.dms_orders import (
    AUDIT_SPELLINGS,
    FILE_TYPES,
    FINISHED_CODES,
    SUBMITTABLE,
    DmsError,
    Order,
    format_time,
    job_status,
    parse_time,
    status_code,
)

if TYPE_CHECKING:
    from sandbox.host import Host
    from sandbox.oss_gateway import ResultBucket

VERSION = "2018-11-01"
ACCESS_KEY_ID = "LTAIsandboxdms"
ACCESS_KEY_SECRET = "sandbox-dms-secret"  # noqa: S105 - the sandbox's published test credential
DEFAULT_TID = 1
ENCODINGS = ("UTF8", "UTF8MB4", "GB2312", "ISO_8859_1", "GBK", "LATAIN1", "CP1252")
GATEWAY_STATUS = {"Throttling": 400, "Throttling.User": 400, "Throttling.Api": 400,
                  "ServiceUnavailable": 503, "InternalError": 500}
# Marked "This parameter is required." in the SDK request model; the gateway refuses without.
REQUIRED = {"CloseOrder": ("CloseReason", "OrderId")}


class DmsService:
    service = "dms"
    version = VERSION

    def __init__(self, sandbox: Host) -> None:
        self.sb = sandbox
        self.keys: dict[str, AccessKey] = {
            ACCESS_KEY_ID: AccessKey(ACCESS_KEY_ID, ACCESS_KEY_SECRET)}
        self.tenants: set[int] = {DEFAULT_TID}
        self.orders: dict[int, Order] = {}
        self.auto_approve = False
        # The waiting-for-approver JobStatus: the SDK's spelling or the older pages' one.
        self.audit_spelling = AUDIT_SPELLINGS[0]
        self.failing_exports = 0  # the next N executed exports end in EXPORT_FAIL
        self.url_ttl_s = 600.0
        self.results: ResultBucket | None = None  # results in OSS (sandbox.oss_gateway)
        # Ticket ids are unique for good at DMS: a restarted sandbox must not hand out an id
        # an earlier run gave (a kept state table would find it owned by an old export).
        self._ids = itertools.count(40_000_001 + secrets.randbelow(1_000_000) * 100)
        self._nonces = NonceCache()
        self._lock = threading.RLock()
        self.actions: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
            "CreateDataExportOrder": self.create_order,
            "SubmitOrderApproval": self.submit_approval,
            "GetDataExportOrderDetail": self.order_detail,
            "GetOrderBaseInfo": self.base_info,
            "ExecuteDataExport": self.execute,
            "GetDataExportDownloadURL": self.download_url,
            "CloseOrder": self.close_order,
            "ListOrders": self.list_orders,
            "GetUserActiveTenant": self.active_tenant,
        }

    @property
    def credentials(self) -> tuple[str, str]:
        return ACCESS_KEY_ID, ACCESS_KEY_SECRET

    # -- people ------------------------------------------------------------------------------

    def approve(self, order_id: int) -> None:
        self._decide(order_id, "approved")

    def reject(self, order_id: int) -> None:
        self._decide(order_id, "rejected")

    def _decide(self, order_id: int, decision: str) -> None:
        with self._lock:
            order = self.orders[int(order_id)]
            if (order.submitted_at is None or order.decision is not None
                    or order.closed_at is not None):
                raise ValueError(f"order {order_id} is not waiting for approval")
            order.decision = decision
            order.decided_at = self.sb.clock.now()

    def force_status(self, order_id: int, status: str | None) -> None:
        """Make a ticket show ``status`` as its JobStatus (None: back to normal)."""
        with self._lock:
            self.orders[int(order_id)].forced_status = status

    # -- state -------------------------------------------------------------------------------

    def job_status(self, order: Order, now: float) -> str:
        return job_status(order, now, self.sb.queue_s, self.sb.process_s, self.audit_spelling)

    def status_code(self, order: Order, now: float) -> str:
        return status_code(order, self.job_status(order, now))

    def _order(self, params: dict[str, str]) -> Order:
        self._tid(params)
        raw = params.get("OrderId", "")
        if not raw.isdigit():
            raise DmsError("InvalidParameterValid", "OrderId is required and must be a number")
        with self._lock:
            order = self.orders.get(int(raw))
        if order is None or order.tid != int(params["Tid"]):
            raise DmsError("InvalidOrder", f"order {raw} does not exist")
        return order

    def _tid(self, params: dict[str, str]) -> int:
        raw = params.get("Tid", "")
        if not raw.isdigit() or int(raw) not in self.tenants:
            raise DmsError("InvalidTid", "Specified tid is invalid or you are not a member")
        return int(raw)

    # -- actions -----------------------------------------------------------------------------

    def create_order(self, params: dict[str, str]) -> dict[str, Any]:
        tid = self._tid(params)
        try:
            plugin = json.loads(params.get("PluginParam") or "")
        except ValueError:
            raise DmsError("InvalidParameterValid", "PluginParam must be a JSON object") from None
        if not isinstance(plugin, dict):
            raise DmsError("InvalidParameterValid", "PluginParam must be a JSON object")
        # Required, as the CreateDataExportOrder page and the SDK request model mark them:
        # DbId, InstanceId, ExeSQL, Classify, AffectRows, Logic, IgnoreAffectRows; and
        # IgnoreAffectRowsReason when IgnoreAffectRows is true.
        db_id, sql = plugin.get("DbId"), plugin.get("ExeSQL")
        for name in ("DbId", "InstanceId", "AffectRows"):
            value = plugin.get(name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise DmsError("InvalidParameterValid", f"PluginParam.{name} is required")
        if not isinstance(sql, str) or not sql.strip():
            raise DmsError("InvalidParameterValid", "PluginParam.ExeSQL is required")
        if not isinstance(plugin.get("Classify"), str) or not plugin["Classify"]:
            raise DmsError("InvalidParameterValid", "PluginParam.Classify is required")
        for name in ("Logic", "IgnoreAffectRows"):
            if not isinstance(plugin.get(name), bool):
                raise DmsError("InvalidParameterValid", f"PluginParam.{name} is required")
        if plugin["IgnoreAffectRows"] and not plugin.get("IgnoreAffectRowsReason"):
            raise DmsError("InvalidParameterValid",
                           "IgnoreAffectRowsReason is required with IgnoreAffectRows")
        statement = sql.strip().lower()
        with self._lock:
            order = Order(order_id=next(self._ids), tid=tid, db_id=int(db_id or 0),
                          instance_id=plugin.get("InstanceId"), sql=sql,
                          logic=bool(plugin.get("Logic")), comment=params.get("Comment", ""),
                          classify=plugin["Classify"],
                          created=self.sb.clock.now(),
                          precheck_fails=(not statement.startswith(("select", "with"))
                                          or "sandbox_fail" in statement))
            self.orders[order.order_id] = order
        return {"CreateOrderResult": {"CreateOrderResult": [order.order_id]}}

    def list_orders(self, params: dict[str, str]) -> dict[str, Any]:
        """The tickets of the tenant, newest first: ``SearchContent`` matches the comment or
        the id, ``StartTime`` / ``EndTime`` (Beijing time) the creation time, ``PluginType``
        must be ``DATA_EXPORT`` if given (the only kind here), ``OrderStatus`` is ``ALL``,
        ``RUNNING`` or ``FINISHED``. Paged by ``PageNumber`` (from 1) and ``PageSize``."""
        tid = self._tid(params)
        plugin = params.get("PluginType") or "DATA_EXPORT"
        status = (params.get("OrderStatus") or "ALL").upper()
        if status not in ("ALL", "RUNNING", "FINISHED"):
            raise DmsError("InvalidParameterValid", "OrderStatus: ALL, RUNNING or FINISHED")
        try:
            page = int(params.get("PageNumber") or 1)
            size = int(params.get("PageSize") or 10)
            start = parse_time(params.get("StartTime"))
            end = parse_time(params.get("EndTime"))
        except ValueError:
            raise DmsError("InvalidParameterValid", "PageNumber, PageSize, StartTime or "
                                                    "EndTime is malformed") from None
        if page < 1 or not 1 <= size <= 100:
            raise DmsError("InvalidParameterValid", "PageNumber >= 1, PageSize 1..100")
        search = params.get("SearchContent") or ""
        now = self.sb.clock.now()
        with self._lock:
            orders = sorted(self.orders.values(), key=lambda o: o.order_id, reverse=True)
        rows = []
        for order in orders:
            code = self.status_code(order, now)
            finished = code in FINISHED_CODES
            if (order.tid != tid or plugin != "DATA_EXPORT"
                    or (search and search not in order.comment
                        and search != str(order.order_id))
                    or (start is not None and order.created < start)
                    or (end is not None and order.created > end)
                    or (status == "RUNNING" and finished)
                    or (status == "FINISHED" and not finished)):
                continue
            rows.append({"OrderId": order.order_id, "Comment": order.comment,
                         "PluginType": "DATA_EXPORT", "StatusCode": code,
                         "StatusDesc": code, "Committer": "sandbox", "CommitterId": 1,
                         "CreateTime": format_time(order.created),
                         "LastModifyTime": format_time(order.created)})
        chosen = rows[(page - 1) * size:page * size]
        return {"Orders": {"Order": chosen}, "TotalCount": len(rows)}

    def submit_approval(self, params: dict[str, str]) -> dict[str, Any]:
        order = self._order(params)
        now = self.sb.clock.now()
        with self._lock:
            if self.job_status(order, now) not in SUBMITTABLE or order.closed_at:
                raise DmsError("InvalidStatus", "the ticket cannot be submitted in its state")
            order.submitted_at = now
            if self.auto_approve:
                order.decision, order.decided_at = "approved", now
        return {}

    def order_detail(self, params: dict[str, str]) -> dict[str, Any]:
        order = self._order(params)
        status = self.job_status(order, self.sb.clock.now())
        return {"DataExportOrderDetail": {
            "KeyInfo": {"JobStatus": status, "PreCheckId": order.order_id * 10,
                        "JobId": order.order_id * 100 if order.executed_at else None},
            "OrderDetail": {"DbId": order.db_id, "ExeSQL": order.sql, "Logic": order.logic,
                            "Database": f"db{order.db_id}", "EnvType": "product",
                            "Classify": order.classify, "ActualAffectRows": 0},
        }}

    def active_tenant(self, params: dict[str, str]) -> dict[str, Any]:
        """The caller's tenant (the lowest one here): a read that needs no resource id."""
        tid = int(params["Tid"]) if params.get("Tid") else min(self.tenants)
        if tid not in self.tenants:
            raise DmsError("InvalidTid", "Specified tid is invalid or you are not a member")
        return {"Tenant": {"Tid": tid, "TenantName": "sandbox", "Status": "ACTIVE"}}

    def base_info(self, params: dict[str, str]) -> dict[str, Any]:
        order = self._order(params)
        now = self.sb.clock.now()
        code = self.status_code(order, now)
        return {"OrderBaseInfo": {
            "OrderId": order.order_id, "Comment": order.comment,
            "PluginType": "DATA_EXPORT", "StatusCode": code, "StatusDesc": code,
            "CreateTime": format_time(order.created), "LastModifyTime": format_time(now),
            "Committer": "sandbox", "CommitterId": 1,
        }}

    def execute(self, params: dict[str, str]) -> dict[str, Any]:
        order = self._order(params)
        try:
            detail = json.loads(params.get("ActionDetail") or "{}")
        except ValueError:
            raise DmsError("InvalidParameterValid", "ActionDetail must be JSON") from None
        if not isinstance(detail, dict):
            raise DmsError("InvalidParameterValid", "ActionDetail must be a JSON object")
        # An empty value means the default: the documented example sends ``"encoding": ""``.
        if str(detail.get("fileType") or "SQL").upper() not in FILE_TYPES:
            raise DmsError("InvalidParameterValid", "unsupported fileType")
        if str(detail.get("encoding") or "UTF8").upper() not in ENCODINGS:
            raise DmsError("InvalidParameterValid", "unsupported encoding")
        if str(detail.get("mode") or "FAST").upper() not in ("FAST", "NORMAL"):
            raise DmsError("InvalidParameterValid", "unsupported mode")
        now = self.sb.clock.now()
        with self._lock:
            if self.job_status(order, now) != "ENABLE_EXPORT" or order.closed_at is not None:
                raise DmsError("InvalidStatus", "the ticket is not approved for export")
            order.executed_at = now
            order.action_detail = detail
            order.export_fails = self.failing_exports > 0
            if self.failing_exports > 0:
                self.failing_exports -= 1
        return {}

    def download_url(self, params: dict[str, str]) -> dict[str, Any]:
        order = self._order(params)
        now = self.sb.clock.now()
        if self.job_status(order, now) != "EXPORT_SUCCESS":
            return {"DownloadURLResult": {"HasResult": False, "URL": "",
                                          "TipMessage": "the export has not finished"}}
        token = f"dms-{order.order_id}"
        assert order.executed_at is not None  # noqa: S101 - EXPORT_SUCCESS implies it
        entry = self.sb.files.register(token, order.file_name, self.sb.file_size, token,
                                       order.executed_at + self.sb.queue_s + self.sb.process_s,
                                       packing="zip", member=order.member_name)
        if self.results is not None and entry.data is not None:
            url = self.results.publish(f"export/{order.order_id}/{entry.name}", entry.data,
                                       int(self.url_ttl_s))
        else:
            url = self.sb.files.url(self.sb.url, entry.token, entry.name,
                                    int(now + self.url_ttl_s))
        return {"DownloadURLResult": {"HasResult": True, "URL": url, "TipMessage": ""}}

    def close_order(self, params: dict[str, str]) -> dict[str, Any]:
        order = self._order(params)
        with self._lock:
            if order.closed_at is None:
                order.closed_at = self.sb.clock.now()
        return {}

    # -- HTTP --------------------------------------------------------------------------------

    def handle(self, h: Any, method: str) -> None:
        """Answer one RPC request on the sandbox's handler ``h``."""
        request_id = str(uuid.uuid4()).upper()
        action = h.headers.get("x-acs-action") or ""
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if 0 < length <= 1024 * 1024 else b""
        if length > 1024 * 1024:
            h.close_connection = True  # the body is left unread
        self.sb.count(self.service, action)
        fault = self.sb.faults.take(self.service, action)
        if fault is not None:
            if fault.kind == "slow":
                time.sleep(fault.delay)
            elif fault.kind == "drop":
                h._drop()
                return
            elif fault.kind == "http_status":
                h._send(fault.status, b"<html>sandbox: injected error</html>", "text/html")
                return
            elif fault.kind == "error":
                status = GATEWAY_STATUS.get(fault.code)
                if status is not None:
                    gateway_error(h, status, fault.code, fault.message, request_id)
                else:
                    answer_json(h, 200, {"RequestId": request_id, "Success": False,
                                        "ErrorCode": fault.code,
                                        "ErrorMessage": fault.message})
                return
        split = urlsplit(h.path)
        try:
            if method != "POST" or split.path != "/":
                raise AcsError(404, "InvalidAction.NotFound", "Specified api is not found.")
            key = verify(method, split.path, split.query,
                         lambda n: h.headers.get_all(n) or [], body, self.sb.alibaba_keys,
                         self._nonces)
            if h.headers.get("x-acs-version") != VERSION:
                raise AcsError(400, "InvalidVersion", "Specified parameter Version is not valid.")
            handler = self.actions.get(action)
            if handler is None:
                raise AcsError(404, "InvalidAction.NotFound", "Specified api is not found.")
            if not self.sb.admit(self.service, action):
                raise AcsError(400, "Throttling.User", "Request was denied due to user flow "
                                                       "control.")
            params = dict(parse_qsl(split.query, keep_blank_values=True))
            if body and "x-www-form-urlencoded" in (h.headers.get("Content-Type") or ""):
                params.update(parse_qsl(body.decode("utf-8", "replace"),
                                        keep_blank_values=True))
            for name in REQUIRED.get(action, ()):
                if not params.get(name):
                    raise AcsError(400, "MissingParameter", f'The input parameter "{name}" '
                                   "that is mandatory for processing this request is not "
                                   "supplied.")
        except AcsError as err:
            gateway_error(h, err.status, err.code, err.message, request_id)
            return
        try:
            owner = self.sb.accounts.owner(self.service, params.get("Tid", ""))
            if owner is not None and owner != self.sb.accounts.account_of(key.access_key_id):
                # a tenant of another account: the caller is no member of it
                raise DmsError("InvalidTid", "Specified tid is invalid or you are not a member")
            result = self.sb.recorded.answer(self.service, action, lambda: handler(params))
        except DmsError as err:
            answer_json(h, 200, {"RequestId": request_id, "Success": False,
                                "ErrorCode": err.code, "ErrorMessage": err.message})
            return
        self.sb.record_made(self.service, action, params, result)
        answer = {"RequestId": request_id, "Success": True, **result}
        self.sb.conformance.dms(action, params, answer)
        if fault is not None and fault.kind == "lost_answer":
            h._drop()  # done, but the client never hears of it
            return
        answer_json(h, 200, answer)
