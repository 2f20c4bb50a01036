"""Small encodings both state backends share: epoch milliseconds, lookup keys and list
cursors."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import Any, overload

from shared.clock import from_iso, to_iso
from shared.errors import ValidationError

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_MS = timedelta(milliseconds=1)

# Longest key stored as is in the indexed column (MySQL indexes 191 utf8mb4 characters).
MAX_PLAIN_KEY_BYTES = 160


def to_ms(value: datetime | None) -> int | None:
    """Epoch milliseconds, exact (integer arithmetic; sub-millisecond digits dropped)."""
    return None if value is None else (value - EPOCH) // ONE_MS


def from_ms(value: Any) -> datetime | None:
    if value is None:
        return None
    return EPOCH + timedelta(milliseconds=int(value))


@overload
def lookup_key(key: str) -> str: ...
@overload
def lookup_key(key: None) -> None: ...
@overload
def lookup_key(key: str | None) -> str | None: ...
def lookup_key(key: str | None) -> str | None:
    """The form of a unique key that goes into the index: the key itself when short,
    otherwise ``sha256:<hex>`` (delivery keys hold an endpoint URL of any length)."""
    if key is None:
        return None
    raw = key.encode("utf-8")
    if len(raw) <= MAX_PLAIN_KEY_BYTES and not key.startswith("sha256:"):
        return key
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def encode_cursor(created_at: datetime, record_id: str) -> str:
    raw = json.dumps([to_iso(created_at), record_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, record_id = json.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(created, str) or not isinstance(record_id, str):
            raise TypeError("not a position")
        parsed = from_iso(created)
        if parsed is None:
            raise ValueError("empty")
        return parsed, record_id
    except (ValueError, TypeError, OverflowError) as exc:  # a date out of range included
        raise ValidationError("cursor", "not a cursor returned by this API") from exc
