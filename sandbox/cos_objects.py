"""A read-only COS endpoint for DLC result objects, on the sandbox's own port.

cos-python-sdk-v5 configured with ``CosConfig(Scheme="http", IP="127.0.0.1", Port=PORT)``
sends ``GET /<key>`` (or ``HEAD``) to the sandbox with ``Host: <bucket>.cos.<region>.myqcloud.com``;
requests with such a Host come here. Each must carry a valid ``q-sign-*`` signature
(:mod:`sandbox.cos_auth`) made with temporary credentials this endpoint issued, and the
matching ``x-cos-security-token``. Credentials read one object only and lapse after their
lifetime in sandbox time (``403 ExpiredToken``). ``Range`` is honoured (206 / 416).

Faults: service ``"cos"``, action ``"GetObject"`` / ``"HeadObject"``; an ``error`` fault is
answered as a COS XML error with HTTP 503.

ETags follow COS: an object up to :data:`SIMPLE_UPLOAD_MAX` bytes looks like a simple
upload, so its ETag is the MD5 of its bytes (clients may check against it); a larger one looks
like a multipart upload (``"<hex>-<parts>"``), whose ETag is no MD5. With ``sse`` set
(``"AES256"``: SSE-COS, ``"cos/kms"``: KMS keys; ``kms = True`` is the latter), objects answer
as encrypted: ``x-cos-server-side-encryption: <sse>`` and an ETag that is not their MD5 (COS:
it "will be different if the uploaded object is encrypted").

Every answer carries the object's ``x-cos-hash-crc64ecma`` (COS returns it on HEAD and GET;
:mod:`sandbox.cos_rules`), the whole object's on a ranged GET too.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import uuid
from dataclasses import dataclass
from email.utils import formatdate
from html import escape
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import unquote, urlsplit

from sandbox.cos_auth import CosAuthError, Credential, CredentialStore, verify
from sandbox.cos_rules import CRC_HEADER, crc64_of
from sandbox.files import FileEntry, generate, parse_range

if TYPE_CHECKING:
    from sandbox.host import Host

COS_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9-]*)\.cos\.(?P<region>[a-z0-9-]+)"
                      r"\.myqcloud\.com(?::\d+)?$")
SIMPLE_UPLOAD_MAX = 64 * 1024 * 1024
MULTIPART_PART = 16 * 1024 * 1024


@dataclass(frozen=True)
class Grant:
    bucket: str
    key: str
    file_token: str  # the sandbox FileStore entry holding the content
    expires_at: float  # sandbox time


class CosObjects:
    def __init__(self, sandbox: Host) -> None:
        self.sb = sandbox
        self.credentials = CredentialStore()
        self._grants: dict[str, Grant] = {}
        self._etags: dict[str, str] = {}
        self._crcs: dict[str, int] = {}  # file token -> CRC-64 of its bytes
        # as an encrypted bucket: the ETag is no MD5, and the answer says so
        self.sse: Optional[str] = None
        self._lock = threading.Lock()

    @property
    def kms(self) -> bool:
        return self.sse == "cos/kms"

    @kms.setter
    def kms(self, value: bool) -> None:
        self.sse = "cos/kms" if value else None

    def sse_headers(self) -> dict[str, str]:
        return {"x-cos-server-side-encryption": self.sse} if self.sse else {}

    @staticmethod
    def owns(host: str) -> bool:
        """Whether a request with this Host header is a COS request."""
        return bool(COS_HOST.match(host.strip().lower()))

    def issue(self, bucket: str, key: str, file_token: str, ttl_s: float) -> Credential:
        """Temporary credentials that may read ``bucket``/``key`` for ``ttl_s`` (sandbox s)."""
        cred = self.credentials.add("AKIDtmp" + secrets.token_hex(12), secrets.token_urlsafe(24),
                                    token=secrets.token_urlsafe(48))
        with self._lock:
            self._grants[cred.secret_id] = Grant(bucket, key, file_token,
                                                 self.sb.clock.now() + ttl_s)
        return cred

    def revoke_all(self) -> None:
        """Every credential issued so far stops working (as if it had expired)."""
        with self._lock:
            ids = list(self._grants)
            self._grants.clear()
        for secret_id in ids:
            self.credentials.revoke(secret_id)

    def etag(self, entry: FileEntry) -> str:
        """The ETag COS would give ``entry`` (also used for the presigned download links)."""
        with self._lock:
            known = self._etags.get(entry.token)
        if known is not None:
            return known
        if self.sse:
            return entry.etag
        if entry.size <= SIMPLE_UPLOAD_MAX:
            digest = hashlib.md5(usedforsecurity=False)
            for chunk in generate(entry):
                digest.update(chunk)
            etag = f'"{digest.hexdigest()}"'
        else:
            parts = -(-entry.size // MULTIPART_PART)
            etag = f'"{entry.etag.strip(chr(34))}-{parts}"'
        with self._lock:
            self._etags[entry.token] = etag
        return etag

    def crc(self, entry: FileEntry) -> int:
        """The CRC-64 COS would give ``entry``'s bytes (computed once)."""
        with self._lock:
            known = self._crcs.get(entry.token)
        if known is None:
            known = crc64_of(generate(entry))
            with self._lock:
                self._crcs[entry.token] = known
        return known

    # -- HTTP --------------------------------------------------------------------------------

    def handle(self, h: Any, method: str) -> None:
        """Answer one request on the sandbox's handler ``h``."""
        split = urlsplit(h.path)
        head = method == "HEAD"
        action = "HeadObject" if head else "GetObject"
        self.sb.count("cos", action)
        request_id = uuid.uuid4().hex
        fault = self.sb.faults.take("cos", action)
        if fault is not None and fault.kind == "error":
            self._error(h, 503, fault.code, fault.message, split.path, request_id, head)
            return
        if method not in ("GET", "HEAD"):
            h.close_connection = True  # the body (if any) is left unread
            self._error(h, 405, "MethodNotAllowed", "this endpoint is read-only", split.path,
                        request_id, head)
            return
        m = COS_HOST.match((h.headers.get("Host") or "").strip().lower())
        bucket = m.group("bucket") if m else ""
        path = unquote(split.path or "/")
        headers = {k.lower(): v for k, v in h.headers.items()}
        try:
            cred = verify(method, path, split.query, headers, self.credentials)
        except CosAuthError as err:
            self._error(h, err.status, err.code, err.message, split.path, request_id, head)
            return
        with self._lock:
            grant = self._grants.get(cred.secret_id)
        if grant is None:
            self._error(h, 403, "InvalidAccessKeyId", "the SecretId is not valid", split.path,
                        request_id, head)
            return
        if self.sb.clock.now() >= grant.expires_at:
            self._error(h, 403, "ExpiredToken", "The provided token has expired.", split.path,
                        request_id, head)
            return
        if grant.bucket != bucket or grant.key != path.lstrip("/"):
            self._error(h, 403, "AccessDenied", "Access Denied.", split.path, request_id, head)
            return
        entry = self.sb.files.get(grant.file_token)
        if entry is None:
            self._error(h, 404, "NoSuchKey", "The specified key does not exist.", split.path,
                        request_id, head)
            return
        size = entry.size
        start, end, status = 0, size - 1, 200
        extra = {"ETag": self.etag(entry), "Accept-Ranges": "bytes",
                 CRC_HEADER: str(self.crc(entry)), **self.sse_headers(),
                 "x-cos-request-id": request_id,
                 "Last-Modified": formatdate(entry.modified, usegmt=True)}
        wanted = h.headers.get("Range")
        if wanted:
            parsed = parse_range(wanted, size)
            if parsed is None:
                extra["Content-Range"] = f"bytes */{size}"
                self._error(h, 416, "InvalidRange", "The requested range is not satisfiable",
                            split.path, request_id, head, extra)
                return
            start, end = parsed
            status = 206
            extra["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(end - start + 1, 0)
        h.send_response(status)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(length))
        for name, value in extra.items():
            h.send_header(name, value)
        h.end_headers()
        if head:
            return
        for chunk in generate(entry, start, end):
            self.sb.served(grant.file_token, len(chunk))
            h.wfile.write(chunk)

    @staticmethod
    def _error(h: Any, status: int, code: str, message: str, resource: str, request_id: str,
               head: bool, extra: Optional[dict[str, str]] = None) -> None:
        body = ('<?xml version="1.0" encoding="UTF-8"?>'
                f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
                f"<Resource>{escape(resource)}</Resource><RequestId>{request_id}</RequestId>"
                "</Error>").encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/xml")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("x-cos-request-id", request_id)
        for name, value in (extra or {}).items():
            h.send_header(name, value)
        h.end_headers()
        if not head:
            h.wfile.write(body)
