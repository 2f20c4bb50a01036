"""Checking OSS V4 signatures (``OSS4-HMAC-SHA256``) the way the service does, and making
presigned V4 URLs (what DMS hands out for its results).

Self-contained on purpose: the sandbox must not import the bundle (``shared``). Written from
OSS's "Include a V4 signature in the header" page and the V2 Python SDK's signer
(``alibabacloud_oss_v2/signer/v4.py``, which that page points to); sources in SOURCES.md.

A request signed in its header carries::

    Authorization: OSS4-HMAC-SHA256 Credential=<AK>/<yyyymmdd>/<region>/oss/aliyun_v4_request,
                   AdditionalHeaders=<names;…>, Signature=<64 hex>
    x-oss-date: <yyyymmddTHHMMSSZ>    x-oss-content-sha256: UNSIGNED-PAYLOAD

a presigned URL the same as query parameters (``x-oss-signature-version``, ``x-oss-credential``,
``x-oss-date``, ``x-oss-expires``, ``x-oss-additional-headers``, ``x-oss-signature``). The
server rebuilds::

    canonical = METHOD \\n quote("/<bucket>/<key>") \\n sorted query pairs (as sent) \\n
                "name:value\\n" for x-oss-*, content-type, content-md5 and the additional
                headers, sorted \\n additional names \\n x-oss-content-sha256
    to_sign   = "OSS4-HMAC-SHA256" \\n x-oss-date \\n scope \\n sha256hex(canonical)
    key       = HMAC chain over "aliyun_v4"+secret: date, region, "oss", "aliyun_v4_request"

Temporary credentials also need ``x-oss-security-token`` (header, or query in a URL) equal to
the token they were issued with, until they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from urllib.parse import quote, unquote

from sandbox.cos_auth import Credential, CredentialStore

ALGORITHM = "OSS4-HMAC-SHA256"
TERMINATOR = "aliyun_v4_request"
TOKEN = "x-oss-security-token"
SKEW_S = 15 * 60  # header signatures: the request time within 15 minutes of the server's
MAX_EXPIRES_S = 7 * 24 * 3600  # a presigned V4 URL lives at most 7 days
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# the EC of a cause no published page names (OSS: clients must not rely on EC values)
UNKNOWN_EC = "0000-00000000"


class OssAuthError(Exception):
    """Why a request was refused, as OSS says it (``ec``: its fine-grained error code)."""

    def __init__(self, status: int, code: str, message: str, ec: str = "") -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.ec = ec


MISMATCH = ("SignatureDoesNotMatch", "The request signature we calculated does not match "
            "the signature you provided. Check your key and signing method.", "0002-00000201")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signature(secret: str, date: str, region: str, string_to_sign: str) -> str:
    key = _hmac(("aliyun_v4" + secret).encode("utf-8"), date)
    for part in (region, "oss", TERMINATOR):
        key = _hmac(key, part)
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def canonical_request(method: str, bucket: str, key: str, query: str,
                      headers: Mapping[str, str], additional: list[str]) -> str:
    """``query``: the raw query string as sent (without ``x-oss-signature``); ``headers``:
    lower-cased names."""
    uri = quote(f"/{bucket}/{key}" if bucket else "/", safe="/")
    pairs = sorted(pair.partition("=")[::2] for pair in query.split("&") if pair)
    canonical_query = "&".join(f"{k}={v}" if v else k for k, v in pairs)
    signed = sorted((name, value) for name, value in headers.items()
                    if name.startswith("x-oss-") or name in ("content-type", "content-md5")
                    or name in additional)
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in signed)
    payload = headers.get("x-oss-content-sha256", "UNSIGNED-PAYLOAD")
    return (f"{method}\n{uri}\n{canonical_query}\n{canonical_headers}\n"
            f"{';'.join(additional)}\n{payload}")


def string_to_sign(when: str, scope: str, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{when}\n{scope}\n{digest}"


def _parse_header(value: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for item in value[len(ALGORITHM):].split(","):
        name, _, text = item.strip().partition("=")
        fields[name] = text.strip()
    return fields


def _parse_time(text: str) -> float:
    try:
        return datetime.strptime(text, DATE_FORMAT).replace(tzinfo=timezone.utc).timestamp()
    except ValueError as exc:
        raise OssAuthError(403, "AccessDenied", "x-oss-date is malformed",
                           UNKNOWN_EC) from exc


def verify(method: str, bucket: str, key: str, query: str, headers: Mapping[str, str],
           credentials: CredentialStore, region: str, *, now: float | None = None
           ) -> Credential:
    """Check one request (``bucket``/``key`` decoded, ``query`` raw, ``headers`` lower-cased);
    the credential that signed it, or :class:`OssAuthError`."""
    now = time.time() if now is None else now
    pairs = [pair.partition("=")[::2] for pair in query.split("&") if pair]
    params = {k: unquote(v) for k, v in pairs}
    auth = headers.get("authorization", "")
    if auth.startswith(ALGORITHM):
        fields = _parse_header(auth)
        when, given = headers.get("x-oss-date", ""), fields.get("Signature", "")
        credential, extra = fields.get("Credential", ""), fields.get("AdditionalHeaders", "")
        signed_query, token = query, headers.get(TOKEN)
        if abs(_parse_time(when) - now) > SKEW_S:
            raise OssAuthError(403, "RequestTimeTooSkewed", "The difference between the "
                               "request time and the current time is too large.",
                               "0002-00000504")
    elif params.get("x-oss-signature-version") == ALGORITHM:
        when, given = params.get("x-oss-date", ""), params.get("x-oss-signature", "")
        credential, extra = params.get("x-oss-credential", ""), params.get(
            "x-oss-additional-headers", "")
        signed_query = "&".join(p for p in query.split("&")
                                if p.partition("=")[0] != "x-oss-signature")
        token = params.get(TOKEN)
        expires = params.get("x-oss-expires", "")
        if not expires.isdigit() or not 1 <= int(expires) <= MAX_EXPIRES_S:
            raise OssAuthError(400, "InvalidArgument", "x-oss-expires must be 1 to 604800",
                               "0002-00000232")
        if now > _parse_time(when) + int(expires):
            raise OssAuthError(403, "AccessDenied", "Request has expired.", "0002-00000236")
    elif auth or "Signature" in params or "OSSAccessKeyId" in params:
        raise OssAuthError(403, "AccessDenied", "this endpoint takes V4 signatures "
                           "(OSS4-HMAC-SHA256) only", "0002-00000034")
    else:
        raise OssAuthError(403, "AccessDenied", "You have no right to access this object "
                           "because of bucket acl.", "0003-00000001")
    access_key, _, scope = credential.partition("/")
    sign_date, sign_region, product, terminator = (scope.split("/") + ["", "", "", ""])[:4]
    if not (access_key and given and when) or product != "oss" or terminator != TERMINATOR \
            or sign_date != when[:8]:
        raise OssAuthError(403, *MISMATCH)
    if sign_region != region:
        raise OssAuthError(403, "SignatureDoesNotMatch", f"Invalid signing region in "
                           f"Authorization header, expected {region}", "0002-00000201")
    cred = credentials.get(access_key)
    if cred is None:
        raise OssAuthError(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided "
                           "does not exist in our records.", UNKNOWN_EC)
    if cred.token is not None and token != cred.token:
        raise OssAuthError(403, "InvalidAccessKeyId" if token is None else "InvalidSecurityToken",
                           "The security token you provided is invalid.", UNKNOWN_EC)
    if cred.expires_at is not None and now > cred.expires_at:
        raise OssAuthError(403, "SecurityTokenExpired", "The security token you provided "
                           "has expired.", UNKNOWN_EC)
    additional = sorted(n for n in extra.lower().split(";") if n)
    canonical = canonical_request(method, bucket, key, signed_query, headers, additional)
    expected = signature(cred.secret_key, when[:8], region,
                         string_to_sign(when, scope, canonical))
    if not hmac.compare_digest(expected, given):
        raise OssAuthError(403, *MISMATCH)
    return cred


def presign(cred: Credential, region: str, bucket: str, key: str, expires_s: int, *,
            method: str = "GET", now: float | None = None) -> str:
    """The query string of a V4-presigned URL of ``/<bucket>/<key>`` (signature last), as the
    SDK's ``presign`` builds it."""
    now = time.time() if now is None else now
    when = datetime.fromtimestamp(now, timezone.utc).strftime(DATE_FORMAT)
    scope = f"{when[:8]}/{region}/oss/{TERMINATOR}"
    pairs = [("x-oss-signature-version", ALGORITHM), ("x-oss-date", when),
             ("x-oss-expires", str(int(expires_s))),
             ("x-oss-credential", quote(f"{cred.secret_id}/{scope}", safe=""))]
    if cred.token:
        pairs.append((TOKEN, quote(cred.token, safe="")))
    query = "&".join(f"{k}={v}" for k, v in pairs)
    canonical = canonical_request(method, bucket, key, query, {}, [])
    sig = signature(cred.secret_key, when[:8], region, string_to_sign(when, scope, canonical))
    return f"{query}&x-oss-signature={sig}"
