"""A signed request is taken once: a (timestamp, signature) pair seen before is refused.

The pairs are kept in the state store, so every container sees them, in at most ``SLOTS``
records of kind ``signatures_seen``: the slot of a pair is its timestamp modulo ``SLOTS``, and
a slot holds the signatures seen with one timestamp. The API takes timestamps within
``TOLERANCE_S`` of now, a span of ``2 * TOLERANCE_S + 1`` values, fewer than ``SLOTS``: so a
slot is reused (started afresh by a newer timestamp) only once the timestamp it held can no
longer be taken, and the records never need purging. Every change is a compare-and-set.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from shared.clock import utcnow
from shared.errors import AuthError, StoreError, VersionConflictError
from shared.http.request_signing import TOLERANCE_S
from shared.state.base import TaskStore
from shared.state.records import Record

KIND = "signatures_seen"
SLOTS = 1024
TRIES = 8
assert SLOTS > 2 * TOLERANCE_S + 1  # noqa: S101 - the rule above, checked at import


def take_once(store: TaskStore, timestamp: int, signature: str) -> None:
    """Record the pair; :class:`AuthError` when it was taken before."""
    slot = str(timestamp % SLOTS)
    mark = hashlib.sha256(f"{timestamp}:{signature}".encode()).hexdigest()[:32]
    for _ in range(TRIES):
        rec = store.get_record(KIND, slot)
        now = utcnow()
        if rec is None:
            _, created = store.put_record(Record(
                kind=KIND, id=slot, key=None, state="live", ref=None, version=0, due_at=None,
                lease_owner=None, lease_until=None, created_at=now, updated_at=now,
                data={"timestamp": timestamp, "seen": [mark]}))
            if created:
                return
            continue
        held = rec.data.get("timestamp")
        if isinstance(held, int) and held > timestamp:  # the slot moved on: ours is too old
            raise AuthError("X-Courier-Timestamp is too far from now")
        seen = list(rec.data.get("seen") or []) if held == timestamp else []
        if mark in seen:
            raise AuthError("this signed request was already received: sign every request "
                            "anew (a new timestamp gives a new signature)")
        try:
            store.update_record(replace(rec, data={"timestamp": timestamp,
                                                   "seen": [*seen, mark]}))
        except VersionConflictError:
            continue
        return
    raise StoreError("too many signed requests at once to record; try again")
