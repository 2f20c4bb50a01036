"""How a COS request reads as an S3 one, for the gateway (:mod:`sandbox.cos_gateway`).

The bucket comes from the ``Host`` header (``<bucket>.cos.<region>.myqcloud.com``) or, for a
Host that is no COS name, from the path (``/<bucket>/<key>``: a presigned sandbox URL). COS
headers become S3's (``x-cos-meta-*`` → ``x-amz-meta-*``, ``x-cos-copy-source`` →
``x-amz-copy-source``, the metadata directive, copy ranges and conditions, encryption) and
the COS signature's query parameters are dropped from the forwarded URL.

Must not import ``shared``: it stands for the real service.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, parse_qsl, quote, unquote

from sandbox.cos_auth import TOKEN_HEADER, CosAuthError

COS_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9-]*)\.cos\.(?P<region>[a-z0-9-]+)"
                      r"\.myqcloud\.com(?::\d+)?$")
_DIRECTIVES = {"replaced": "REPLACE", "copy": "COPY"}
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
            out["x-amz-server-side-encryption"] = "AES256" if value == "AES256" else value
    return out


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
