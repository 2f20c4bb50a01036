"""How a COS request reads as an S3 one, for the gateway (:mod:`sandbox.cos_gateway`).

The bucket comes from the ``Host`` header (``<bucket>.cos.<region>.myqcloud.com``) or, for a
Host that is no COS name, from the path (``/<bucket>/<key>``: a presigned sandbox URL). COS
headers become S3's (``x-cos-meta-*`` → ``x-amz-meta-*``, ``x-cos-copy-source`` →
``x-amz-copy-source``, the metadata directive, copy ranges and conditions, encryption, the
storage class and tags) and the COS signature's query parameters are dropped from the
forwarded URL. :func:`cos_answer_header` turns S3's answer headers back.

Must not import ``shared``: it stands for the real service.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, parse_qsl, quote, unquote

from sandbox.cos_auth import TOKEN_HEADER, CosAuthError

COS_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9-]*)\.cos\.(?P<region>[a-z0-9-]+)"
                      r"\.myqcloud\.com(?::\d+)?$")
_DIRECTIVES = {"replaced": "REPLACE", "copy": "COPY"}
SSE_TO_S3 = {"AES256": "AES256", "cos/kms": "aws:kms"}  # SSE-COS, SSE-KMS
SSE_TO_COS = {v: k for k, v in SSE_TO_S3.items()}
# COS's storage classes (PUT Object, Initiate Multipart Upload: x-cos-storage-class) kept in
# moto as the S3 class nearest in behaviour, one each so that the answer names the COS one:
# the archive classes as S3's (not readable before a restore, in COS as in moto)
CLASS_TO_S3 = {
    "STANDARD": "STANDARD", "STANDARD_IA": "STANDARD_IA",
    "INTELLIGENT_TIERING": "INTELLIGENT_TIERING", "ARCHIVE": "GLACIER",
    "DEEP_ARCHIVE": "DEEP_ARCHIVE", "MAZ_STANDARD": "REDUCED_REDUNDANCY",
    "MAZ_STANDARD_IA": "ONEZONE_IA", "MAZ_INTELLIGENT_TIERING": "GLACIER_IR",
}
CLASS_TO_COS = {v: k for k, v in CLASS_TO_S3.items()}
_PASS_REQUEST = ("content-type", "content-md5", "content-disposition", "content-encoding",
                 "cache-control", "expires", "range", "if-match", "if-none-match",
                 "if-modified-since", "if-unmodified-since", "if-range")
# S3 answer headers passed back as they are
PASS_RESPONSE = ("content-type", "content-length", "content-range", "etag", "last-modified",
                 "accept-ranges", "content-md5", "content-encoding", "content-disposition",
                 "cache-control", "expires", "location")
_COPY_HEADERS = {
    "x-cos-copy-source-range": "x-amz-copy-source-range",
    "x-cos-copy-source-if-match": "x-amz-copy-source-if-match",
    "x-cos-copy-source-if-none-match": "x-amz-copy-source-if-none-match",
}


def bucket_and_path(host: str, raw_path: str) -> tuple[str, str]:
    """The bucket and the object path (``/<key>``, unquoted) a request names."""
    m = COS_HOST.match(host)
    if m:
        return m.group("bucket"), unquote(raw_path)
    segments = raw_path.lstrip("/").split("/", 1)
    if not segments[0]:
        raise CosAuthError(400, "InvalidURI", "no bucket in Host or path")
    return unquote(segments[0]), "/" + unquote(segments[1] if len(segments) > 1 else "")


def s3_headers(headers: dict[str, str]) -> dict[str, str]:
    """The S3 request headers for these COS ones (lower-case names), signature not included."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        if name in _PASS_REQUEST:
            out[name] = value
        elif name.startswith("x-cos-meta-"):
            out["x-amz-meta-" + name[len("x-cos-meta-"):]] = value
        elif name == "x-cos-copy-source":
            out["x-amz-copy-source"] = copy_source(value)
        elif name == "x-cos-metadata-directive":
            out["x-amz-metadata-directive"] = _DIRECTIVES.get(value.lower(), value)
        elif name in _COPY_HEADERS:
            out[_COPY_HEADERS[name]] = value
        elif name == "x-cos-server-side-encryption":
            out["x-amz-server-side-encryption"] = SSE_TO_S3.get(value, value)
        elif name == "x-cos-server-side-encryption-cos-kms-key-id":
            out["x-amz-server-side-encryption-aws-kms-key-id"] = value
        elif name == "x-cos-storage-class":
            out["x-amz-storage-class"] = CLASS_TO_S3.get(value.upper(), value)
        elif name == "x-cos-tagging":
            out["x-amz-tagging"] = value
    return out


def cos_answer_header(name: str, value: str) -> tuple[str, str] | None:
    """The COS answer header for an S3 one about encryption or the storage class (None: not
    one of those)."""
    if name == "x-amz-server-side-encryption":
        return "x-cos-server-side-encryption", SSE_TO_COS.get(value, value)
    if name == "x-amz-server-side-encryption-aws-kms-key-id":
        return "x-cos-server-side-encryption-cos-kms-key-id", value
    if name == "x-amz-storage-class":
        return "x-cos-storage-class", CLASS_TO_COS.get(value, value)
    return None


def s3_url(upstream: str, bucket: str, object_path: str, query: str) -> str:
    """The upstream URL, path-style, with the query less the COS signature's parameters."""
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True)
              if not k.lower().startswith("q-") and k.lower() != TOKEN_HEADER]
    url = f"{upstream}/{quote(bucket)}{quote(object_path, safe='/-_.~')}"
    if params:
        url += "?" + "&".join(quote(k, safe="-_.~") if v == "" else
                              f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
                              for k, v in params)
    return url


def writes_object(method: str, query: str) -> bool:
    """A request creating an object: PUT (upload or copy, not a part), or the POST that
    starts a multipart upload."""
    args = parse_qs(query, keep_blank_values=True)
    if method == "PUT":
        return not ({"partNumber", "tagging", "acl"} & set(args))
    return method == "POST" and "uploads" in args


def copy_source(value: str) -> str:
    """``<bucket>.cos.<region>.myqcloud.com/<key>[?versionId=…]`` → ``/<bucket>/<key>``."""
    text = value.split("://", 1)[-1]
    host, _, path = text.partition("/")
    m = COS_HOST.match(host)
    bucket = m.group("bucket") if m else host
    return f"/{bucket}/{path}"
