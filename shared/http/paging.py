"""The list routes' query arguments: an optional ``state`` filter, ``limit`` and ``cursor``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

from shared.errors import ValidationError

MAX_LIMIT = 200
DEFAULT_LIMIT = 50

S = TypeVar("S", bound=Enum)


@dataclass(frozen=True)
class ListArgs(Generic[S]):
    state: S | None
    limit: int
    cursor: str | None


def list_args(query: Mapping[str, str] | None, states: type[S]) -> ListArgs[S]:
    """``state`` (one of ``states``), ``limit`` (1-200, default 50) and ``cursor``."""
    q = query or {}
    state = q.get("state")
    names = [s.value for s in states]
    if state is not None and state not in names:
        raise ValidationError("state", f"must be one of: {', '.join(names)}")
    try:
        limit = int(q.get("limit", str(DEFAULT_LIMIT)))
    except ValueError as exc:
        raise ValidationError("limit", "must be an integer") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("limit", f"must be between 1 and {MAX_LIMIT}")
    return ListArgs(states(state) if state is not None else None, limit, q.get("cursor"))
