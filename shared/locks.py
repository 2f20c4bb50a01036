"""Short named locks in the state table (records of kind ``lock`` with a lease).

Used where two invocations must not overlap on one remote resource, e.g. two MongoDB log
downloads created for one instance (the vendor returns no task id, so creates are told apart
by what appeared in between). A lock is a lease: if its holder dies, it lapses.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.clock import utcnow
from shared.errors import VersionConflictError
from shared.state.base import Record, TaskStore

LOCK = "lock"
DEFAULT_TTL_S = 60.0


def acquire(store: TaskStore, name: str, owner: str, now: datetime | None = None,
            ttl_s: float = DEFAULT_TTL_S) -> bool:
    now = now or utcnow()
    until = now + timedelta(seconds=ttl_s)
    rec = store.get_record(LOCK, name)
    if rec is None:
        _, created = store.put_record(Record(
            kind=LOCK, id=name, key=None, state="held", ref=None, version=0, due_at=None,
            lease_owner=owner, lease_until=until, created_at=now, updated_at=now, data={}))
        return created
    if rec.lease_owner not in (None, owner) and rec.lease_until and rec.lease_until > now:
        return False
    rec.lease_owner, rec.lease_until, rec.state = owner, until, "held"
    try:
        store.update_record(rec)
    except VersionConflictError:
        return False
    return True


def release(store: TaskStore, name: str, owner: str) -> None:
    rec = store.get_record(LOCK, name)
    if rec is None or rec.lease_owner != owner:
        return
    rec.lease_owner, rec.lease_until, rec.state = None, None, "free"
    try:
        store.update_record(rec)
    except VersionConflictError:
        pass  # somebody took it after it lapsed; theirs now
