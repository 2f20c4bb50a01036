"""Who may call the API: an API key (``X-Api-Key`` or ``Authorization: Bearer``) or an HMAC
request signature (``X-Courier-Signature``, ``X-Courier-Timestamp``) made with one of the keys.

Both are checked on the REST-shaped event before any route runs; the ``none`` mode (sandbox and
local runs) lets every request through. Keys are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import Any

from shared.config import Settings
from shared.errors import AuthError, ValidationError

SIGNATURE_TOLERANCE_S = 300


def raw_body(rest: dict[str, Any]) -> bytes:
    """The request body as bytes, base64 decoded when the trigger sent it encoded."""
    body = rest.get("body") or ""
    if rest.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationError("body", "is not valid base64") from exc
    return body.encode() if isinstance(body, str) else bytes(body)


def check_size(settings: Settings, rest: dict[str, Any]) -> None:
    if len(raw_body(rest)) > settings.max_body_bytes:
        raise ValidationError("body", f"is larger than {settings.max_body_bytes} bytes")


def check_auth(settings: Settings, rest: dict[str, Any]) -> None:
    if settings.auth == "none":
        return
    headers = {k.lower(): v for k, v in (rest.get("headers") or {}).items()}
    presented = headers.get("x-api-key")
    auth = headers.get("authorization", "")
    if not presented and auth.lower().startswith("bearer "):
        presented = auth[7:].strip()
    if presented:
        if any(hmac.compare_digest(presented.encode(), k.encode()) for k in settings.api_keys):
            return
        raise AuthError("invalid API key")
    signature = headers.get("x-courier-signature")
    if signature:
        check_signature(settings, rest, headers, signature)
        return
    raise AuthError("missing credentials: send X-Api-Key, Authorization: Bearer, or "
                    "X-Courier-Signature")


def check_signature(settings: Settings, rest: dict[str, Any], headers: dict[str, str],
                    signature: str) -> None:
    """``X-Courier-Signature: v1,<base64 HMAC-SHA256(key, ts.METHOD.path.body)>``."""
    try:
        stamp = int(headers.get("x-courier-timestamp", ""))
    except ValueError as exc:
        raise AuthError("X-Courier-Timestamp must be Unix seconds") from exc
    if abs(time.time() - stamp) > SIGNATURE_TOLERANCE_S:
        raise AuthError("X-Courier-Timestamp is too far from now")
    message = b".".join([str(stamp).encode(), rest["httpMethod"].encode(),
                         rest["path"].encode(), raw_body(rest)])
    offered = [s.split(",", 1)[1] for s in signature.split() if s.startswith("v1,")]
    for key in settings.api_keys:
        expected = base64.b64encode(
            hmac.new(key.encode(), message, hashlib.sha256).digest()).decode()
        if any(hmac.compare_digest(expected, o) for o in offered):
            return
    raise AuthError("invalid signature")
