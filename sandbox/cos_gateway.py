"""A small COS look-alike in front of an S3 server (moto), for tests and the sandbox.

``CosGateway(upstream="http://127.0.0.1:PORT").start()`` listens on 127.0.0.1. Point
cos-python-sdk-v5 at it with ``CosConfig(Region=…, Scheme="http", IP="127.0.0.1",
Port=gateway.port, …)``: the SDK then connects to the gateway but keeps the real
``Host: <bucket>.cos.<region>.myqcloud.com`` header, which is where the bucket is taken from.
Requests whose Host is not a COS name are read path-style (``/<bucket>/<key>``; what a
presigned sandbox URL looks like).

Every request must carry a valid COS signature (:mod:`sandbox.cos_auth`) from one of the
configured credentials — permanent ones given at construction, temporary ones (with a
session token and expiry) added at run time with :meth:`CosGateway.issue_temporary` /
:meth:`add_credentials`. The request is then translated to S3 (:mod:`sandbox.cos_wire`:
``x-cos-meta-*`` → ``x-amz-meta-*``, ``x-cos-copy-source`` → ``x-amz-copy-source``, the
metadata directive, copy ranges) and forwarded; the answer is translated back.

Encryption (SOURCES.md, COS): ``x-cos-server-side-encryption`` is passed on both ways, and
buckets in ``sse_buckets`` encrypt every object they take (SSE-COS, as a bucket's default
encryption). An encrypted object's ETag is not its MD5 — COS says it "will be different if
the uploaded object is encrypted" — so the gateway answers a stable stand-in of 32 hex
digits (it looks like an MD5, which is the trap), and maps it back in conditions.

COS rules beyond S3 (:mod:`sandbox.cos_rules`, sources in SOURCES.md): the 1 MB minimum
part checked at Complete Multipart Upload (``400 EntityTooSmall``), and
``x-cos-hash-crc64ecma`` on uploads, part uploads, copies, completes and reads. The upstream
must take parts down to 1 MB itself (moto's own minimum is S3's 5 MiB; the tests start the
moto behind a COS gateway with a lower one).

Faults (:attr:`CosGateway.faults`, service ``"cos"``, action the COS API name): ``error``
answers ``HTTP 200`` with an ``<Error>`` body for the actions COS documents that for (PUT
Object - Copy, Upload Part - Copy, Complete Multipart Upload; the request is not carried
out) and 503 for the others; ``slow`` waits ``delay`` first; ``drop`` closes unanswered.
:attr:`CosGateway.wrong_crc` (action → count) makes that many answers carry a CRC64 one bit
off, as if the bytes had been damaged on the way.

Must not import ``shared``: it stands for the real service.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, urlsplit

import requests

from sandbox.cos_auth import CosAuthError, Credential, CredentialStore, verify
from sandbox.cos_rules import (
    CRC_HEADER,
    ERROR_200_ACTIONS,
    Ledger,
    action,
    copy_range_size,
    cos_error_xml,
    crc64,
    crc64_of,
    error_xml,
    listed_parts,
)
from sandbox.cos_wire import (
    CLASS_TO_S3,
    PASS_RESPONSE,
    SSE_TO_COS,
    bucket_and_path,
    copy_source,
    cos_answer_header,
    s3_headers,
    s3_url,
    writes_object,
)
from sandbox.faults import Faults
from sandbox.gateway import HttpGateway

log = logging.getLogger(__name__)

_S3_NS = re.compile(rb'\s+xmlns="http://s3\.amazonaws\.com/doc/2006-03-01/?"')
_FAKE_SIGV4 = ("AWS4-HMAC-SHA256 Credential=sandbox/20240101/us-east-1/s3/aws4_request, "
               "SignedHeaders=host, Signature=0")
CHUNK = 256 * 1024


class CosGateway(HttpGateway):
    name = "cos-gateway"

    def __init__(self, upstream: str, *, region: str = "ap-guangzhou",
                 credentials: dict[str, str] | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.upstream = upstream.rstrip("/")
        self.region = region
        self.credentials = CredentialStore()
        for sid, skey in (credentials or {}).items():
            self.credentials.add(sid, skey)
        self.requests: list[tuple[str, str, str]] = []  # method, bucket, path (no query)
        self.copies: list[tuple[str, str]] = []  # bucket, path of each server-side copy
        # secret id -> the buckets it may touch (as a bucket policy would); absent: all
        self._scopes: dict[str, frozenset[str]] = {}
        self._no_tagging: set[str] = set()  # secret ids without object-tagging rights
        self.sse_buckets: set[str] = set()  # buckets encrypting every object (SSE-COS)
        self._real_etags: dict[str, str] = {}  # stand-in ETag of an encrypted object -> S3's
        self.faults = Faults()
        self.ledger = Ledger()  # part sizes and CRC64s COS keeps and S3 does not
        # action -> how many more answers carry a CRC64 one off (bytes damaged on the way)
        self.wrong_crc: dict[str, int] = {}
        super().__init__(host, port)

    # --------------------------------------------------------------- control
    def add_credentials(self, secret_id: str, secret_key: str, token: str | None = None,
                        expires_in: float | None = None,
                        buckets: set[str] | None = None) -> Credential:
        cred = self.credentials.add(secret_id, secret_key, token, expires_in)
        if buckets is not None:
            self._scopes[cred.secret_id] = frozenset(buckets)
        return cred

    def issue_temporary(self, expires_in: float = 1800.0,
                        buckets: set[str] | None = None, tagging: bool = True) -> Credential:
        """Temporary credentials; with ``buckets`` they may touch only those (reading a copy
        source included), anything else is ``403 AccessDenied``. ``tagging=False``: object
        tags may be neither read nor written, as with a role granted no tagging actions."""
        cred = self.credentials.issue_temporary(expires_in)
        if buckets is not None:
            self._scopes[cred.secret_id] = frozenset(buckets)
        if not tagging:
            self._no_tagging.add(cred.secret_id)
        return cred

    def revoke(self, secret_id: str) -> None:
        self.credentials.revoke(secret_id)

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT`` — what ``CosObjectSource.endpoint`` and the bundle's
        COS endpoint setting take."""
        return f"http://{self._host}:{self.port}"

    def read_object(self, bucket: str, key: str) -> bytes:
        """An object's bytes as the cloud's own services read them (SCF fetching a code
        package: no client signature). Raises ``KeyError("NoSuchBucket")`` or
        ``KeyError("NoSuchKey")``."""
        resp = self._session.get(f"{self.upstream}/{quote(bucket)}/{quote(key, safe='/-_.~')}",
                                 headers={"Authorization": _FAKE_SIGV4}, timeout=(10, 120))
        if resp.status_code == 404:
            raise KeyError("NoSuchBucket" if b"NoSuchBucket" in resp.content else "NoSuchKey")
        resp.raise_for_status()
        return resp.content

    # --------------------------------------------------------------- serving
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        request_id = uuid.uuid4().hex
        try:
            length = int(h.headers.get("Content-Length") or 0)
            body = h.rfile.read(length) if length else b""
            split = urlsplit(h.path)
            headers = {k.lower(): v for k, v in h.headers.items()}
            bucket, object_path = bucket_and_path(headers.get("host", ""), split.path or "/")
            cred = verify(h.command, object_path, split.query, headers, self.credentials)
            scope = self._scopes.get(cred.secret_id)
            if scope is not None:
                touched = {bucket}
                if headers.get("x-cos-copy-source"):
                    touched.add(copy_source(headers["x-cos-copy-source"]).split("/")[1])
                if not touched <= scope:
                    raise CosAuthError(403, "AccessDenied", "Access Denied.")
            if cred.secret_id in self._no_tagging and "tagging" in parse_qs(
                    split.query, keep_blank_values=True):
                raise CosAuthError(403, "AccessDenied", "Access Denied.")
        except CosAuthError as exc:
            self._error(h, exc.status, exc.code, exc.message, request_id)
            return
        except Exception:  # noqa: BLE001 - a gateway answers, never dies
            log.exception("cos gateway: bad request")
            self._error(h, 400, "InvalidRequest", "malformed request", request_id)
            return
        self.requests.append((h.command, bucket, object_path))
        if headers.get("x-cos-copy-source"):
            self.copies.append((bucket, object_path))
        act = action(h.command, split.query, headers)
        if self._refused(h, act, split.query, body, request_id):
            return
        wanted = headers.get("x-cos-storage-class")
        if wanted is not None and wanted.upper() not in CLASS_TO_S3:
            self._error(h, 400, "InvalidArgument", f"Invalid storage class: {wanted}",
                        request_id)
            return
        try:
            self._forward(h, bucket, object_path, split.query, headers, body, request_id, act)
        except requests.RequestException as exc:
            self._error(h, 502, "InternalError", f"upstream failed: {type(exc).__name__}",
                        request_id)

    def _refused(self, h: BaseHTTPRequestHandler, act: str | None, query: str, body: bytes,
                 request_id: str) -> bool:
        """Answer a planned fault or a COS rule S3 does not have; True if answered."""
        fault = self.faults.take("cos", act) if act else None
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        elif fault is not None and fault.kind == "drop":
            h.close_connection = True
            return True
        elif fault is not None:
            status = 200 if act in ERROR_200_ACTIONS else 503
            self._error(h, status, fault.code, fault.message, request_id)
            return True
        if act == "CompleteMultipartUpload":
            upload_id = (parse_qs(query).get("uploadId") or [""])[0]
            small = self.ledger.too_small(upload_id, listed_parts(body))
            if small is not None:
                self._error(h, 400, "EntityTooSmall", f"part {small} is smaller than the "
                            "minimum allowed size of 1 MB", request_id)
                return True
        return False

    def _crc(self, act: str | None, bucket: str, object_path: str, query: str,
             headers: dict[str, str], body: bytes, status: int, etag: str | None) -> int | None:
        """The ``x-cos-hash-crc64ecma`` COS gives this answer (None: no header); records
        what later answers need. ``etag``: upstream's, of the object or part written."""
        if status != 200 or act is None:
            return None
        args = parse_qs(query)
        upload_id = (args.get("uploadId") or [""])[0]
        if act in ("PutObject", "UploadPart"):
            crc = crc64(body)
            if act == "UploadPart":
                self.ledger.part(upload_id, int(args["partNumber"][0]), len(body), crc)
            elif etag:
                self.ledger.remember(bucket, object_path, etag, crc)
            return crc
        if act == "UploadPartCopy":
            src = copy_source(headers["x-cos-copy-source"])
            wanted = headers.get("x-cos-copy-source-range")
            crc = self._upstream_crc(src, wanted)
            size = copy_range_size(wanted)
            self.ledger.part(upload_id, int(args["partNumber"][0]),
                             size if size is not None else 0, crc)
            return crc
        if act == "PutObjectCopy":
            src_bucket, _, src_key = copy_source(headers["x-cos-copy-source"])[1:].partition("/")
            src_crc = self.ledger.crc_any(src_bucket, "/" + src_key.split("?")[0])
            if src_crc is not None and etag:
                self.ledger.remember(bucket, object_path, etag, src_crc)
            return src_crc
        if act == "CompleteMultipartUpload" and etag:
            numbers = listed_parts(body)
            whole: int | None = None
            if self.ledger.parts_have_crc(upload_id, numbers):
                try:
                    whole = self._upstream_crc(f"/{bucket}{object_path}", None)
                    self.ledger.remember(bucket, object_path, etag, whole)
                except requests.HTTPError:  # an archive class: the gateway cannot read it
                    whole = None
            self.ledger.completed(upload_id)
            return whole
        if act in ("HeadObject", "GetObject"):
            return self.ledger.crc(bucket, object_path, etag)
        return None

    def _upstream_crc(self, path: str, byte_range: str | None) -> int:
        """CRC64 of an upstream object (``/<bucket>/<key>``) or one range of it, streamed."""
        out = {"Authorization": _FAKE_SIGV4, **({"Range": byte_range} if byte_range else {})}
        url = self.upstream + quote(path, safe="/-_.~")
        with self._session.get(url, headers=out, stream=True, timeout=(10, 120)) as resp:
            resp.raise_for_status()
            return crc64_of(resp.raw.stream(CHUNK, decode_content=False))

    def _forward(self, h: BaseHTTPRequestHandler, bucket: str, object_path: str, query: str,
                 headers: dict[str, str], body: bytes, request_id: str,
                 act: str | None = None) -> None:
        out = {"Authorization": _FAKE_SIGV4, **s3_headers(headers)}
        if bucket in self.sse_buckets and writes_object(h.command, query):
            out["x-amz-server-side-encryption"] = "AES256"
        for name in ("if-match", "if-none-match", "if-range", "x-amz-copy-source-if-match"):
            if name in out:
                real = self._real_etags.get(out[name].strip().strip('"'))
                if real is not None:
                    out[name] = f'"{real}"'
        if act == "CompleteMultipartUpload":  # parts listed by the stand-in ETags answered
            body = re.sub(rb"<ETag>([^<]*)</ETag>", lambda m: b"<ETag>" + self._real(
                m.group(1).decode()).encode() + b"</ETag>", body)
            out.pop("content-md5", None)
        url = s3_url(self.upstream, bucket, object_path, query)
        resp = self._session.request(h.command, url, headers=out, data=body or None,
                                     stream=True, timeout=(10, 120), allow_redirects=False)
        try:
            content_type = resp.headers.get("Content-Type", "")
            has_length = "content-length" in {k.lower() for k in resp.headers}
            sse = resp.headers.get("x-amz-server-side-encryption")
            if sse is None and bucket in self.sse_buckets and resp.status_code < 300:
                sse = "AES256"  # moto names it on some answers only
            payload = None
            if h.command != "HEAD" and ("xml" in content_type or not has_length):
                payload = _S3_NS.sub(b"", resp.content)
                if resp.status_code >= 400:
                    payload = cos_error_xml(payload, h.path, request_id)
                elif sse:
                    payload = re.sub(rb"<ETag>([^<]*)</ETag>", lambda m: b"<ETag>" + self._stand_in(
                        m.group(1).decode()).encode() + b"</ETag>", payload)
            written = re.search(rb"<ETag>([^<]*)</ETag>", resp.content) if payload else None
            etag = written.group(1).decode() if written else resp.headers.get("ETag")
            crc = self._crc(act, bucket, object_path, query, headers, body, resp.status_code,
                            etag)
            h.send_response(resp.status_code)
            if crc is not None and self.wrong_crc.get(act or "", 0) > 0:
                self.wrong_crc[act or ""] -= 1
                crc ^= 1
            if crc is not None:
                h.send_header(CRC_HEADER, str(crc))
            if sse:
                h.send_header("x-cos-server-side-encryption", SSE_TO_COS.get(sse, sse))
            for name, value in resp.headers.items():
                lname = name.lower()
                answer = cos_answer_header(lname, value)
                if answer is not None and lname != "x-amz-server-side-encryption":
                    h.send_header(*answer)
                elif lname.startswith("x-amz-meta-"):
                    h.send_header("x-cos-meta-" + lname[len("x-amz-meta-"):], value)
                elif lname == "etag" and sse:
                    h.send_header(name, self._stand_in(value))
                elif lname in PASS_RESPONSE and not (payload is not None
                                                      and lname == "content-length"):
                    h.send_header(name, value)
            h.send_header("x-cos-request-id", request_id)
            if payload is not None:
                h.send_header("Content-Length", str(len(payload)))
            elif not has_length:
                h.send_header("Content-Length", "0")
            h.end_headers()
            if h.command == "HEAD":
                return
            if payload is not None:
                h.wfile.write(payload)
                return
            for chunk in resp.raw.stream(CHUNK, decode_content=False):
                h.wfile.write(chunk)
        except OSError:
            h.close_connection = True
        finally:
            resp.close()

    def _real(self, etag: str) -> str:
        """The upstream ETag a stand-in (quoted or not) is for; others as they came."""
        bare = etag.replace("&quot;", '"').strip().strip('"')
        real = self._real_etags.get(bare)
        return etag if real is None else etag.replace(bare, real)

    def _stand_in(self, etag: str) -> str:
        """The ETag an encrypted object answers: stable, 32 hex digits, not its MD5
        (``&quot;`` and quotes of an XML body kept as they came)."""
        bare = etag.replace("&quot;", '"').strip().strip('"')
        if bare in self._real_etags:
            return etag
        fake = hashlib.md5(b"sse-cos:" + bare.encode(), usedforsecurity=False).hexdigest()
        if "-" in bare:
            fake += "-" + bare.rsplit("-", 1)[1]
        self._real_etags[fake] = bare
        return etag.replace(bare, fake)

    def _error(self, h: BaseHTTPRequestHandler, status: int, code: str, message: str,
               request_id: str) -> None:
        body = error_xml(code, message, urlsplit(h.path).path, request_id)
        h.send_response(status)
        h.send_header("Content-Type", "application/xml")
        h.send_header("x-cos-request-id", request_id)
        if h.command == "HEAD":
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

