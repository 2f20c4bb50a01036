"""How an OSS request reads as an S3 one and back, for the gateway (:mod:`sandbox.oss_gateway`).

The bucket comes from the ``Host`` (``<bucket>.oss-<region>.aliyuncs.com``) or, for a Host that
is no OSS name (an IP endpoint, which the V2 SDK addresses path-style), from the path
(``/<bucket>/<key>``). OSS headers become S3's (``x-oss-meta-*`` → ``x-amz-meta-*``,
``x-oss-copy-source`` → ``x-amz-copy-source``, its range and condition, the metadata
directive, tagging and its directive, encryption and the KMS key, the storage class) and the V4
signature's query parameters are dropped from the forwarded URL. :func:`refused_protection`
answers what OSS refuses of those before anything is written (an unknown class or algorithm),
:func:`oss_answer_header` turns S3's encryption and class answers back. Answers go back
with ``x-oss-*`` names, the S3 namespace stripped and errors in OSS's
shape: ``Code``, ``Message``, ``RequestId``, ``HostId``, ``EC`` (and ``x-oss-ec``; a HEAD
error, which has no body, carries the XML base64-encoded in ``x-oss-err``).

Must not import ``shared``: it stands for the real service.
"""

from __future__ import annotations

import base64
import re
from html import escape
from urllib.parse import parse_qs, quote, unquote

from sandbox.oss_auth import UNKNOWN_EC, OssAuthError

OSS_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9-]{1,61}[a-z0-9])\.oss-(?P<region>[a-z0-9-]+?)"
                      r"(?:-internal)?\.aliyuncs\.com(?::\d+)?$")
CRC_HEADER = "x-oss-hash-crc64ecma"
_PASS_REQUEST = ("content-type", "content-md5", "content-disposition", "content-encoding",
                 "cache-control", "expires", "range", "if-match", "if-none-match",
                 "if-modified-since", "if-unmodified-since")
_RENAMED = {
    "x-oss-copy-source-range": "x-amz-copy-source-range",
    "x-oss-copy-source-if-match": "x-amz-copy-source-if-match",
    "x-oss-copy-source-if-none-match": "x-amz-copy-source-if-none-match",
    "x-oss-metadata-directive": "x-amz-metadata-directive",
    "x-oss-tagging": "x-amz-tagging",
    "x-oss-server-side-encryption-key-id": "x-amz-server-side-encryption-aws-kms-key-id",
}
# OSS's encryption algorithms (PutObject: x-oss-server-side-encryption) as S3's; SM4 has none
SSE_TO_S3 = {"AES256": "AES256", "KMS": "aws:kms"}
SSE_NAMES = frozenset({"AES256", "KMS", "SM4"})
# OSS's storage classes (PutObject, InitiateMultipartUpload, CopyObject: x-oss-storage-class)
# kept in moto as the S3 class nearest in behaviour, the archive ones unreadable before a
# restore in moto as in OSS; DeepColdArchive has no third such class in moto
CLASS_TO_S3 = {"Standard": "STANDARD", "IA": "STANDARD_IA", "Archive": "GLACIER",
               "ColdArchive": "DEEP_ARCHIVE"}
CLASS_NAMES = frozenset({*CLASS_TO_S3, "DeepColdArchive"})
_DIRECTIVES = {"copy": "COPY", "replace": "REPLACE"}
# S3 error codes moto answers that OSS spells otherwise: code -> status, code, message, EC
# (OSS "HTTP 404 errors": KeyNotFound; EC page 0005-00000208: the CMK id is not in KMS)
S3_TO_OSS_ERROR = {"KMS.NotFoundException": (404, "KeyNotFound", "The specified parameter KMS "
                                             "keyId is not found", "0005-00000208")}
# S3 answer headers passed back as they are
PASS_RESPONSE = ("content-type", "content-length", "content-range", "etag", "last-modified",
                 "accept-ranges", "content-md5", "content-encoding", "content-disposition",
                 "cache-control", "expires")
_SIGNING_PARAMS = ("x-oss-signature-version", "x-oss-credential", "x-oss-date",
                   "x-oss-expires", "x-oss-additional-headers", "x-oss-signature",
                   "x-oss-security-token", "encoding-type")
# EC per code where a published page or example names it (sandbox/SOURCES.md)
EC = {"NoSuchKey": "0026-00000001", "MalformedXML": "0031-00000001",
      "MissingArgument": "0016-00000502", "EntityTooSmall": "0042-00000213",
      "AccessDenied": "0003-00000001", "SignatureDoesNotMatch": "0002-00000201"}
# S3 codes moto answers that OSS spells the same; any other is passed on as it is
STATUS_OF = {"NoSuchKey": 404, "NoSuchBucket": 404, "NoSuchUpload": 404, "InvalidPart": 400,
             "InvalidPartOrder": 400, "EntityTooSmall": 400}


def bucket_and_key(host: str, raw_path: str) -> tuple[str, str]:
    """The bucket and the object key (decoded; empty for a bucket request)."""
    m = OSS_HOST.match(host)
    if m:
        return m.group("bucket"), unquote(raw_path.lstrip("/"))
    bucket, _, key = raw_path.lstrip("/").partition("/")
    if not bucket:
        raise OssAuthError(400, "InvalidBucketName", "no bucket in Host or path", UNKNOWN_EC)
    return unquote(bucket), unquote(key)


