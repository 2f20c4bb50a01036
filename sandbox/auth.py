"""TC3-HMAC-SHA256 verification, mirroring how ``tencentcloud.common`` signs a request.

CanonicalRequest = METHOD \\n URI \\n query \\n canonical headers \\n signed headers \\n
hex(sha256(payload)); StringToSign = algorithm \\n timestamp \\n scope \\n
hex(sha256(CanonicalRequest)); the key is the HMAC chain "TC3"+key -> date -> service ->
"tc3_request".
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Optional

from sandbox.errors import ApiError

ALGORITHM = "TC3-HMAC-SHA256"
MAX_SKEW_S = 300

_AUTH_RE = re.compile(
    r"^TC3-HMAC-SHA256\s+Credential=(?P<id>[^/,\s]+)/(?P<date>\d{4}-\d{2}-\d{2})/"
    r"(?P<service>[a-z0-9]+)/tc3_request\s*,\s*SignedHeaders=(?P<headers>[a-z0-9;\-]+)\s*,"
    r"\s*Signature=(?P<sig>[0-9a-f]{64})\s*$")


@dataclass(frozen=True)
class Credential:
    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: Optional[str]) -> Credential:
    if not value:
        raise ApiError("AuthFailure.InvalidAuthorization", "Authorization header is missing")
    m = _AUTH_RE.match(value.strip())
    if not m:
        raise ApiError("AuthFailure.InvalidAuthorization",
                       "Authorization header is not a valid TC3-HMAC-SHA256 credential")
    headers = tuple(h for h in m.group("headers").split(";") if h)
    if "content-type" not in headers or "host" not in headers:
        raise ApiError("AuthFailure.InvalidAuthorization",
                       "SignedHeaders must include content-type and host")
    return Credential(m.group("id"), m.group("date"), m.group("service"), headers,
                      m.group("sig"))


def service_of(value: Optional[str]) -> Optional[str]:
    """The service named in an Authorization header's scope, or None when unreadable."""
    if not value:
        return None
    m = re.search(r"Credential=[^/,\s]+/[^/,\s]*/([A-Za-z0-9]+)/", value)
    return m.group(1) if m else None


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    k_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    k_service = _hmac(k_date, service)
    k_signing = _hmac(k_service, "tc3_request")
    return hmac.new(k_signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _candidates(cred: Credential, method: str, path: str, query: str,
                headers: Mapping[str, str], payload: bytes) -> list[str]:
    """Canonical requests to try: header values as sent, and lower-cased (the documented form)."""
    payload_hash = hashlib.sha256(payload).hexdigest()
    out = []
    for lower in (False, True):
        lines = []
        for name in cred.signed_headers:
            value = (headers.get(name) or "").strip()
            lines.append(f"{name}:{value.lower() if lower else value}\n")
        out.append("\n".join([method, path, query, "".join(lines), ";".join(cred.signed_headers),
                              payload_hash]))
    return out


def verify(method: str, path: str, query: str, headers: Mapping[str, str], body: bytes,
           lookup: Callable[[str], Optional[str]], now: Optional[float] = None) -> Credential:
    """Check a request's signature; ``headers`` keys are lower-case. Raises :class:`ApiError`.

    ``lookup`` maps a SecretId to its SecretKey (None when unknown). Timestamps are checked
    against the real wall clock: the SDK signs with ``time.time()``.
    """
    cred = parse_authorization(headers.get("authorization"))
    raw_ts = headers.get("x-tc-timestamp")
    if raw_ts is None or not raw_ts.strip().isdigit():
        raise ApiError("MissingParameter" if raw_ts is None else "InvalidParameter",
                       "X-TC-Timestamp must be a unix timestamp in seconds")
    timestamp = int(raw_ts)
    current = time.time() if now is None else now
    if abs(current - timestamp) > MAX_SKEW_S:
        raise ApiError("AuthFailure.SignatureExpire",
                       f"signature expired: timestamp {timestamp} is more than {MAX_SKEW_S}s "
                       f"from server time {int(current)}")
    expected_date = datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d")
    if cred.date != expected_date:
        raise ApiError("AuthFailure.InvalidAuthorization",
                       f"credential date {cred.date} does not match X-TC-Timestamp "
                       f"({expected_date})")
    secret_key = lookup(cred.secret_id)
    if secret_key is None:
        raise ApiError("AuthFailure.SecretIdNotFound", "the SecretId is not found")
    payload = body
    if (headers.get("x-tc-content-sha256") or "").strip() == "UNSIGNED-PAYLOAD":
        payload = b"UNSIGNED-PAYLOAD"
    elif method == "GET":
        payload = b""
    scope = f"{cred.date}/{cred.service}/tc3_request"
    for canonical in _candidates(cred, method, path, query, headers, payload):
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        string_to_sign = f"{ALGORITHM}\n{raw_ts.strip()}\n{scope}\n{digest}"
        if hmac.compare_digest(signature(secret_key, cred.date, cred.service, string_to_sign),
                               cred.signature):
            return cred
    raise ApiError("AuthFailure.SignatureFailure",
                   "the provided credentials could not be validated: check your signature")


def check_common(cred: Credential, headers: Mapping[str, str], regional: bool,
                 role_token: Optional[str], token_live: bool = True) -> None:
    """The common headers a signature does not cover (SOURCES.md, "common transport").

    ``regional``: the action takes ``X-TC-Region`` as required (every API unless its page
    says "This parameter is not required", as TCSS's do). ``role_token``: the session token
    of a temporary (role) SecretId, None for a permanent key; ``token_live`` False once that
    temporary key has expired.
    """
    if regional and not (headers.get("x-tc-region") or "").strip():
        raise ApiError("MissingParameter",
                       "The request is missing a required parameter `Region`.")
    if role_token is None:
        return
    sent = (headers.get("x-tc-token") or "").strip()
    if not sent:
        raise ApiError("AuthFailure.TokenFailure",
                       f"the SecretId {cred.secret_id} is temporary: X-TC-Token is missing")
    if not hmac.compare_digest(sent, role_token):
        raise ApiError("AuthFailure.TokenFailure", "the X-TC-Token does not match the SecretId")
    if not token_live:
        raise ApiError("AuthFailure.TokenFailure", "the temporary credentials have expired")


def check_site(host: str, site: Optional[str]) -> None:
    """A request naming a ``tencentcloudapi.com`` host (through a proxy) must name the API
    domain of the account's ``site``: ``intl`` → ``<svc>.intl.tencentcloudapi.com``,
    ``china`` → ``<svc>.tencentcloudapi.com``. None, or any other host (the sandbox's own
    address), is not checked."""
    name = host.split(":", 1)[0].lower().rstrip(".")
    if site is None or not name.endswith("tencentcloudapi.com"):
        return
    on_intl = name.endswith(".intl.tencentcloudapi.com")
    if on_intl != (site == "intl"):
        raise ApiError("AuthFailure.SecretIdNotFound",
                       f"the SecretId is not found on {name}: the account belongs to the "
                       f"{'international' if site == 'intl' else 'China'} site")
