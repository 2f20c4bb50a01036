"""The HTTP side: one request handler for the Tencent API 3.0 endpoint, file downloads and
the ``/_sandbox`` control routes. State lives on the :class:`~sandbox.core.Sandbox`."""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, Optional, Protocol
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

from sandbox import auth
from sandbox.errors import ApiError
from sandbox.faults import Fault
from sandbox.files import generate, parse_range
from sandbox.params import Params

if TYPE_CHECKING:
    from sandbox.cos_objects import CosObjects
    from sandbox.dms import DmsService
    from sandbox.host import Host
    from sandbox.ssm import SsmService
    from sandbox.sts import Accounts, AlibabaSts

    class Front(Host, Protocol):
        """What the handler uses of the sandbox besides the services' :class:`Host`."""

        verbose: bool
        rate_limit: Optional[int]
        regional_services: set[str]
        site: Optional[str]
        services: dict[str, Any]
        dms: DmsService
        ssm: SsmService
        alibaba_sts: AlibabaSts

        @property
        def cos_objects(self) -> CosObjects: ...

        @property
        def accounts(self) -> Accounts: ...

        def add_account(self, account: str, *, roles: Any = (), topics: Any = (),
                        tenants: Any = ()) -> None: ...

        def fail_exports(self, topic_id: str) -> None: ...

        def fail_next_export(self) -> None: ...

