"""The state side of ``bench_poll.py``: seeding tasks in bulk, and a tick's claim cost as the
table grows.

``claim_cost`` grows one table (10,000 → 100,000 → 1,000,000 rows at ``--scale 1``) with rows
a long-running deployment keeps: finished exports (no due time) and submitted ones due later
(each in one of 1,000 listing groups). The work due stays the same at every size (10 groups
of 50 tasks and 100 tasks of no group), and a tick's claim is measured on it: the claim of
tasks of no group, the due groups, and each group's claim, as ``Poller.tick`` makes them
(the least of ten, the leases given back between: the machine is shared, and the least
is the run others disturbed least). The rows go in with one bulk insert
(PostgreSQL ``COPY``, SQLite ``executemany``), not through the API, and the table is
analysed after each growth as autovacuum would. One line per size, then the ratio::

    bench poll_claim: backend=postgresql rows=1000000 due=600 groups=10 claim_ms=…
    bench poll_claim: backend=postgresql rows_ratio=100 claim_ratio=…   (flat: about 1)
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.model import ExportTask, TaskState
from shared.state import open_store
from shared.state.base import TaskStore
from shared.state.records import task_to_record
from shared.state.sql import COLUMNS, SqlTaskStore

DUE_GROUPS = 10
DUE_PER_GROUP = 50
DUE_SOLO = 100
FILLER_GROUPS = 1000


def bulk_insert(store: TaskStore, tasks: list[ExportTask]) -> None:
    """``tasks`` stored in one go where the backend allows it (SQL), else one by one."""
    if not isinstance(store, SqlTaskStore):
        for task in tasks:
            store.insert_task(task)
        return
    rows = [store._row(task_to_record(t)) for t in tasks]
    insert_rows(store, rows)


def insert_rows(store: SqlTaskStore, rows: list[tuple[Any, ...]]) -> None:
    if store.dialect.name == "postgresql":
        with store._tx() as cur, cur.copy(
                f"COPY {store.t}_records ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    p = store.dialect.param
    with store._tx() as cur:
        for i in range(0, len(rows), 5000):
            cur.executemany(f"INSERT INTO {store.t}_records ({', '.join(COLUMNS)}) VALUES "
                            f"({', '.join([p] * len(COLUMNS))})", rows[i:i + 5000])


def filler(n: int, now_ms: int) -> list[tuple[Any, ...]]:
    """``n`` rows of the kinds a table fills with: four in five finished, the rest submitted
    and due a day later in one of :data:`FILLER_GROUPS` groups."""
    data = json.dumps({"params": {"TopicId": "t"}, "remote": {}}, separators=(",", ":"))
    rows = []
    for i in range(n):
        rid = f"exp_fill_{uuid.uuid4().hex[:20]}"
        if i % 5:
            rows.append(("task", rid, None, None, "delivered", "cls", 3, None, None, None,
                         now_ms - i, now_ms, data, None))
        else:
            rows.append(("task", rid, None, None, "submitted", "cls", 1, now_ms + 86_400_000,
                         None, None, now_ms - i, now_ms, data,
                         f"cls||cls:fill-{i % FILLER_GROUPS}"))
    return rows


def due_work(at: datetime) -> list[ExportTask]:
    tasks = []
    for g in range(DUE_GROUPS):
        for _ in range(DUE_PER_GROUP):
            tasks.append(ExportTask(provider="cls", params={"TopicId": f"due-{g}"},
                                    state=TaskState.SUBMITTED, due_at=at,
                                    poll_group=f"cls||cls:due-{g}"))
    tasks += [ExportTask(provider="dms", params={}, state=TaskState.SUBMITTED, due_at=at)
              for _ in range(DUE_SOLO)]
    return tasks


def one_claim(store: TaskStore, now: datetime, owner: str) -> tuple[float, list[str], int]:
    """A tick's claims, as ``Poller.tick`` makes them: (seconds, task ids, groups)."""
    began = time.perf_counter()
    claimed = store.claim_due_tasks(limit=500, lease_s=120, owner=owner, now=now, solo=True)
    names = store.due_groups(limit=100, now=now)
    for name in names:
        claimed += store.claim_group(name, limit=10_000, lease_s=120, owner=owner, now=now)
    took = time.perf_counter() - began
    for name in names:
        store.release_group(name, owner)
    return took, [t.id for t in claimed], len(names)


def give_back(store: SqlTaskStore, ids: list[str]) -> None:
    """The leases dropped by id, as a tick's releases do (one statement, not timed)."""
    p = store.dialect.param
    with store._tx() as cur:
        cur.execute(f"UPDATE {store.t}_records SET lease_owner = NULL, lease_until = NULL "
                    f"WHERE kind = {p} AND id IN ({', '.join([p] * len(ids))})",
                    ("task", *ids))


def analyse(store: SqlTaskStore) -> None:
    with store._tx() as cur:
        cur.execute(f"ANALYZE {store.t}_records")
    if store.dialect.name == "sqlite":  # the bulk insert's log folded in, as time would
        store._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")


def claim_cost(url: str, backend: str, scale: float) -> list[str]:
    store = open_store(url)
    assert isinstance(store, SqlTaskStore)
    lines: list[str] = []
    try:
        now = datetime.now(timezone.utc)
        now_ms = int(now.timestamp() * 1000)
        bulk_insert(store, due_work(now - timedelta(seconds=5)))
        rows = len(due_work(now))
        costs: dict[int, float] = {}
        for size in [max(1000, int(s * scale)) for s in (10_000, 100_000, 1_000_000)]:
            insert_rows(store, filler(size - rows, now_ms))
            rows = size
            analyse(store)
            runs = []
            for k in range(11):
                owner = f"bench-{k}"
                took, ids, groups = one_claim(store, now, owner)
                give_back(store, ids)
                claimed = len(ids)
                if k:  # the first warms the caches
                    runs.append(took)
            costs[size] = min(runs)
            lines.append(f"bench poll_claim: backend={backend} rows={size} due={claimed} "
                         f"groups={groups} claim_ms={costs[size] * 1000:.1f} "
                         f"us_per_task={costs[size] * 1e6 / max(claimed, 1):.0f}")
        small, large = min(costs), max(costs)
        lines.append(f"bench poll_claim: backend={backend} rows_ratio={large // small} "
                     f"claim_ratio={costs[large] / costs[small]:.2f}")
    finally:
        store.close()
    return lines
