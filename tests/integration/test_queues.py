"""Queued creates in the state table: one slot per key, taken oldest first, freed by itself."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from shared import queues
from shared.clock import utcnow
from shared.model import ExportTask, TaskState
from shared.state import open_store
from shared.state.base import TaskStore


def store_at(tmp_path: Path) -> TaskStore:
    return open_store(f"sqlite:///{tmp_path / 'state.db'}")


def accepted(store: TaskStore, minutes_ago: int) -> ExportTask:
    task = ExportTask(provider="cloudwatch", params={},
                      created_at=utcnow() - timedelta(minutes=minutes_ago))
    return store.insert_task(task)[0]


def test_the_oldest_waiting_gets_the_slot_whoever_asks_first(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    running = accepted(store, 9)
    assert queues.admit(store, "k", running) == 0
    old, mid, new = accepted(store, 3), accepted(store, 2), accepted(store, 1)
    assert [queues.admit(store, "k", t) for t in (new, old, mid)] == [1, 1, 2]
    running.move(TaskState.FAILED)
    store.update_task(running)

    # the newest asks first once the slot is free, but the oldest waiting one goes first
    assert queues.admit(store, "k", new) == 3
    assert queues.admit(store, "k", mid) == 2
    assert queues.admit(store, "k", old) == 0
    assert [queues.position(store, "k", t.id) for t in (old, mid, new)] == [0, 1, 2]


def test_the_slot_frees_when_its_holder_leaves_submitted(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    first, second = accepted(store, 2), accepted(store, 1)
    assert queues.admit(store, "k", first) == 0
    first.move(TaskState.SUBMITTED)
    first = store.update_task(first)
    assert queues.admit(store, "k", second) == 1  # the first still runs at the vendor

    first.move(TaskState.READY)
    store.update_task(first)

    assert queues.admit(store, "k", second) == 0


def test_a_cancelled_export_in_the_line_is_skipped(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    holder, gone, waiting = accepted(store, 3), accepted(store, 2), accepted(store, 1)
    assert queues.admit(store, "k", holder) == 0
    assert queues.admit(store, "k", gone) == 1
    assert queues.admit(store, "k", waiting) == 2
    for task in (holder, gone):
        task.move(TaskState.CANCELLED)
        store.update_task(task)

    assert queues.admit(store, "k", waiting) == 0


def test_concurrent_admissions_never_give_two_slots(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    tasks = [accepted(store, 1) for _ in range(8)]
    places: dict[str, int] = {}

    def ask(task: ExportTask) -> None:
        places[task.id] = queues.admit(store_at(tmp_path), "k", task)

    threads = [threading.Thread(target=ask, args=(t,)) for t in tasks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert list(places.values()).count(0) <= 1
    holder = store.get_record(queues.QUEUE, "k")
    assert holder is not None
    assert sum(1 for t in tasks if queues.position(store, "k", t.id) == 0) <= 1


def test_exports_accepted_at_the_same_instant_keep_the_order_they_joined(
        tmp_path: Path) -> None:
    # the windows of one schedule firing are accepted at the firing's instant: they wait in
    # the order they were made (oldest window first), not in the order of their random ids
    store = store_at(tmp_path)
    running = accepted(store, 9)
    assert queues.admit(store, "k", running) == 0
    at = utcnow() - timedelta(minutes=1)
    first, second = (store.insert_task(ExportTask(id=i, provider="cloudwatch", params={},
                                                  created_at=at))[0] for i in ("zz", "aa"))
    assert [queues.admit(store, "k", t) for t in (first, second)] == [1, 2]
    # asking again does not send an export to the back of its instant
    assert [queues.admit(store, "k", t) for t in (first, second)] == [1, 2]
    running.move(TaskState.FAILED)
    store.update_task(running)

    assert queues.admit(store, "k", second) == 2
    assert queues.admit(store, "k", first) == 0
