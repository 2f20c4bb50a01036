"""Which Courier export owns a vendor object (records of kind ``owner``).

A create left in doubt (a lost answer, a kill between the vendor call and the state write)
looks at the vendor for what the call may have made and adopts it. Two exports with the same
parameters would both find the same object, so every export claims the object it submits
with, and an object claimed by another export is never adopted. A claim is an insert that
only one writer wins: two exports racing for one object cannot both hold it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from shared.clock import utcnow
from shared.state.base import TaskStore
from shared.state.records import Record

OWNER = "owner"


def _record_id(provider: str, object_id: str) -> str:
    return f"{provider}:{object_id}"


def owner_of(store: TaskStore, provider: str, object_id: str) -> str | None:
    """The id of the export that claimed ``object_id``, or None."""
    rec = store.get_record(OWNER, _record_id(provider, object_id))
    return None if rec is None else str(rec.data.get("task_id") or "") or None


def claim(store: TaskStore, provider: str, object_id: str, task_id: str,
          now: datetime | None = None) -> bool:
    """Claim ``object_id`` for ``task_id``: True when it is (now or already) this export's,
    False when another export holds it."""
    now = now or utcnow()
    rec, created = store.put_record(Record(
        kind=OWNER, id=_record_id(provider, object_id), key=None, state="owned", ref=task_id,
        version=0, due_at=None, lease_owner=None, lease_until=None, created_at=now,
        updated_at=now, data={"task_id": task_id}))
    return created or rec.data.get("task_id") == task_id


def owned_elsewhere(store: TaskStore, provider: str, task_id: str) -> Callable[[str], bool]:
    """A check for :func:`shared.providers.base.adoption_guard`."""
    def check(object_id: str) -> bool:
        owner = owner_of(store, provider, object_id)
        return owner is not None and owner != task_id
    return check
