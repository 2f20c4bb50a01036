"""Who may call the API: an API key (``X-Api-Key`` or ``Authorization: Bearer``) or an HMAC
request signature (``X-Courier-Signature``, ``X-Courier-Timestamp``) made with one of the keys
(what is signed: :mod:`shared.http.request_signing`; each signature once:
:mod:`shared.http.replay`).

Both are checked on the REST-shaped event before any route runs; the ``none`` mode (sandbox and
local runs) lets every request through. Keys are compared in constant time.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any

from shared.config import Settings
from shared.errors import AuthError
from shared.http import replay
from shared.http.request_signing import SCHEME, TOLERANCE_S, signature, string_to_sign
from shared.state.base import TaskStore


def check_auth(settings: Settings, rest: dict[str, Any], body: bytes,
               store: Callable[[], TaskStore]) -> None:
    """Raise :class:`AuthError` unless the request carries a valid key or a valid signature
    not used before; ``body`` is the request body as bytes (as decoded by
    :mod:`shared.http.decode`), ``store`` keeps the signatures seen."""
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
    offered = headers.get("x-courier-signature")
    if offered:
        stamp, verified = check_signature(settings, rest, headers, offered, body)
        replay.take_once(store(), stamp, verified)
        return
    raise AuthError("missing credentials: send X-Api-Key, Authorization: Bearer, or "
                    "X-Courier-Signature")


def check_signature(settings: Settings, rest: dict[str, Any], headers: dict[str, str],
                    offered: str, body: bytes) -> tuple[int, str]:
    """The timestamp and the signature that matched, or :class:`AuthError`."""
    raw_stamp = headers.get("x-courier-timestamp", "").strip()
    if not (raw_stamp.isascii() and raw_stamp.isdigit()) or len(raw_stamp) > 12:
        raise AuthError("X-Courier-Timestamp must be Unix seconds")
    stamp = int(raw_stamp)
    if abs(time.time() - stamp) > TOLERANCE_S:
        raise AuthError("X-Courier-Timestamp is too far from now")
    candidates = [s for s in offered.split() if s.startswith(f"{SCHEME},")]
    if not candidates:
        raise AuthError(f"X-Courier-Signature must be {SCHEME},<base64> (v1 signatures are no "
                        "longer taken: they did not cover the query, the Idempotency-Key "
                        "or one use only)")
    message = string_to_sign(stamp, rest["httpMethod"], rest["path"],
                             rest.get("queryStringParameters") or {},
                             headers.get("idempotency-key"), body)
    for key in settings.api_keys:
        expected = signature(key, message)
        for candidate in candidates:
            if hmac.compare_digest(expected.encode(), candidate.encode("utf-8",
                                                                       "surrogatepass")):
                return stamp, expected
    raise AuthError("invalid signature")