MAX_BODY = 10 * 1024 * 1024
_FILE_RE = re.compile(r"^/files/([^/]+)/([^/]+)$")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server_version = "TencentSandbox/1.0"
    sb: Front  # the Sandbox, set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.sb.verbose:
            super().log_message(format, *args)

    # -- plumbing ----------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str,
              extra: Optional[dict[str, str]] = None, head_only: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _json(self, payload: dict[str, Any], status: int = 200) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _api_error(self, code: str, message: str, request_id: str) -> None:
        self._json({"Response": {"Error": {"Code": code, "Message": message},
                                 "RequestId": request_id}})

    def _xml_error(self, status: int, code: str, message: str, head_only: bool = False) -> None:
        body = ('<?xml version="1.0" encoding="UTF-8"?>'
                f"<Error><Code>{code}</Code><Message>{message}</Message>"
                f"<RequestId>{uuid.uuid4()}</RequestId></Error>").encode()
        self._send(status, body, "application/xml", head_only=head_only)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ApiError("InvalidParameter", "request body too large")
        return self.rfile.read(length) if length else b""

    def _apply_fault(self, fault: Optional[Fault], request_id: str) -> bool:
        """Run a fault; True when it answered (or dropped) the request."""
        if fault is None:
            return False
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return False
        if fault.kind == "drop" and fault.after is None:
            self._drop()
            return True
        if fault.kind == "error":
            self._api_error(fault.code, fault.message, request_id)
            return True
        if fault.kind == "http_status":
            self._send(fault.status, b"<html><body>sandbox: injected HTTP %d</body></html>"
                       % fault.status, "text/html")
            return True
        return False

    # -- verbs -------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._route("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._route("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")

    def _route(self, method: str) -> None:
        split = urlsplit(self.path)
        try:
            if self.sb.cos_objects.owns(self.headers.get("Host") or ""):
                self.sb.cos_objects.handle(self, method)
            elif self.headers.get("x-acs-action") == "AssumeRole":
                self.sb.alibaba_sts.handle(self, method)  # Alibaba STS (sandbox.sts)
            elif self.headers.get("x-acs-action") is not None:
                self.sb.dms.handle(self, method)
            elif split.path.startswith("/files/") and method in ("GET", "HEAD"):
                self._file(split.path, split.query, method == "HEAD")
            elif split.path.startswith("/_sandbox/") and method == "POST":
                self._control(split.path)
            elif split.path == "/" and method in ("GET", "POST"):
                self._api(method, split.query)
            elif split.path == "/" and method == "HEAD":
                self._send(200, b"", "text/plain", head_only=True)
            else:
                self._send(404, b"not found\n", "text/plain", head_only=method == "HEAD")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- control -----------------------------------------------------------------------------

    def _control(self, path: str) -> None:
        try:
            spec = json.loads(self._body() or b"{}")
            if not isinstance(spec, dict):
                raise ValueError("body must be a JSON object")
            if path == "/_sandbox/faults":
                self.sb.faults.add_from_json(spec)
            elif path == "/_sandbox/recorded":
                self.sb.recorded.add_from_json(spec)
            elif path == "/_sandbox/clock":
                self.sb.clock.advance(float(spec.get("advance", 0)))
            elif path == "/_sandbox/fail_exports":
                self.sb.fail_exports(str(spec["TopicId"]))
            elif path == "/_sandbox/fail_next_export":
                self.sb.fail_next_export()
            elif path in ("/_sandbox/dms/approve", "/_sandbox/dms/reject"):
                # the person who decides on a DMS ticket: {"OrderId": 40000001}
                order_id = int(spec["OrderId"])
                if path.endswith("approve"):
                    self.sb.dms.approve(order_id)
                else:
                    self.sb.dms.reject(order_id)
            elif path == "/_sandbox/accounts":
                # another account: {"account": "100000000002", "roles": [[arn, external id
                # or null]], "topics": ["topic-…"], "tenants": [2]} (sandbox.sts)
                self.sb.add_account(str(spec["account"]),
                                    roles=[(str(a), e) for a, e in spec.get("roles", [])],
                                    topics=[str(t) for t in spec.get("topics", [])],
                                    tenants=[int(t) for t in spec.get("tenants", [])])
            elif path == "/_sandbox/ssm/secret":
                # a Secrets Manager secret, as CreateSecret / PutSecretValue would leave it:
                # {"SecretName": "courier", "VersionId": "v1", "SecretString": "…"} and/or
                # {"SecretName": "courier", "Status": "Disabled"}
                name = str(spec["SecretName"])
                if "SecretString" in spec:
                    self.sb.ssm.put(name, str(spec["SecretString"]),
                                    version=str(spec.get("VersionId") or "v1"))
                if "Status" in spec:
                    self.sb.ssm.set_status(name, str(spec["Status"]))
            else:
                self._send(404, b"not found\n", "text/plain")
                return
        except (ValueError, TypeError, KeyError, ApiError) as exc:
            self._send(400, json.dumps({"error": str(exc)}).encode(), "application/json")
            return
        self._json({"ok": True, "now": self.sb.clock.now()})

    # -- Tencent API 3.0 ---------------------------------------------------------------------

    def _api(self, method: str, query: str) -> None:
        request_id = str(uuid.uuid4())
        headers = {k.lower(): v for k, v in self.headers.items()}
        action = headers.get("x-tc-action")
        service = auth.service_of(headers.get("authorization"))
        try:
            body = self._body()
        except ApiError as err:
            self.close_connection = True
            self._api_error(err.code, err.message, request_id)
            return
        self.sb.count(service, action)
        fault = self.sb.faults.take(service, action)
        if self._apply_fault(fault, request_id):
            return
        try:
            result = self._dispatch(method, query, headers, body, service, action)
        except ApiError as err:
            self._api_error(err.code, err.message, request_id)
            return
        request = _request_data(method, query, body)
        self.sb.record_made(service, action, request, result)
        answer = {"Response": {"RequestId": request_id, **result}}
        self.sb.conformance.tencent(service or "", headers.get("x-tc-version") or "",
                                    action or "", request, answer, text=method == "GET")
        if fault is not None and fault.kind == "lost_answer":
            self._drop()  # done, but the client never hears of it
            return
        self._json(answer)

    def _dispatch(self, method: str, query: str, headers: dict[str, str], body: bytes,
                  service: Optional[str], action: Optional[str]) -> dict[str, Any]:
        cred = auth.verify(method, "/", query if method == "GET" else "", headers, body,
                           self.sb.secret_for)
        auth.check_site(headers.get("host") or "", self.sb.site)
        token, live = self.sb.role_token(cred.secret_id)
        auth.check_common(cred, headers, (service or "") in self.sb.regional_services, token,
                          live)
        if not action:
            raise ApiError("MissingParameter", "the X-TC-Action header is missing")
        self.sb.accounts.saw(service, action, cred.secret_id, headers.get("x-tc-region"))
        if not self.sb.admit(service, action, self.sb.accounts.account_of(cred.secret_id)):
            raise ApiError("RequestLimitExceeded",
                           f"request rate for {service}.{action} exceeds "
                           f"{self.sb.rate_limit} per second")
        svc = self.sb.services.get(service or "")
        handler = svc.actions.get(action) if svc is not None else None
        if svc is None or handler is None:
            raise ApiError("InvalidAction", f"action {action} is not supported by {service}")
        version = headers.get("x-tc-version")
        if not version:
            raise ApiError("MissingParameter", "the X-TC-Version header is missing")
        if version != svc.version:
            raise ApiError("InvalidAction",
                           f"action {action} is not valid for version {version} "
                           f"(this service speaks {svc.version})")
        recorded = self.sb.recorded.take(service, action)
        if recorded is not None:  # a published example answer (sandbox.recorded)
            return recorded
        if method == "GET":
            return handler(Params(dict(parse_qsl(query, keep_blank_values=True)), lenient=True))
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            raise ApiError("InvalidParameter", "the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError("InvalidParameter", "the request body must be a JSON object")
        # a resource another account owns is one this caller's account does not have
        self.sb.accounts.check_tencent(service, data, cred.secret_id)
        return handler(Params(data))

    # -- file downloads ----------------------------------------------------------------------

    def _file(self, path: str, query: str, head: bool) -> None:
        self.sb.count("files", "Download")
        fault = self.sb.faults.take("files", "Download")
        if fault is not None and fault.kind == "error":
            self._xml_error(500, fault.code, fault.message, head)
            return
        if self._apply_fault(fault, ""):
            return
        m = _FILE_RE.match(path)
        args = parse_qs(query)
        sign = (args.get("sign") or [""])[0]
        expires = (args.get("t") or [""])[0]
        if not m or not expires.isdigit() or not sign:
            self._xml_error(403, "AccessDenied", "Request has not been signed", head)
            return
        token, name = unquote(m.group(1)), unquote(m.group(2))
        if not self.sb.files.check(token, name, sign, int(expires)):
            self._xml_error(403, "SignatureDoesNotMatch",
                            "The calculated signature does not match the provided one", head)
            return
        if int(expires) < self.sb.clock.now():
            self._xml_error(403, "AccessDenied", "Request has expired", head)
            return
        entry = self.sb.files.get(token)
        if entry is None or entry.name != name:
            self._xml_error(404, "NoSuchKey", "The specified key does not exist.", head)
            return
        size = entry.size
        start, end = 0, size - 1
        status = 200
        # Download links answer as COS does for a presigned GET (CLS, MongoDB and TCSS
        # files live in COS): the ETag is the MD5 of a simple upload, a request id is sent.
        objects = self.sb.cos_objects
        extra = {"ETag": objects.etag(entry), "Accept-Ranges": "bytes",
                 "Last-Modified": formatdate(entry.modified, usegmt=True),
                 "x-cos-request-id": uuid.uuid4().hex,
                 **objects.sse_headers()}
        wanted = self.headers.get("Range")
        if wanted:
            parsed = parse_range(wanted, size)
            if parsed is None:
                extra["Content-Range"] = f"bytes */{size}"
                self._send(416, b"", "application/xml", extra, head)
                return
            start, end = parsed
            status = 206
            extra["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(end - start + 1, 0)
        self.send_response(status)
        self.send_header("Content-Type", entry.content_type)
        self.send_header("Content-Length", str(length))
        for key, value in extra.items():
            self.send_header(key, value)
        self.end_headers()
        if head or length == 0:
            return
        budget = fault.after if fault is not None and fault.kind == "drop" else None
        for chunk in generate(entry, start, end):
            if budget is not None:
                chunk = chunk[:budget]
                budget -= len(chunk)
            self.sb.served(token, len(chunk))  # before the write: a client may assert at once
            self.wfile.write(chunk)
            if budget is not None and budget <= 0:
                self._drop()
                return
        if budget is not None:
            self._drop()


def _request_data(method: str, query: str, body: bytes) -> dict[str, Any]:
    """A handled request's parameters, for :attr:`Sandbox.made`."""
    if method == "GET":
        return dict(parse_qsl(query, keep_blank_values=True))
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
