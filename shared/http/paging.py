"""The list routes' query arguments: an optional ``state`` filter, ``limit`` and ``cursor``.

Each is checked here, before the store sees it, and a bad one is a ``400`` naming it:

* ``state`` — one of the states of what is listed;
* ``limit`` — 1 to 200 written in ASCII digits (default 50);
* ``cursor`` — the ``next_cursor`` of an earlier page, unchanged: base64url text whose content
  is the position the store wrote (an empty ``cursor`` asks for the first page).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from shared.errors import ValidationError
from shared.state.codec import decode_cursor

MAX_LIMIT = 200
DEFAULT_LIMIT = 50
NOT_A_CURSOR = "not a cursor returned by this API"
_CURSOR = re.compile(r"[A-Za-z0-9_-]{1,512}")  # base64url without padding, a few hundred chars
_RECORD_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")  # exp_…, msg_…: what the store makes

S = TypeVar("S", bound=Enum)


@dataclass(frozen=True)
class ListArgs(Generic[S]):
    state: S | None
    limit: int
    cursor: str | None


def one_of(query: Mapping[str, str], name: str, choices: Collection[str]) -> str | None:
    """The query argument ``name`` when given, which must be one of ``choices``."""
    value = query.get(name)
    if value is not None and value not in choices:
        raise ValidationError(name, f"must be one of: {', '.join(choices)}")
    return value


def cursor_arg(raw: str | None) -> str | None:
    """``raw`` when it is a cursor this API wrote; ``None`` for none or an empty one."""
    if not raw:
        return None
    if not _CURSOR.fullmatch(raw):
        raise ValidationError("cursor", NOT_A_CURSOR)
    _created, record_id = decode_cursor(raw)
    if not _RECORD_ID.fullmatch(record_id):
        raise ValidationError("cursor", NOT_A_CURSOR)
    return raw


def list_args(query: Mapping[str, str] | None, states: type[S]) -> ListArgs[S]:
    """``state`` (one of ``states``), ``limit`` (1-200, default 50) and ``cursor``."""
    q = query or {}
    state = one_of(q, "state", [s.value for s in states])
    raw_limit = q.get("limit", str(DEFAULT_LIMIT)).strip()
    if not (raw_limit.isascii() and raw_limit.isdigit()) or len(raw_limit) > 6:
        raise ValidationError("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    limit = int(raw_limit)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("limit", f"must be between 1 and {MAX_LIMIT}")
    return ListArgs(states(state) if state is not None else None, limit,
                    cursor_arg(q.get("cursor")))
