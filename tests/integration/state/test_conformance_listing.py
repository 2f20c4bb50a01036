"""The conformance suite, continued: exports newest first with cursors that hold while new
ones arrive, the summary of the status page, and generic records listed by kind and state
(on every backend: sqlite, postgresql, mysql, dynamodb)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from shared.model import TaskState
from shared.state.base import TaskStore
from shared.state.records import Record
from tests.integration.state.test_conformance import NOTE, T0, at, task

pytestmark = pytest.mark.integration


def test_list_is_newest_first_and_a_cursor_holds_while_new_exports_arrive(
        store: TaskStore) -> None:
    # GIVEN five exports a second apart (and two made in the same millisecond)
    made = [store.insert_task(task(created_at=at(i)))[0] for i in (0, 1, 2, 3, 3)]
    newest = sorted(made, key=lambda t: (t.created_at, t.id), reverse=True)
    # WHEN the first page of two is read
    first = store.list_tasks(limit=2)
    # THEN it holds the newest two
    assert [t.id for t in first.items] == [t.id for t in newest[:2]]
    # WHEN newer exports arrive before the next page is read
    later = [store.insert_task(task(created_at=at(10 + i)))[0] for i in range(3)]
    seen = [t.id for t in first.items]
    cursor = first.next_cursor
    while cursor:
        page = store.list_tasks(limit=2, cursor=cursor)
        seen += [t.id for t in page.items]
        cursor = page.next_cursor
    # THEN the cursor goes on below what was seen: every older export once, none of the new
    assert seen == [t.id for t in newest]
    # and a fresh first page starts with the newest arrival
    assert [t.id for t in store.list_tasks(limit=3).items] == [t.id for t in reversed(later)]
    # filters keep the order: the newest submitted export first
    for t in made[1:3]:
        t.state = TaskState.SUBMITTED
        store.update_task(t)
    assert [t.id for t in store.list_tasks(state=TaskState.SUBMITTED).items] == \
        [made[2].id, made[1].id]
    assert [t.id for t in store.list_tasks(provider="cls", limit=1).items] == [later[-1].id]


def test_summary_counts_oldest_waiting_and_the_last_day_per_hour(store: TaskStore) -> None:
    now = T0 + timedelta(minutes=30)  # 12:30: the window is 13:00 the day before .. 12:59
    # GIVEN exports in several states and providers, finished at known times
    def put(provider: str, state: TaskState, created: datetime, updated: datetime) -> str:
        t = store.insert_task(task(provider, created_at=created, updated_at=created))[0]
        if state is not TaskState.ACCEPTED:
            t.state = state
            store.update_task(t)
            rec = store.get_record("task", t.id)
            assert rec is not None
            store._cas(replace(rec, updated_at=updated, version=rec.version + 1),  # noqa: SLF001
                       rec.version)
        return t.id

    put("cls", TaskState.DELIVERED, at(100), at(160))  # 60 s, in the 12:00 hour
    put("cls", TaskState.DELIVERED, at(-20), at(100))  # 120 s, same hour
    put("dlc", TaskState.DELIVERED, at(-3 * 3600), at(-3 * 3600 + 30))  # 09:00 hour
    put("dlc", TaskState.FAILED, at(200), at(300))
    put("cls", TaskState.DELIVERED, at(-3 * 86400), at(-3 * 86400 + 5))  # outside the day
    oldest = put("dlc", TaskState.SUBMITTED, at(-7200), at(-7000))
    put("cls", TaskState.ACCEPTED, at(-60), at(-60))
    # WHEN summarised
    s = store.summarize_tasks(now=now)
    # THEN the counts are per state and per provider
    assert s.by_state == {"delivered": 4, "failed": 1, "submitted": 1, "accepted": 1}
    assert s.by_provider == {"cls": {"delivered": 3, "accepted": 1},
                             "dlc": {"delivered": 1, "failed": 1, "submitted": 1}}
    assert s.total == 7
    assert s.oldest_waiting is not None and s.oldest_waiting.id == oldest
    # and the last 24 hours, hour by hour, end with the current hour
    assert len(s.hours) == 24 and s.hours[-1].start == T0 and s.since == T0 - timedelta(hours=23)
    assert (s.hours[-1].delivered, s.hours[-1].failed) == (2, 1)
    assert s.hours[-1].mean_delivered_s == 90.0 and s.hours[-1].delivered_ms_max == 120_000
    assert s.hours[-4].delivered == 1 and s.hours[-4].mean_delivered_s == 30.0
    assert sum(h.delivered for h in s.hours) == 3  # the one three days ago is not counted


def test_summary_of_an_empty_store(store: TaskStore) -> None:
    s = store.summarize_tasks(now=T0)
    assert (s.by_state, s.by_provider, s.oldest_waiting, s.total) == ({}, {}, None, 0)
    assert [h.delivered + h.failed for h in s.hours] == [0] * 24


def test_generic_records_are_listed_by_kind_and_state(store: TaskStore) -> None:
    for i, state in enumerate(["idle", "busy", "idle", "idle"]):
        store.put_record(Record(kind=NOTE, id=f"n{i}", key=None, state=state, ref=None,
                                version=0, due_at=None, lease_owner=None, lease_until=None,
                                created_at=at(i), updated_at=at(i), data={}))
    store.insert_task(task(created_at=at(9)))  # another kind: never listed with these
    first = store.list_records(NOTE, state="idle", limit=2)
    rest = store.list_records(NOTE, state="idle", limit=2, cursor=first.next_cursor)
    assert [r.id for r in first.items + rest.items] == ["n0", "n2", "n3"]
    assert rest.next_cursor is None
    assert [r.id for r in store.list_records(NOTE).items] == ["n0", "n1", "n2", "n3"]
