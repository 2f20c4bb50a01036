"""Small encodings both state backends share: epoch milliseconds and lookup keys."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any, overload

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
