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
:meth:`add_credentials`. The request is then translated to S3 (``x-cos-meta-*`` →
``x-amz-meta-*``, ``x-cos-copy-source`` → ``x-amz-copy-source``, the metadata directive,
copy ranges) and forwarded; the answer is translated back.

Encryption (SOURCES.md, COS): ``x-cos-server-side-encryption`` is passed on both ways, and
buckets in ``sse_buckets`` encrypt every object they take (SSE-COS, as a bucket's default
encryption). An encrypted object's ETag is not its MD5 — COS says it "will be different if
the uploaded object is encrypted" — so the gateway answers a stable stand-in of 32 hex
digits (it looks like an MD5, which is the trap), and maps it back in conditions.

Must not import ``shared``: it stands for the real service.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from html import escape
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, parse_qsl, quote, unquote, urlsplit

import requests

from sandbox.cos_auth import TOKEN_HEADER, CosAuthError, Credential, CredentialStore, verify
from sandbox.gateway import HttpGateway

log = logging.getLogger(__name__)

COS_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9-]*)\.cos\.(?P<region>[a-z0-9-]+)"
                      r"\.myqcloud\.com(?::\d+)?$")
_S3_NS = re.compile(rb'\s+xmlns="http://s3\.amazonaws\.com/doc/2006-03-01/?"')
_DIRECTIVES = {"replaced": "REPLACE", "copy": "COPY"}
_PASS_REQUEST = ("content-type", "content-md5", "content-disposition", "content-encoding",
                 "cache-control", "expires", "range", "if-match", "if-none-match",
                 "if-modified-since", "if-unmodified-since", "if-range")
_PASS_RESPONSE = ("content-type", "content-length", "content-range", "etag", "last-modified",
                  "accept-ranges", "content-md5", "content-encoding", "content-disposition",
                  "cache-control", "expires", "location")
