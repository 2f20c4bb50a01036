"""A small OSS look-alike in front of an S3 server (moto), for tests and the sandbox.

``OssGateway(upstream="http://127.0.0.1:PORT", region="cn-hangzhou").start()`` listens on
127.0.0.1. Point alibabacloud-oss-v2 at it with ``Config(endpoint=gateway.endpoint,
region=…)``: an IP endpoint makes the SDK address buckets path-style (``/<bucket>/<key>``);
a Host of the form ``<bucket>.oss-<region>.aliyuncs.com`` is read virtual-host style.

Every request must carry a valid V4 signature (:mod:`sandbox.oss_auth`) from one of the
configured credentials: permanent ones given at construction, temporary ones (an STS token
and an expiry) added with :meth:`OssGateway.issue_temporary`. Presigned V4 URLs are accepted
the same way (:meth:`OssGateway.presign` makes them, as DMS hands out its results). The
request is then translated to S3 (:mod:`sandbox.oss_wire`) and forwarded; the answer is
translated back: headers renamed, XML bodies cut to the SDK's result models
(:mod:`sandbox.oss_answers`).

Served (each an OSS API page, SOURCES.md "OSS"): PutObject, GetObject (Range), HeadObject,
DeleteObject, CopyObject, InitiateMultipartUpload, UploadPart, UploadPartCopy,
CompleteMultipartUpload, ListParts, AbortMultipartUpload, Put/Get/DeleteObjectTagging and
PutBucket (for tests). Anything else: ``501 NotImplemented``.

OSS rules beyond S3 (sources in SOURCES.md): ``Content-MD5`` checked against the bytes of
PutObject and UploadPart (``400 InvalidDigest``); every part but the last at least 100 KB, checked
at CompleteMultipartUpload (``400 EntityTooSmall``); ``x-oss-hash-crc64ecma`` (CRC-64/XZ) on
PutObject, UploadPart, CompleteMultipartUpload (the whole object's, only when every part has
one), CopyObject (the source's, when it has one), HeadObject and GetObject (the whole
object's, a ranged GET too); UploadPartCopy answers none. The upstream must take parts down to
100 KB (the tests start moto with that minimum).

The bucket's protections (SOURCES.md, OSS): ``x-oss-server-side-encryption`` (``AES256``,
``KMS``) with ``x-oss-server-side-encryption-key-id``, ``x-oss-storage-class`` and
``x-oss-tagging`` (``x-oss-tagging-directive`` on CopyObject) are kept in moto as S3's and
answered back by their OSS names; an unknown class is ``400 InvalidArgument``, an unknown
algorithm ``400 InvalidEncryptionAlgorithmError``, a KMS key moto's KMS does not have
``404 KeyNotFound``.

Faults (:attr:`OssGateway.faults`, service ``"oss"``, action the OSS API name): ``error``
answers 503 with that code, ``slow`` waits ``delay`` first, ``drop`` closes unanswered.
:attr:`OssGateway.wrong_crc` (action → count) makes that many answers carry a CRC-64 one bit
off, as if the bytes had been damaged on the way.

Must not import ``shared``: it stands for the real service.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, urlsplit

import requests

from sandbox.cos_auth import Credential, CredentialStore
from sandbox.cos_rules import Ledger, crc64, crc64_of
from sandbox.faults import Faults
from sandbox.gateway import HttpGateway
from sandbox.oss_answers import oss_answer
from sandbox.oss_auth import OssAuthError, presign, verify
from sandbox.oss_wire import (
    CRC_HEADER,
    PASS_RESPONSE,
    S3_TO_OSS_ERROR,
    STATUS_OF,
    action,
    bucket_and_key,
    copy_source,
    err_header,
    error_xml,
    from_s3_error,
    listed_parts,
    oss_answer_header,
    refused_protection,
    s3_headers,
    s3_url,
)

log = logging.getLogger(__name__)

MIN_PART = 100 * 1024
_S3_NS = re.compile(rb'\s+xmlns="http://s3\.amazonaws\.com/doc/2006-03-01/?"')
_FAKE_SIGV4 = ("AWS4-HMAC-SHA256 Credential=sandbox/20240101/us-east-1/s3/aws4_request, "
               "SignedHeaders=host, Signature=0")
CHUNK = 256 * 1024


class OssGateway(HttpGateway):
    name = "oss-gateway"

    def __init__(self, upstream: str, *, region: str = "cn-hangzhou",
                 credentials: dict[str, str] | None = None, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.upstream = upstream.rstrip("/")
        self.region = region
        self.credentials = CredentialStore()
        for key_id, secret in (credentials or {}).items():
            self.credentials.add(key_id, secret)
        self.requests: list[tuple[str, str, str, str]] = []  # action, method, bucket, key
        self.copies: list[tuple[str, str]] = []  # bucket, key of each server-side copy
        self._scopes: dict[str, frozenset[str]] = {}  # key id -> buckets it may touch
        self.faults = Faults()
        self.ledger = Ledger()  # part sizes and CRC-64s OSS keeps and S3 does not
        self.wrong_crc: dict[str, int] = {}
        super().__init__(host, port)

    # --------------------------------------------------------------- control
    def add_credentials(self, key_id: str, secret: str,
                        buckets: set[str] | None = None) -> Credential:
        """Permanent keys; with ``buckets`` they may touch only those (as a RAM policy)."""
        cred = self.credentials.add(key_id, secret)
        if buckets is not None:
            self._scopes[key_id] = frozenset(buckets)
        return cred

    def issue_temporary(self, expires_in: float = 1800.0,
                        buckets: set[str] | None = None) -> Credential:
        """Temporary credentials (as STS ``AssumeRole`` gives); with ``buckets`` they may touch
        only those (a copy's source included), anything else is ``403 AccessDenied``."""
        cred = self.credentials.add("STS." + secrets.token_hex(12), secrets.token_urlsafe(24),
                                    token=secrets.token_urlsafe(48), expires_in=expires_in)
        if buckets is not None:
            self._scopes[cred.secret_id] = frozenset(buckets)
        return cred

    @property
    def endpoint(self) -> str:
        return f"http://{self._host}:{self.port}"

    def presign(self, cred: Credential, bucket: str, key: str, expires_s: int) -> str:
        """A V4-presigned GET URL of an object, path-style on this gateway."""
        query = presign(cred, self.region, bucket, key, expires_s)
        return f"{self.endpoint}/{quote(bucket)}/{quote(key)}?{query}"

    def put_internal(self, bucket: str, key: str, data: bytes) -> None:
        """Store an object as a cloud service does on its own behalf (DMS writing a result):
        the bucket made if missing, no client signature."""
        auth = {"Authorization": _FAKE_SIGV4}
        self._session.put(f"{self.upstream}/{quote(bucket)}", headers=auth, timeout=10)
        resp = self._session.put(s3_url(self.upstream, bucket, key, ""), data=data,
                                 headers=auth, timeout=(10, 120))
        resp.raise_for_status()
        self.ledger.remember(bucket, key, resp.headers.get("ETag", ""), crc64(data))

    # --------------------------------------------------------------- serving
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        request_id = uuid.uuid4().hex[:24].upper()
        headers = {k.lower(): v for k, v in h.headers.items()}
        try:
            length = int(h.headers.get("Content-Length") or 0)
            body = h.rfile.read(length) if length else b""
            split = urlsplit(h.path)
            bucket, key = bucket_and_key(headers.get("host", ""), split.path or "/")
            cred = verify(h.command, bucket, key, split.query, headers, self.credentials,
                          self.region)
            touched = {bucket}
            if headers.get("x-oss-copy-source"):
                touched.add(copy_source(headers["x-oss-copy-source"])[0])
            scope = self._scopes.get(cred.secret_id)
            if scope is not None and not touched <= scope:
                raise OssAuthError(403, "AccessDenied", "You have no right to access this "
                                   "object because of bucket acl.")
            act = action(h.command, split.query, headers, key)
            if act is None:
                raise OssAuthError(501, "NotImplemented", "the sandbox does not serve this "
                                   "request")
        except OssAuthError as exc:
            self._error(h, exc.status, exc.code, exc.message, request_id, exc.ec)
            return
        except Exception:  # noqa: BLE001 - a gateway answers, never dies
            log.exception("oss gateway: bad request")
            self._error(h, 400, "InvalidArgument", "malformed request", request_id)
            return
        self.requests.append((act, h.command, bucket, key))
        if act in ("CopyObject", "UploadPartCopy"):
            self.copies.append((bucket, key))
        if self._refused(h, act, split.query, body, request_id):
            return
        try:
            self._forward(h, act, bucket, key, split.query, headers, body, request_id)
        except requests.RequestException as exc:
            self._error(h, 502, "InternalError", f"upstream failed: {type(exc).__name__}",
                        request_id)

    def _refused(self, h: BaseHTTPRequestHandler, act: str, query: str, body: bytes,
                 request_id: str) -> bool:
        """Answer a planned fault or an OSS rule S3 does not have; True if answered."""
        digest = h.headers.get("Content-MD5")
        if act in ("PutObject", "UploadPart") and digest is not None and digest.strip() != (
                base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()):
            self._error(h, 400, "InvalidDigest", "The Content-MD5 you specified was invalid.",
                        request_id)
            return True
        fault = self.faults.take("oss", act)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        elif fault is not None and fault.kind == "drop":
            h.close_connection = True
            return True
        elif fault is not None:
            self._error(h, 503, fault.code, fault.message, request_id)
            return True
        refused = refused_protection(act, {k.lower(): v for k, v in h.headers.items()}) if (
            act in ("PutObject", "InitiateMultipartUpload", "CopyObject")) else None
        if refused is not None:
            self._error(h, refused[0], refused[1], refused[2], request_id, refused[3])
            return True
        if act == "CompleteMultipartUpload":
            upload_id = (parse_qs(query).get("uploadId") or [""])[0]
            small = self.ledger.too_small(upload_id, listed_parts(body), MIN_PART)
            if small is not None:
                self._error(h, 400, "EntityTooSmall", "Your proposed upload smaller than the "
                            "minimum allowed size.", request_id)
                return True
        return False

    def _crc(self, act: str, bucket: str, key: str, query: str, headers: dict[str, str],
             body: bytes, etag: str | None) -> int | None:
        """The ``x-oss-hash-crc64ecma`` of a successful answer (None: no header); records
        what later answers need. ``etag``: upstream's, of the object or part written."""
        args = parse_qs(query)
        upload_id = (args.get("uploadId") or [""])[0]
        if act in ("PutObject", "UploadPart"):
            crc = crc64(body)
            if act == "UploadPart":
                self.ledger.part(upload_id, int(args["partNumber"][0]), len(body), crc)
            elif etag:
                self.ledger.remember(bucket, key, etag, crc)
            return crc
        if act == "UploadPartCopy":
            size = _range_size(headers.get("x-oss-copy-source-range"))
            self.ledger.part(upload_id, int(args["partNumber"][0]), size or MIN_PART, None)
            return None
        if act == "CopyObject":
            src_crc = self.ledger.crc_any(*copy_source(headers["x-oss-copy-source"]))
            if src_crc is not None and etag:
                self.ledger.remember(bucket, key, etag, src_crc)
            return src_crc
        if act == "CompleteMultipartUpload" and etag:
            whole: int | None = None
            if self.ledger.parts_have_crc(upload_id, listed_parts(body)):
                whole = self._upstream_crc(bucket, key)
                self.ledger.remember(bucket, key, etag, whole)
            self.ledger.completed(upload_id)
            return whole
        if act in ("HeadObject", "GetObject"):
            return self.ledger.crc(bucket, key, etag)
        return None

    def _upstream_crc(self, bucket: str, key: str) -> int:
        with self._session.get(s3_url(self.upstream, bucket, key, ""), stream=True,
                               headers={"Authorization": _FAKE_SIGV4},
                               timeout=(10, 120)) as resp:
            resp.raise_for_status()
            return crc64_of(resp.raw.stream(CHUNK, decode_content=False))

    def _forward(self, h: BaseHTTPRequestHandler, act: str, bucket: str, key: str, query: str,
                 headers: dict[str, str], body: bytes, request_id: str) -> None:
        out = {"Authorization": _FAKE_SIGV4, **s3_headers(headers)}
        resp = self._session.request(h.command, s3_url(self.upstream, bucket, key, query),
                                     headers=out, data=body or None, stream=True,
                                     timeout=(10, 120), allow_redirects=False)
        try:
            if resp.status_code >= 300 and resp.status_code != 304:
                code, message = from_s3_error(resp.content if h.command != "HEAD" else b"")
                if h.command == "HEAD" and resp.status_code == 404:
                    code, message = "NoSuchKey", "The specified key does not exist."
                status, ec = STATUS_OF.get(code, resp.status_code), ""
                if code in S3_TO_OSS_ERROR:
                    status, code, message, ec = S3_TO_OSS_ERROR[code]
                self._error(h, status, code, message, request_id, ec)
                return
            content_type = resp.headers.get("Content-Type", "")
            has_length = "content-length" in {k.lower() for k in resp.headers}
            payload = None
            if h.command != "HEAD" and ("xml" in content_type or not has_length):
                upload_id = (parse_qs(query).get("uploadId") or [""])[0]
                payload = oss_answer(act, _S3_NS.sub(b"", resp.content),
                                     lambda n: self.ledger.part_crc(upload_id, n))
            written = re.search(rb"<ETag>([^<]*)</ETag>", payload) if payload else None
            etag = written.group(1).decode() if written else resp.headers.get("ETag")
            crc = self._crc(act, bucket, key, query, headers, body, etag)
            if crc is not None and self.wrong_crc.get(act, 0) > 0:
                self.wrong_crc[act] -= 1
                crc ^= 1
            h.send_response(resp.status_code)
            if crc is not None:
                h.send_header(CRC_HEADER, str(crc))
            if act in ("HeadObject", "GetObject"):
                multipart = "-" in str(resp.headers.get("ETag", ""))
                h.send_header("x-oss-object-type", "Multipart" if multipart else "Normal")
                if "x-amz-storage-class" not in {k.lower() for k in resp.headers}:
                    h.send_header("x-oss-storage-class", "Standard")  # moto names no STANDARD
            for name, value in resp.headers.items():
                lname = name.lower()
                answer = oss_answer_header(lname, value)
                if answer is not None:
                    h.send_header(*answer)
                elif lname.startswith("x-amz-meta-"):
                    h.send_header("x-oss-meta-" + lname[len("x-amz-meta-"):], value)
                elif lname in PASS_RESPONSE and not (payload is not None
                                                      and lname == "content-length"):
                    h.send_header(name, value)
            h.send_header("x-oss-request-id", request_id)
            h.send_header("Server", "AliyunOSS")
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

    def _error(self, h: BaseHTTPRequestHandler, status: int, code: str, message: str,
               request_id: str, ec: str = "") -> None:
        body = error_xml(code, message, request_id, h.headers.get("Host", ""), ec)
        ec_value = re.search(rb"<EC>([^<]*)</EC>", body)
        h.send_response(status)
        h.send_header("Content-Type", "application/xml")
        h.send_header("x-oss-request-id", request_id)
        h.send_header("x-oss-ec", ec_value.group(1).decode() if ec_value else "")
        h.send_header("Server", "AliyunOSS")
        if h.command == "HEAD":
            h.send_header("x-oss-err", err_header(body))
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)


def _range_size(value: str | None) -> int | None:
    m = re.fullmatch(r"\s*bytes=(\d+)-(\d+)\s*", value or "")
    return int(m.group(2)) - int(m.group(1)) + 1 if m else None


class ResultBucket:
    """Where a sandbox service (DMS) keeps the files it hands out: a bucket behind an
    :class:`OssGateway`, written on the service's behalf, each file read through a V4 URL
    presigned with the service's own keys (as DMS answers ``GetDataExportDownloadURL``)."""

    def __init__(self, gateway: OssGateway, bucket: str) -> None:
        self.gateway = gateway
        self.bucket = bucket
        self.owner = gateway.credentials.add("LTAIsvc" + secrets.token_hex(8),
                                             secrets.token_urlsafe(24))
        self._published: set[str] = set()
        self._lock = threading.Lock()

    def publish(self, key: str, data: bytes, expires_s: int) -> str:
        """The presigned URL of ``key``, holding ``data`` (stored once)."""
        with self._lock:
            if key not in self._published:
                self.gateway.put_internal(self.bucket, key, data)
                self._published.add(key)
        return self.gateway.presign(self.owner, self.bucket, key, expires_s)
