"""Standard Webhooks signatures: ``v1,<base64 HMAC-SHA256>`` over ``id.timestamp.body``.

Secrets are ``whsec_<base64 key>``; during a rotation every configured secret signs and the
signatures go space-separated in one ``webhook-signature`` header, newest first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from typing import Any

USER_AGENT = "export-courier-webhooks/1"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret


def _secret_key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError as exc:
        raise ValueError("webhook secret is not base64 after 'whsec_'") from exc


def sign(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`` (Standard Webhooks)."""
    message = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets: Iterable[str], msg_id: str, timestamp: int | str,
                     body: bytes) -> str:
    """Space-separated signatures, one per secret (several during a key rotation)."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets)


def encode_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def build_headers(secrets: Sequence[str], msg_id: str, timestamp: int,
                  body: bytes) -> dict[str, str]:
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
    }
    if secrets:
        headers["webhook-signature"] = signature_header(secrets, msg_id, timestamp, body)
    return headers
