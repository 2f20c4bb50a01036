"""Listing groups on every TaskStore backend (ids: sqlite, postgresql, mysql, dynamodb): which
groups are due, a group claimed whole by one owner at a time, tasks of no group claimed on
their own, and SQL tables made before groups (no ``grp`` column) upgraded where they stand."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.model import ExportTask, TaskState
from shared.state import open_store
from shared.state.base import TaskStore
from shared.state.sql import SqlTaskStore
from tests import servers
from tests.integration.state.conftest import make_url

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def submitted(store: TaskStore, group: str | None, due: float | None = 0.0) -> ExportTask:
    task = ExportTask(provider="cls", params={"TopicId": "t"}, state=TaskState.SUBMITTED,
                      created_at=T0, updated_at=T0, due_at=None if due is None else at(due),
                      poll_group=group)
    return store.insert_task(task)[0]


def test_due_groups_come_longest_due_first_and_only_while_claimable(store: TaskStore) -> None:
    # GIVEN three groups due at different times, one not yet due, and tasks of no group
    for group, due in [("cls||b", 5), ("cls||a", 10), ("cls||b", 20), ("cls||c", 1),
                       ("cls||later", 500)]:
        submitted(store, group, due)
    submitted(store, None, 0)
    # THEN the due ones come, the one due longest first, each once
    assert store.due_groups(limit=10, now=at(30)) == ["cls||c", "cls||b", "cls||a"]
    assert store.due_groups(limit=2, now=at(30)) == ["cls||c", "cls||b"]
    # WHEN group c is claimed, it is no longer due (its tasks are leased)
    assert len(store.claim_group("cls||c", limit=10, lease_s=60, owner="w1", now=at(30))) == 1
    assert store.due_groups(limit=10, now=at(30)) == ["cls||b", "cls||a"]


def test_a_group_is_claimed_whole_by_one_owner_until_released_or_lapsed(
        store: TaskStore) -> None:
    # GIVEN a group of three due tasks, one not due yet, and a task of another group
    mine = [submitted(store, "cls||t1", due) for due in (1, 2, 3)]
    submitted(store, "cls||t1", 100)
    submitted(store, "cls||t2", 0)
    # WHEN one owner claims the group
    got = store.claim_group("cls||t1", limit=10, lease_s=60, owner="w1", now=at(10))
    # THEN it has the group's due tasks, oldest first, leased to it
    assert [t.id for t in got] == [t.id for t in mine]
    assert all(t.lease_owner == "w1" and t.poll_group == "cls||t1" for t in got)
    # ... and nobody else gets the group while its lease is live, even with tasks due again
    submitted(store, "cls||t1", 5)
    assert store.claim_group("cls||t1", limit=10, lease_s=60, owner="w2", now=at(20)) == []
    # WHEN it is released, another owner takes what is due
    store.release_group("cls||t1", "w1")
    assert len(store.claim_group("cls||t1", limit=10, lease_s=60, owner="w2", now=at(20))) == 1
    # ... and after w2 dies holding it, its lease lapses and a third takes the group
    submitted(store, "cls||t1", 30)
    assert store.claim_group("cls||t1", limit=10, lease_s=60, owner="w3", now=at(40)) == []
    taken = store.claim_group("cls||t1", limit=10, lease_s=60, owner="w3", now=at(81))
    # ... with every task due whose lease lapsed: w1's three, w2's one and the one due at 30
    assert len(taken) == 5 and {t.lease_owner for t in taken} == {"w3"}


def test_a_group_claim_takes_at_most_its_limit_and_an_empty_group_is_not_kept(
        store: TaskStore) -> None:
    for due in range(5):
        submitted(store, "cls||big", due)
    assert len(store.claim_group("cls||big", limit=3, lease_s=60, owner="w1", now=at(10))) == 3
    # a group with nothing due is given back at once: another owner may take it later
    assert store.claim_group("cls||none", limit=3, lease_s=60, owner="w1", now=at(10)) == []
    submitted(store, "cls||none", 0)
    assert len(store.claim_group("cls||none", limit=3, lease_s=60, owner="w2",
                                 now=at(10))) == 1


def test_tasks_due_soon_ride_along_on_a_group_claim_unless_leased(store: TaskStore) -> None:
    # GIVEN a group with one task due at 10 s, one due at 13 s, one at 40 s, and one due at
    # 13 s that somebody holds a live lease on
    due, soon, later = (submitted(store, "cls||t1", d) for d in (10, 13, 40))
    held = submitted(store, "cls||t1", 13)
    held.lease_owner, held.lease_until = "other", at(60)
    store.update_task(held)
    # WHEN the group is claimed with 5 s to spare at 10 s
    got = store.claim_group("cls||t1", limit=10, lease_s=60, owner="w", now=at(10),
                            early_s=5)
    # THEN the due one and the one due soon come; not the later one, not the leased one
    assert [t.id for t in got] == [due.id, soon.id]
    assert store.get_task(later.id).lease_owner is None


def test_solo_claims_skip_grouped_tasks_and_plain_claims_take_all(store: TaskStore) -> None:
    grouped = submitted(store, "cls||t1", 0)
    alone = submitted(store, None, 0)
    accepted, _ = store.insert_task(ExportTask(provider="cls", params={}, due_at=at(0),
                                               poll_group="cls||t1"))
    # an accepted task never carries a group, whatever the model says
    assert store.get_task(accepted.id).poll_group is None
    solo = store.claim_due_tasks(limit=10, lease_s=60, owner="w", now=at(1), solo=True)
    assert {t.id for t in solo} == {alone.id, accepted.id}
    rest = store.claim_due_tasks(limit=10, lease_s=60, owner="w", now=at(1))
    assert [t.id for t in rest] == [grouped.id]


def test_a_task_leaves_its_group_when_it_is_no_longer_submitted(store: TaskStore) -> None:
    task = submitted(store, "cls||t1", 0)
    task.move(TaskState.READY)
    task = store.update_task(task)
    assert store.get_task(task.id).poll_group is None
    assert store.due_groups(limit=10, now=at(10)) == []


def test_two_owners_racing_for_a_group_never_both_get_it(store_url: str) -> None:
    # GIVEN a group of 20 due tasks
    seed = open_store(store_url)
    for due in range(20):
        submitted(seed, "cls||race", due)
    seed.close()
    results: dict[str, list[ExportTask]] = {}
    barrier = threading.Barrier(4)

    def claim(owner: str) -> None:
        st = open_store(store_url)
        try:
            barrier.wait()
            results[owner] = st.claim_group("cls||race", limit=50, lease_s=60, owner=owner,
                                            now=at(100))
        finally:
            st.close()

    # WHEN four owners claim it at once
    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # THEN exactly one has the group, whole
    winners = [owner for owner, got in results.items() if got]
    assert len(winners) == 1 and len(results[winners[0]]) == 20


def test_a_groups_writes_go_together_and_each_keeps_its_compare_and_set(
        store: TaskStore) -> None:
    # GIVEN three claimed tasks of a group, one of which somebody else changed meanwhile
    for _ in range(3):
        submitted(store, "cls||t1", 0)
    a, b, c = store.claim_group("cls||t1", limit=10, lease_s=60, owner="w", now=at(1))
    moved = store.get_task(b.id)
    moved.progress = 50
    store.update_task(moved)
    # WHEN the poller writes all three at once
    for t in (a, b, c):
        t.progress, t.lease_owner, t.lease_until = 99, None, None
    saved = store.update_tasks([a, b, c])
    # THEN the two unchanged ones are written (new versions), the changed one is not
    assert saved[1] is None and saved[0] is not None and saved[2] is not None
    assert [store.get_task(t.id).progress for t in (a, b, c)] == [99, 50, 99]
    assert store.get_task(a.id).version == a.version + 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_a_table_made_before_groups_is_upgraded_and_its_rows_still_claimed(
        backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    # GIVEN a table as a version before groups left it: no grp column, no group index, a row
    url = make_url(backend, request, tmp_path)
    old = open_store(url)
    assert isinstance(old, SqlTaskStore)
    try:
        with old._tx() as cur:
            on = f" ON {old.t}_records" if backend == "mysql" else ""
            cur.execute(f"DROP INDEX {old.t}_records_group{on}")
            cur.execute(f"ALTER TABLE {old.t}_records DROP COLUMN grp")
        with old._tx() as cur:
            cur.execute(f"INSERT INTO {old.t}_records (kind, id, state, ref, version, due_at, "
                        f"created_at, updated_at, data) VALUES ('task', 'exp_old', 'submitted',"
                        f" 'cls', 0, 0, 0, 0, '{{\"params\": {{}}}}')")
        old.close()
        # WHEN this version opens it (twice, as two cold starts would)
        open_store(url).close()
        store = open_store(url)
        # THEN the old row is claimed on its own, and grouped rows work beside it
        submitted(store, "cls||t1", 0)
        solo = store.claim_due_tasks(limit=10, lease_s=60, owner="w", now=at(1), solo=True)
        assert [t.id for t in solo] == ["exp_old"]
        assert store.due_groups(limit=10, now=at(1)) == ["cls||t1"]
        store.close()
    finally:
        cleanup = open_store(url)
        servers.drop_tables(cleanup)
        cleanup.close()


def test_a_groups_next_due_is_its_earliest_due_within_the_range(store: TaskStore) -> None:
    # GIVEN a group with tasks due at 5 s (past the range), 12 s, 20 s and 90 s, another
    # group due at 11 s and a task of no group due at 10 s
    tasks = {d: submitted(store, "cls||t1", d) for d in (5, 20, 12, 90)}
    submitted(store, "cls||t2", 11)
    submitted(store, None, 10)
    # THEN the group's earliest due within [10 s, 40 s] is 12 s; the bounds are inclusive
    assert store.group_next_due("cls||t1", after=at(10), until=at(40)) == at(12)
    assert store.group_next_due("cls||t1", after=at(12), until=at(12)) == at(12)
    assert store.group_next_due("cls||t2", after=at(0), until=at(100)) == at(11)
    # none due within the range, or a group nobody is in: None
    assert store.group_next_due("cls||t1", after=at(21), until=at(60)) is None
    assert store.group_next_due("cls||none", after=at(0), until=at(100)) is None
    # WHEN the 12 s task is no longer submitted, it is no longer the group's
    done = tasks[12]
    done.move(TaskState.READY)
    store.update_task(done)
    # THEN the next is 20 s
    assert store.group_next_due("cls||t1", after=at(10), until=at(40)) == at(20)
