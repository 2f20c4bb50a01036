"""Short named locks in the state table (records of kind ``lock`` with a lease).

Used where two invocations must not overlap on one remote resource, e.g. two MongoDB log
downloads created for one instance (the vendor returns no task id, so creates are told apart
by what appeared in between). A lock is a lease: if its holder dies, it lapses.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from shared.clock import utcnow
from shared.state.base import TaskStore

LOCK = "lock"
DEFAULT_TTL_S = 60.0


def acquire(store: TaskStore, name: str, owner: str, now: datetime | None = None,
            ttl_s: float = DEFAULT_TTL_S) -> bool:
    now = now or utcnow()
    return store.take_lease(LOCK, name, owner, until=now + timedelta(seconds=ttl_s), now=now)


def release(store: TaskStore, name: str, owner: str) -> None:
    store.drop_lease(LOCK, name, owner)
