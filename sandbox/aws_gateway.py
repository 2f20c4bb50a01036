"""A small gateway in front of moto's server for CloudWatch Logs export tasks.

``AwsGateway(upstream=moto_url).start()`` listens on 127.0.0.1 and forwards every request
(Logs, S3, STS) to moto unchanged, except for the CloudWatch Logs JSON API
(``X-Amz-Target: Logs_20140328.<Action>``), where it adds what moto 5 leaves out:

* **One active task.** moto's CreateExportTask writes the gzip objects into its S3 and marks
  the task COMPLETED at once (``moto/logs/models.py``, ``create_export_task``); AWS runs it
  for a while and lets an account have one active (PENDING or RUNNING) export task at a
  time, answering ``LimitExceededException`` otherwise (CreateExportTask API reference).
  Here a task counts as RUNNING for ``run_s`` seconds after its create, DescribeExportTasks
  reports it so, and a create meanwhile is refused with ``LimitExceededException``.
  :meth:`occupy` plays a task started by somebody else in the account.
  The rule holds per account and region: a task counts against the access key and region
  of the request that created it (from its SigV4 ``Credential`` scope), so a second
  account's (another key, an assumed role's) runs beside the first's (**assumption**: the
  access key stands for its account; one account's keys are one key here).
* **statusCode.** moto's DescribeExportTasks ignores the filter (``responses.py`` reads only
  ``taskId``); the gateway applies it to the answer.
* **Faults** (:class:`sandbox.faults.Faults`, service ``"logs"``): ``error`` answers HTTP 400
  with the AWS JSON error ``code`` (``ThrottlingException``, ``LimitExceededException``…),
  ``drop`` closes the connection unanswered, ``lost_answer`` forwards the call (it takes
  effect) and then closes without answering, ``slow`` waits ``delay`` first.
* **Roles that cannot be assumed.** moto's STS hands out keys for any role; a role ARN in
  :attr:`refused_roles` (or a fault of service ``"sts"``, action ``"AssumeRole"``) is refused
  as STS refuses a caller its trust policy does not name: HTTP 403 ``AccessDenied`` in the
  query protocol's ``ErrorResponse`` (STS API reference, "Common Errors"; AssumeRole page).
* **Conformance** (:mod:`sandbox.conformance`, ``conformance=`` or ``SANDBOX_CONFORMANCE``):
  every Logs request and answer is held against botocore's model of the action.
* **S3 faults** (service ``"s3"``, actions ``CopyObject``, ``UploadPartCopy``,
  ``CompleteMultipartUpload``): ``error`` answers ``200 OK`` with an ``<Error>`` body and does
  not carry the request out, as S3 may for these three ("a 200 OK response can contain either
  a success or an error", CopyObject / UploadPartCopy / CompleteMultipartUpload API
  references; botocore's ``handlers.py`` ``_handle_200_error`` turns such answers into 500s).

Must not import ``shared``: it stands for the real service.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.conformance import Conformance
from sandbox.faults import Faults
from sandbox.gateway import HttpGateway

log = logging.getLogger(__name__)

TARGET_PREFIX = "Logs_20140328."
_HOP = {"host", "content-length", "connection", "transfer-encoding", "keep-alive"}
_HOP_ANSWER = _HOP - {"content-length"}  # kept in answers, re-set unless a HEAD's


class AwsGateway(HttpGateway):
    name = "aws-gateway"

    def __init__(self, upstream: str, *, run_s: float = 0.0, host: str = "127.0.0.1",
                 port: int = 0, conformance: str | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.run_s = run_s
        self.faults = Faults()
        self.conformance = Conformance(conformance)
        self.calls: dict[str, int] = {}  # Logs action -> requests seen (faults included)
        self.started: list[tuple[str, float]] = []  # (taskId, monotonic create time)
        self.made: list[dict[str, Any]] = []  # the request of every CreateExportTask made
        self._foreign_until = 0.0
        self.refused_roles: set[str] = set()  # role ARNs STS refuses to anyone
        self._owner: dict[str, str] = {}  # taskId -> "<access key>/<region>" that made it
        self._lock = threading.Lock()
        super().__init__(host, port)

    # --------------------------------------------------------------- control
    def occupy(self, seconds: float) -> None:
        """An export task started elsewhere in the account is active for ``seconds``."""
        self._foreign_until = time.monotonic() + seconds

    def active(self, account: str | None = None) -> list[str]:
        """Our tasks still RUNNING (of ``account``, ``<access key>/<region>``, when given)."""
        now = time.monotonic()
        with self._lock:
            return [t for t, at in self.started if now - at < self.run_s
                    and account in (None, self._owner.get(t))]

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        target = h.headers.get("X-Amz-Target") or ""
        action = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else None
        if action is None and h.command == "POST" and b"Action=AssumeRole" in body:
            form = parse_qs(body.decode("utf-8", "replace"))
            role = (form.get("RoleArn") or [""])[0]
            fault = self.faults.take("sts", "AssumeRole")
            if role in self.refused_roles or (fault is not None and fault.kind == "error"):
                code = fault.code if fault is not None else "AccessDenied"
                self._reply(h, 403 if code == "AccessDenied" else 400,
                            {"Content-Type": "text/xml"}, (
                    "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                    f"<Error><Type>Sender</Type><Code>{code}</Code><Message>User is not "
                    f"authorized to perform: sts:AssumeRole on resource: {role}</Message>"
                    "</Error><RequestId>sandbox</RequestId></ErrorResponse>").encode())
                return
        if action is None:
            s3_action = _s3_action(h.command, h.path, h.headers.get("x-amz-copy-source"))
            fault = self.faults.take("s3", s3_action) if s3_action else None
            if fault is not None and fault.kind == "error":
                self._reply(h, 200, {"Content-Type": "application/xml"}, (
                    f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{fault.code}"
                    f"</Code><Message>{fault.message}</Message><RequestId>sandbox</RequestId>"
                    "</Error>").encode())
                return
            self._reply(h, *self._forward(h, body))
            return
        with self._lock:
            self.calls[action] = self.calls.get(action, 0) + 1
        fault = self.faults.take("logs", action)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        elif fault is not None and fault.kind == "drop":
            h.close_connection = True
            return
        elif fault is not None and fault.kind in ("error", "http_status"):
            status = 400 if fault.kind == "error" else fault.status
            self._reply(h, status, {"Content-Type": "application/x-amz-json-1.1"},
                        json.dumps({"__type": fault.code, "message": fault.message}).encode())
            return
        account = _account(h.headers.get("Authorization") or "")
        if action == "CreateExportTask" and self._busy(account):
            self._reply(h, 400, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(
                {"__type": "LimitExceededException",
                 "message": "Resource limit exceeded."}).encode())
            return
        status, headers, answer = self._forward(h, body)
        if status == 200 and action == "CreateExportTask":
            with self._lock:
                self.started.append((json.loads(answer)["taskId"], time.monotonic()))
                self._owner[json.loads(answer)["taskId"]] = account
                self.made.append(json.loads(body or b"{}"))
        elif status == 200 and action == "DescribeExportTasks":
            answer = self._describe(json.loads(body or b"{}"), json.loads(answer))
        if status == 200:
            self.conformance.aws("logs", action, json.loads(body or b"{}"),
                                 json.loads(answer or b"{}"))
        if fault is not None and fault.kind == "lost_answer":
            h.close_connection = True
            return
        self._reply(h, status, headers, answer)

    def _busy(self, account: str) -> bool:
        return bool(self.active(account)) or time.monotonic() < self._foreign_until

    def _describe(self, request: dict[str, Any], answer: dict[str, Any]) -> bytes:
        running = set(self.active())
        tasks = answer.get("exportTasks") or []
        for task in tasks:
            if task.get("taskId") in running:
                task["status"] = {"code": "RUNNING", "message": "Task is running"}
        if request.get("statusCode"):
            tasks = [t for t in tasks if (t.get("status") or {}).get("code")
                     == request["statusCode"]]
        return json.dumps({**answer, "exportTasks": tasks}).encode()

    def _forward(self, h: BaseHTTPRequestHandler, body: bytes
                 ) -> tuple[int, dict[str, str], bytes]:
        headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP}
        headers["Host"] = h.headers.get("Host") or ""
        resp = self._session.request(h.command, self.upstream + h.path, data=body,
                                     headers=headers, allow_redirects=False, timeout=60,
                                     stream=True)
        try:  # the bytes as moto sent them (a gzip object stays gzip)
            content = resp.raw.read(decode_content=False)
        finally:
            resp.close()
        out = {k: v for k, v in resp.headers.items()
               if k.lower() not in (_HOP_ANSWER if h.command == "HEAD" else _HOP)}
        return resp.status_code, out, content

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, headers: dict[str, str],
               body: bytes) -> None:
        h.send_response(status)
        for name, value in headers.items():
            h.send_header(name, value)
        if h.command != "HEAD" or "content-length" not in {k.lower() for k in headers}:
            h.send_header("Content-Length", str(len(body)))  # a HEAD keeps the object's
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)


def _account(authorization: str) -> str:
    """``<access key>/<region>`` of a SigV4 ``Authorization`` header ("" when unsigned)."""
    m = re.search(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/", authorization)
    return f"{m.group(1)}/{m.group(2)}" if m else ""


def _s3_action(method: str, path: str, copy_source: str | None) -> str | None:
    """The S3 operations that may answer 200 with an error body (None: another one)."""
    query = parse_qs(urlsplit(path).query, keep_blank_values=True)
    if method == "POST" and "uploadId" in query:
        return "CompleteMultipartUpload"
    if method == "PUT" and copy_source:
        return "UploadPartCopy" if "partNumber" in query else "CopyObject"
    return None