_COPY_HEADERS = {
    "x-cos-copy-source-range": "x-amz-copy-source-range",
    "x-cos-copy-source-if-match": "x-amz-copy-source-if-match",
    "x-cos-copy-source-if-none-match": "x-amz-copy-source-if-none-match",
}
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

    # --------------------------------------------------------------- serving
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        request_id = uuid.uuid4().hex
        try:
            length = int(h.headers.get("Content-Length") or 0)
            body = h.rfile.read(length) if length else b""
            split = urlsplit(h.path)
            headers = {k.lower(): v for k, v in h.headers.items()}
            host = headers.get("host", "")
            m = COS_HOST.match(host)
            raw_path = split.path or "/"
            if m:
                bucket = m.group("bucket")
                object_path = unquote(raw_path)
            else:
                segments = raw_path.lstrip("/").split("/", 1)
                if not segments[0]:
                    raise CosAuthError(400, "InvalidURI", "no bucket in Host or path")
                bucket = unquote(segments[0])
                object_path = "/" + unquote(segments[1] if len(segments) > 1 else "")
            cred = verify(h.command, object_path, split.query, headers, self.credentials)
            scope = self._scopes.get(cred.secret_id)
            if scope is not None:
                touched = {bucket}
                if headers.get("x-cos-copy-source"):
                    touched.add(_copy_source(headers["x-cos-copy-source"]).split("/")[1])
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
        try:
            self._forward(h, bucket, object_path, split.query, headers, body, request_id)
        except requests.RequestException as exc:
            self._error(h, 502, "InternalError", f"upstream failed: {type(exc).__name__}",
                        request_id)

    def _forward(self, h: BaseHTTPRequestHandler, bucket: str, object_path: str, query: str,
                 headers: dict[str, str], body: bytes, request_id: str) -> None:
        out: dict[str, str] = {"Authorization": _FAKE_SIGV4}
        for name, value in headers.items():
            if name in _PASS_REQUEST:
                out[name] = value
            elif name.startswith("x-cos-meta-"):
                out["x-amz-meta-" + name[len("x-cos-meta-"):]] = value
            elif name == "x-cos-copy-source":
                out["x-amz-copy-source"] = _copy_source(value)
            elif name == "x-cos-metadata-directive":
                out["x-amz-metadata-directive"] = _DIRECTIVES.get(value.lower(), value)
            elif name in _COPY_HEADERS:
                out[_COPY_HEADERS[name]] = value
            elif name == "x-cos-server-side-encryption":
                out["x-amz-server-side-encryption"] = "AES256" if value == "AES256" else value
        if bucket in self.sse_buckets and self._writes_object(h.command, query, headers):
            out["x-amz-server-side-encryption"] = "AES256"
        for name in ("if-match", "if-none-match", "if-range", "x-amz-copy-source-if-match"):
            if name in out:
                real = self._real_etags.get(out[name].strip().strip('"'))
                if real is not None:
                    out[name] = f'"{real}"'
        params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True)
                  if not k.lower().startswith("q-") and k.lower() != TOKEN_HEADER]
        url = f"{self.upstream}/{quote(bucket)}{quote(object_path, safe='/-_.~')}"
        if params:
            url += "?" + "&".join(quote(k, safe="-_.~") if v == "" else
                                  f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                                  for k, v in params)
        resp = self._session.request(h.command, url, headers=out, data=body or None,
                                     stream=True, timeout=(10, 120), allow_redirects=False)
        try:
            h.send_response(resp.status_code)
            content_type = resp.headers.get("Content-Type", "")
            has_length = "content-length" in {k.lower() for k in resp.headers}
            sse = resp.headers.get("x-amz-server-side-encryption")
            if sse is None and bucket in self.sse_buckets and resp.status_code < 300:
                sse = "AES256"  # moto names it on some answers only
            payload = None
            if h.command != "HEAD" and ("xml" in content_type or not has_length):
                payload = _S3_NS.sub(b"", resp.content)
                if resp.status_code >= 400:
                    payload = _cos_error_xml(payload, h.path, request_id)
                elif sse:
                    payload = re.sub(rb"<ETag>([^<]*)</ETag>", lambda m: b"<ETag>" + self._stand_in(
                        m.group(1).decode()).encode() + b"</ETag>", payload)
            if sse:
                h.send_header("x-cos-server-side-encryption", sse)
            for name, value in resp.headers.items():
                lname = name.lower()
                if lname.startswith("x-amz-meta-"):
                    h.send_header("x-cos-meta-" + lname[len("x-amz-meta-"):], value)
                elif lname == "etag" and sse:
                    h.send_header(name, self._stand_in(value))
                elif lname in _PASS_RESPONSE and not (payload is not None
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

    @staticmethod
    def _writes_object(method: str, query: str, headers: dict[str, str]) -> bool:
        """A request creating an object: PUT (upload or copy, not a part), or the POST that
        starts a multipart upload."""
        args = parse_qs(query, keep_blank_values=True)
        if method == "PUT":
            return not ({"partNumber", "tagging", "acl"} & set(args))
        return method == "POST" and "uploads" in args

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
        body = _error_xml(code, message, urlsplit(h.path).path, request_id)
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


def _copy_source(value: str) -> str:
    """``<bucket>.cos.<region>.myqcloud.com/<key>[?versionId=…]`` → ``/<bucket>/<key>``."""
    text = value.split("://", 1)[-1]
    host, _, path = text.partition("/")
    m = COS_HOST.match(host)
    bucket = m.group("bucket") if m else host
    return f"/{bucket}/{path}"


def _error_xml(code: str, message: str, resource: str, request_id: str) -> bytes:
    """An error body shaped like COS's (the SDK wants Code, Message, Resource, RequestId)."""
    return (f"<?xml version='1.0' encoding='utf-8' ?><Error><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message><Resource>{escape(resource)}</Resource>"
            f"<RequestId>{request_id}</RequestId><TraceId>{request_id}</TraceId>"
            f"</Error>").encode()


def _cos_error_xml(payload: bytes, path: str, request_id: str) -> bytes:
    code = re.search(rb"<Code>([^<]*)</Code>", payload)
    message = re.search(rb"<Message>([^<]*)</Message>", payload)
    return _error_xml(code.group(1).decode() if code else "InternalError",
                      message.group(1).decode() if message else "",
                      urlsplit(path).path, request_id)