def action(method: str, query: str, headers: dict[str, str], key: str) -> str | None:
    """The OSS API a request calls (None: one the gateway does not serve)."""
    args = parse_qs(query, keep_blank_values=True)
    copy = bool(headers.get("x-oss-copy-source"))
    if not key:
        return "PutBucket" if method == "PUT" and not args else None
    if "tagging" in args:
        return {"PUT": "PutObjectTagging", "GET": "GetObjectTagging",
                "DELETE": "DeleteObjectTagging"}.get(method)
    if method == "PUT":
        if "partNumber" in args and "uploadId" in args:
            return "UploadPartCopy" if copy else "UploadPart"
        return None if args else ("CopyObject" if copy else "PutObject")
    if method == "POST":
        if "uploadId" in args:
            return "CompleteMultipartUpload"
        return "InitiateMultipartUpload" if "uploads" in args else None
    if method == "GET":
        return "ListParts" if "uploadId" in args else "GetObject"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in args else "DeleteObject"
    return "HeadObject" if method == "HEAD" else None


def copy_source(value: str) -> tuple[str, str]:
    """``/<bucket>/<url-encoded key>[?versionId=…]`` → bucket and decoded key."""
    bucket, _, key = value.split("?", 1)[0].lstrip("/").partition("/")
    return unquote(bucket), unquote(key)


def s3_headers(headers: dict[str, str]) -> dict[str, str]:
    """The S3 request headers for these OSS ones (lower-case names), signature not included."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name in _PASS_REQUEST:
            out[name] = value
        elif name.startswith("x-oss-meta-"):
            out["x-amz-meta-" + name[len("x-oss-meta-"):]] = value
        elif name == "x-oss-copy-source":
            bucket, key = copy_source(value)
            out["x-amz-copy-source"] = f"/{quote(bucket)}/{quote(key, safe='/')}"
        elif name in _RENAMED:
            out[_RENAMED[name]] = value
        elif name == "x-oss-tagging-directive":
            out["x-amz-tagging-directive"] = _DIRECTIVES.get(value.strip().lower(), value)
        elif name == "x-oss-server-side-encryption":
            out["x-amz-server-side-encryption"] = SSE_TO_S3.get(value.strip(), value)
        elif name == "x-oss-storage-class":
            out["x-amz-storage-class"] = CLASS_TO_S3.get(value.strip(), value)
    return out


def refused_protection(act: str, headers: dict[str, str]) -> tuple[int, str, str, str] | None:
    """What OSS answers a write asking for a storage class or an encryption it does not have
    (status, code, message, EC); None when there is none to refuse. A class or algorithm OSS
    has and the sandbox cannot keep (DeepColdArchive, SM4) is ``501``."""
    wanted = headers.get("x-oss-storage-class")
    if wanted is not None and wanted.strip() not in CLASS_NAMES:
        ec = "0013-00000101" if act == "CopyObject" else (
            "0017-00000132" if wanted.strip() else "0017-00000131")
        return 400, "InvalidArgument", "The value of x-oss-storage-class is invalid.", ec
    sse = headers.get("x-oss-server-side-encryption")
    if sse is not None and sse.strip() not in SSE_NAMES:
        return (400, "InvalidEncryptionAlgorithmError", "The Encryption request you specified "
                "is not valid. Supported value: AES256/KMS/SM4", "")
    if (wanted or "").strip() == "DeepColdArchive" or (sse or "").strip() == "SM4":
        return 501, "NotImplemented", "the sandbox keeps no DeepColdArchive or SM4 objects", ""
    return None


def oss_answer_header(name: str, value: str) -> tuple[str, str] | None:
    """The OSS answer header for an S3 one about encryption or the storage class (None: not
    one of those)."""
    if name == "x-amz-server-side-encryption":
        return "x-oss-server-side-encryption", {v: k for k, v in SSE_TO_S3.items()}.get(
            value, value)
    if name == "x-amz-server-side-encryption-aws-kms-key-id":
        return "x-oss-server-side-encryption-key-id", value
    if name == "x-amz-storage-class":
        return "x-oss-storage-class", {v: k for k, v in CLASS_TO_S3.items()}.get(value, value)
    return None


def s3_url(upstream: str, bucket: str, key: str, query: str) -> str:
    """The upstream URL, path-style, with the query less the signature's parameters."""
    params = [p for p in query.split("&") if p and p.partition("=")[0] not in _SIGNING_PARAMS]
    url = f"{upstream}/{quote(bucket)}/{quote(key, safe='/-_.~')}"
    return url + ("?" + "&".join(params) if params else "")


def error_xml(code: str, message: str, request_id: str, host: str, ec: str = "") -> bytes:
    ec = ec or EC.get(code, UNKNOWN_EC)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId>"
            f"<HostId>{escape(host)}</HostId><EC>{ec}</EC>"
            f"<RecommendDoc>https://api.aliyun.com/troubleshoot?q={ec}</RecommendDoc>"
            f"</Error>").encode()


def from_s3_error(payload: bytes) -> tuple[str, str]:
    """The code and message of an S3 error body."""
    code = re.search(rb"<Code>([^<]*)</Code>", payload)
    message = re.search(rb"<Message>([^<]*)</Message>", payload)
    return (code.group(1).decode() if code else "InternalError",
            message.group(1).decode() if message else "")


def err_header(body: bytes) -> str:
    """``x-oss-err``: the error XML of a body-less (HEAD) answer, base64-encoded."""
    return base64.b64encode(body).decode()


def listed_parts(body: bytes) -> list[int]:
    """The part numbers a CompleteMultipartUpload body lists, in its order."""
    return [int(n) for n in re.findall(rb"<PartNumber>\s*(\d+)\s*</PartNumber>", body)]
