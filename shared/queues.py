"""Queues of creates that must not overlap at the vendor, kept in the state table.

CloudWatch Logs lets an account run one export task at a time in a region. A provider names
such a limit with ``Provider.queue_key``; every export with that key goes through
:func:`admit` before its create call. One record of kind ``queue`` per key holds

* ``holder`` — the export holding the one slot: admitted, then being created (retries
  included) and running at the vendor;
* ``line`` — the exports waiting, oldest first (by when they were accepted, then in the
  order they joined).

The slot frees itself: it counts as held only while its holder is still ``accepted`` or
``submitted``, so nothing has to remember to give it back when an export becomes ready,
fails or is cancelled (it is read back instead). Exports in the line that were cancelled
meanwhile are dropped when they reach the front. Every change is a compare-and-set on the
record, so two invocations never both take the slot.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timezone

from shared.clock import from_iso, to_iso, utcnow
from shared.errors import NotFoundError, VersionConflictError
from shared.model import ExportTask, TaskState
from shared.state.base import TaskStore
from shared.state.records import Record

log = logging.getLogger(__name__)

QUEUE = "queue"
QUEUE_KEY = "queue"  # in ``task.remote``: the queue an export waits in (set by exports.submit)
ATTEMPTS = 5  # compare-and-set rounds before giving up for this time
HOLDING = (TaskState.ACCEPTED, TaskState.SUBMITTED)


def admit(store: TaskStore, key: str, task: ExportTask, now: datetime | None = None) -> int:
    """0 if ``task`` may be created now (it holds the slot), else its place in the line
    (1: next once the slot frees)."""
    now = now or utcnow()
    for _ in range(ATTEMPTS):
        rec = store.get_record(QUEUE, key)
        if rec is None:
            rec, created = store.put_record(Record(
                kind=QUEUE, id=key, key=None, state="open", ref=None, version=0, due_at=None,
                lease_owner=None, lease_until=None, created_at=now, updated_at=now,
                data={"holder": None, "line": []}))
            if not created:
                continue
        before = (rec.data.get("holder"), list(rec.data.get("line") or []))
        place = _place(store, rec, task)
        if (rec.data.get("holder"), rec.data.get("line")) == before:
            return place
        try:
            store.update_record(rec)
        except VersionConflictError:
            continue
        if place == 0:
            log.info("export %s holds the %s queue's slot", task.id, key)
        return place
    log.info("export %s: the %s queue is busy; trying again later", task.id, key)
    return max(1, position(store, key, task.id) or 1)


def position(store: TaskStore, key: str, export_id: str) -> int | None:
    """Where ``export_id`` waits in the line (1 first), 0 if it holds the slot, None if it
    is not in this queue."""
    rec = store.get_record(QUEUE, key)
    if rec is None:
        return None
    if rec.data.get("holder") == export_id:
        return 0
    ids = [entry[1] for entry in rec.data.get("line") or []]
    return ids.index(export_id) + 1 if export_id in ids else None


def live_positions(store: TaskStore, tasks: Iterable[ExportTask]) -> dict[str, int]:
    """Where each waiting export of ``tasks`` stands now (1: next once the slot frees), read
    from its queue's record rather than from what the export was told when it last looked:
    exports ahead of it that are no longer waiting (admitted, cancelled, gone) do not count.
    Each queue record and each export ahead is read once per call. Exports not waiting in a
    queue (or holding its slot) are left out."""
    records: dict[str, Record | None] = {}
    waiting: dict[str, bool] = {}
    positions: dict[str, int] = {}
    for task in tasks:
        key = task.remote.get(QUEUE_KEY)
        if task.state is not TaskState.ACCEPTED or not key:
            continue
        if key not in records:
            records[key] = store.get_record(QUEUE, key)
        rec = records[key]
        if rec is None or rec.data.get("holder") == task.id:
            continue
        ids = [entry[1] for entry in rec.data.get("line") or []]
        if task.id not in ids:
            continue
        ahead = 0
        for other in ids[:ids.index(task.id)]:
            if other not in waiting:
                waiting[other] = _waiting(store, other)
            ahead += waiting[other]
        positions[task.id] = ahead + 1
    return positions


def _place(store: TaskStore, rec: Record, task: ExportTask) -> int:
    """Change ``rec`` (in memory) for ``task`` wanting the slot; its place (0: the slot)."""
    holder = rec.data.get("holder")
    if holder == task.id:
        return 0
    line: list[list[str]] = [list(e) for e in rec.data.get("line") or []]
    if all(entry[1] != task.id for entry in line):
        line.append([to_iso(task.created_at) or "", task.id])
    # oldest first; exports accepted at the same instant (the windows of one schedule
    # firing) keep the order they joined in, which is the order they were made
    line.sort(key=_joined)
    if holder is not None and not _holds(store, holder):
        holder = None
    while holder is None and line:
        head = line[0][1]
        if head == task.id or _waiting(store, head):
            break
        line.pop(0)  # cancelled (or gone) while it waited
    if holder is None and line and line[0][1] == task.id:
        line.pop(0)
        rec.data = {"holder": task.id, "line": line}
        return 0
    rec.data = {"holder": holder, "line": line}
    ids = [entry[1] for entry in line]
    return ids.index(task.id) + 1


def _joined(entry: list[str]) -> datetime:
    return from_iso(entry[0]) or datetime.min.replace(tzinfo=timezone.utc)


def _holds(store: TaskStore, export_id: str) -> bool:
    try:
        return store.get_task(export_id).state in HOLDING
    except NotFoundError:
        return False


def _waiting(store: TaskStore, export_id: str) -> bool:
    try:
        return store.get_task(export_id).state is TaskState.ACCEPTED
    except NotFoundError:
        return False
