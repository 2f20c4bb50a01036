"""HMAC request signatures: what is signed, and how a client signs (``courier`` does).

A signed request carries ``X-Courier-Timestamp`` (Unix seconds) and
``X-Courier-Signature: v2,<base64 of HMAC-SHA256(key, string to sign)>``, with one of the
API keys as the HMAC key. The string to sign is seven lines joined by ``\\n``:

    v2
    <timestamp>
    <METHOD>
    <path, percent-encoded: every byte but A-Z a-z 0-9 - _ . ~ / as %XX>
    <query: name=value pairs, each percent-encoded as above (and / too), sorted, joined by &>
    <Idempotency-Key header, or empty>
    <lower-case hex SHA-256 of the body bytes (of no bytes when there is no body)>

So a signature holds for one method, path, query, Idempotency-Key and body, within five
minutes of its timestamp, and once: the API refuses a (timestamp, signature) pair it has seen
(:mod:`shared.http.replay`). Each query name is sent once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from urllib.parse import quote

SCHEME = "v2"
TOLERANCE_S = 300
SIGNATURE_HEADER = "X-Courier-Signature"
TIMESTAMP_HEADER = "X-Courier-Timestamp"


def _encode(text: str, safe: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe=safe)


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{_encode(k, '-_.~')}={_encode(v, '-_.~')}" for k, v in sorted(pairs))


def string_to_sign(timestamp: int, method: str, path: str, query: Mapping[str, str],
                   idempotency_key: str | None, body: bytes) -> bytes:
    lines = [SCHEME, str(timestamp), method.upper(), _encode(path, "-_.~/"),
             canonical_query(query.items()), idempotency_key or "",
             hashlib.sha256(body).hexdigest()]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def signature(key: str, message: bytes) -> str:
    """``v2,<base64 HMAC-SHA256>`` of ``message`` with ``key``."""
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return f"{SCHEME},{base64.b64encode(digest).decode()}"


def signed_headers(key: str, method: str, path: str, query: Mapping[str, str] | None = None,
                   body: bytes = b"", idempotency_key: str | None = None,
                   now: float | None = None) -> dict[str, str]:
    """The two headers that sign one request (a client sends them with it)."""
    stamp = int(time.time() if now is None else now)
    message = string_to_sign(stamp, method, path, query or {}, idempotency_key, body)
    return {TIMESTAMP_HEADER: str(stamp), SIGNATURE_HEADER: signature(key, message)}
