"""Who may call the API: an API key (``X-Api-Key`` or ``Authorization: Bearer``) or an HMAC
request signature (``X-Courier-Signature``, ``X-Courier-Timestamp``) made with one of the keys.

Both are checked on the REST-shaped event before any route runs; the ``none`` mode (sandbox and
local runs) lets every request through. Keys are compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from shared.config import Settings
from shared.errors import AuthError

SIGNATURE_TOLERANCE_S = 300


def check_auth(settings: Settings, rest: dict[str, Any], body: bytes) -> None:
    """Raise :class:`AuthError` unless the request carries a valid key or signature;
    ``body`` is the request body as bytes (as decoded by :mod:`shared.http.decode`)."""
    if settings.auth == "none":
        return
    headers = {k.lower(): v for k, v in (rest.get("headers") or {}).items()}
    presented = headers.get("x-api-key")
    auth = headers.get("authorization", "")
    if not presented and auth.lower().startswith("bearer "):
        presented = auth[7:].strip()
    if presented:
        offered_key = presented.encode("utf-8", "surrogatepass")
        if any(hmac.compare_digest(offered_key, k.encode()) for k in settings.api_keys):
            return
        raise AuthError("invalid API key")
    signature = headers.get("x-courier-signature")
    if signature:
        check_signature(settings, rest, headers, signature, body)
        return
    raise AuthError("missing credentials: send X-Api-Key, Authorization: Bearer, or "
                    "X-Courier-Signature")


def check_signature(settings: Settings, rest: dict[str, Any], headers: dict[str, str],
                    signature: str, body: bytes) -> None:
    """``X-Courier-Signature: v1,<base64 HMAC-SHA256(key, ts.METHOD.path.body)>``."""
    raw_stamp = headers.get("x-courier-timestamp", "").strip()
    if not (raw_stamp.isascii() and raw_stamp.isdigit()) or len(raw_stamp) > 12:
        raise AuthError("X-Courier-Timestamp must be Unix seconds")
    stamp = int(raw_stamp)
    if abs(time.time() - stamp) > SIGNATURE_TOLERANCE_S:
        raise AuthError("X-Courier-Timestamp is too far from now")
    message = b".".join([str(stamp).encode(), rest["httpMethod"].encode("utf-8", "surrogatepass"),
                         rest["path"].encode("utf-8", "surrogatepass"), body])
    offered = [s.split(",", 1)[1].encode("utf-8", "surrogatepass")
               for s in signature.split() if s.startswith("v1,")]
    for key in settings.api_keys:
        expected = base64.b64encode(
            hmac.new(key.encode(), message, hashlib.sha256).digest())
        if any(hmac.compare_digest(expected, o) for o in offered):
            return
    raise AuthError("invalid signature")
