"""ACS3-HMAC-SHA256 verification, the way Alibaba Cloud's OpenAPI gateway checks a request.

The client sends ``Authorization: ACS3-HMAC-SHA256 Credential=<AccessKeyId>,
SignedHeaders=<names;...>,Signature=<hex>`` and ``x-acs-content-sha256`` (hex SHA-256 of the
body). The gateway rebuilds::

    CanonicalRequest = METHOD \\n path \\n canonical query \\n canonical headers \\n
                       signed header names \\n x-acs-content-sha256
    StringToSign     = "ACS3-HMAC-SHA256" \\n hex(sha256(CanonicalRequest))
    Signature        = hex(hmac_sha256(AccessKeySecret, StringToSign))

where the canonical query is the decoded parameters sorted by name, ``name=value`` joined by
``&``, each value percent-encoded leaving only ``A-Za-z0-9_.-~``; canonical headers are the
signed headers, lower-case ``name:value`` lines (trimmed; repeated headers joined with ``,``
after sorting). ``x-acs-date`` must be within 15 minutes and ``x-acs-signature-nonce`` must
not repeat. With STS credentials, ``x-acs-security-token`` must be the issued token.

Self-contained: it stands for the vendor's gateway and imports nothing from the bundle.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import re
import threading
import time
from calendar import timegm
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, quote

ALGORITHM = "ACS3-HMAC-SHA256"
MAX_SKEW_S = 15 * 60
_AUTH = re.compile(r"^ACS3-HMAC-SHA256\s+Credential=(?P<ak>[^,\s]+),\s*"
                   r"SignedHeaders=(?P<headers>[a-z0-9;\-]*),\s*Signature=(?P<sig>[0-9a-f]{64})$")


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    secret: str
    security_token: Optional[str] = None  # STS credentials carry one

    def __repr__(self) -> str:
        return f"AccessKey({self.access_key_id!r}, sts={self.security_token is not None})"


class AcsError(Exception):
    """A gateway refusal: HTTP status, the vendor's error code and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class NonceCache:
    """Nonces seen recently (bounded), so a replayed request is refused."""

    def __init__(self, size: int = 100_000) -> None:
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def add(self, nonce: str) -> bool:
        """False when ``nonce`` was already used."""
        with self._lock:
            if nonce in self._seen:
                return False
            self._seen[nonce] = None
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return True


def canonical_query(query: str) -> str:
    pairs = dict(parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{k}={quote(pairs[k], safe='~')}" for k in sorted(pairs))


def canonical_headers(names: list[str], get_all: Callable[[str], list[str]]) -> str:
    lines = []
    for name in names:
        values = get_all(name)
        if not values:
            raise AcsError(400, "IncompleteSignature",
                           f"the signed header {name} is not in the request")
        lines.append(f"{name}:{','.join(sorted(v.strip() for v in values))}\n")
    return "".join(lines)


def string_to_sign(method: str, path: str, query: str, names: list[str],
                   get_all: Callable[[str], list[str]], payload_hash: str) -> str:
    canonical = "\n".join([method, path or "/", canonical_query(query),
                           canonical_headers(names, get_all), ";".join(names), payload_hash])
    return f"{ALGORITHM}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


def verify(method: str, path: str, query: str, get_all: Callable[[str], list[str]],
           body: bytes, lookup: Callable[[str], Optional[AccessKey]],
           nonces: Optional[NonceCache] = None, now: Optional[float] = None) -> AccessKey:
    """Check one request; ``get_all(name)`` returns every value of a header. Raises
    :class:`AcsError` the way the gateway answers."""

    def one(name: str) -> Optional[str]:
        values = get_all(name)
        return values[0].strip() if values else None

    auth = one("authorization")
    if not auth:
        raise AcsError(400, "MissingAuthorization", "Authorization is mandatory for this "
                                                    "action.")
    m = _AUTH.match(auth)
    if not m:
        raise AcsError(400, "IncompleteSignature", "The request signature does not conform "
                                                   "to Aliyun standards.")
    payload_hash = one("x-acs-content-sha256") or ""
    if payload_hash != hashlib.sha256(body).hexdigest():
        raise AcsError(400, "IncompleteSignature", "x-acs-content-sha256 does not match "
                                                   "the request body.")
    date = one("x-acs-date")
    current = time.time() if now is None else now
    try:
        signed_at = timegm(time.strptime(date or "", "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        raise AcsError(400, "InvalidTimeStamp.Format", "Specified time stamp or date value "
                                                       "is not well formatted.") from None
    if abs(current - signed_at) > MAX_SKEW_S:
        raise AcsError(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value "
                                                        "is expired.")
    key = lookup(m.group("ak"))
    if key is None:
        raise AcsError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not "
                                                           "found.")
    names = [n for n in m.group("headers").split(";") if n]
    for required in ("host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"):
        if required not in names:
            raise AcsError(400, "IncompleteSignature", f"{required} must be signed.")
    expected = hmac.new(key.secret.encode("utf-8"),
                        string_to_sign(method, path, query, names, get_all,
                                       payload_hash).encode("utf-8"),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, m.group("sig")):
        raise AcsError(400, "SignatureDoesNotMatch", "Specified signature does not match our "
                                                     "calculation.")
    if key.security_token is not None and one("x-acs-security-token") != key.security_token:
        raise AcsError(400, "InvalidSecurityToken.Mismatch", "Specified security token "
                                                             "does not match the access key.")
    if nonces is not None and not nonces.add(one("x-acs-signature-nonce") or ""):
        raise AcsError(400, "SignatureNonceUsed", "Specified signature nonce was used "
                                                  "already.")
    return key


def answer_json(h: Any, status: int, payload: dict[str, Any]) -> None:
    """Send an RPC answer (flat JSON) on the request handler ``h``."""
    data = json.dumps(payload).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json;charset=utf-8")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)


def gateway_error(h: Any, status: int, code: str, message: str, request_id: str) -> None:
    """The gateway's error answer: HTTP 4xx/5xx with ``Code`` / ``Message``."""
    answer_json(h, status, {"RequestId": request_id, "HostId": h.headers.get("Host", ""),
                            "Code": code, "Message": message,
                            "Recommend": "https://api.aliyun.com/troubleshoot"})
