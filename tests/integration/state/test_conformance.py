"""One conformance suite for every TaskStore backend (ids: sqlite, postgresql, mysql, dynamodb).

Everything goes through the public typed methods of TaskStore; times are passed explicitly so
lease expiry and due ordering are tested without sleeping.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import NotFoundError, ValidationError, VersionConflictError
from shared.model import (
    DeliveryState,
    ExportTask,
    PartRecord,
    TaskState,
    WebhookDelivery,
)
from shared.state import open_store
from shared.state.base import TaskStore
from shared.state.records import Record

NOTE = "note"  # a kind of record no module uses: the generic record methods alone

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def task(provider: str = "cls", **kw: object) -> ExportTask:
    kw.setdefault("created_at", T0)
    kw.setdefault("updated_at", T0)
    return ExportTask(provider=provider, params={"topic": "t-1", "query": "level:ERROR"},
                      **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------ records
def test_insert_and_get_round_trip(store: TaskStore) -> None:
    t = task(idempotency_key="k-1", due_at=at(5), subscribers=["https://hooks.example/a"],
             remote={"task_id": "r-9"}, progress=40, stage="sql",
             error={"reason": "x", "code": None, "retryable": True}, attempts=2)
    stored, created = store.insert_task(t)
    assert created and stored.id == t.id
    got = store.get_task(t.id)
    assert (got.id, got.provider, got.idempotency_key, got.state) == (t.id, "cls", "k-1",
                                                                      TaskState.ACCEPTED)
    assert got.params == t.params and got.remote == {"task_id": "r-9"}
    assert got.subscribers == ["https://hooks.example/a"] and got.attempts == 2
    assert (got.stage, got.progress, got.error) == ("sql", 40, t.error)
    assert got.due_at == at(5) and got.created_at == T0 and got.version == 0
    assert got.lease_owner is None and got.lease_until is None
    assert got.due_at.tzinfo is not None
    with pytest.raises(NotFoundError):
        store.get_task("exp_missing")


def test_insert_is_idempotent_by_key(store: TaskStore) -> None:
    first, created = store.insert_task(task(idempotency_key="same"))
    assert created
    again, created = store.insert_task(task(idempotency_key="same", provider="dlc"))
    assert not created and again.id == first.id and again.provider == "cls"
    # the same id twice (a retried create without a key) is not a second record either
    t = task()
    assert store.insert_task(t)[1] is True
    dup, created = store.insert_task(t)
    assert not created and dup.id == t.id
    assert len(store.list_tasks(limit=10).items) == 2


def test_compare_and_set(store: TaskStore) -> None:
    t, _ = store.insert_task(task())
    t.move(TaskState.SUBMITTED)
    t.remote = {"task_id": "abc"}
    t1 = store.update_task(t)
    assert t1.version == 1
    stale = store.get_task(t.id)
    t1.move(TaskState.READY)
    t2 = store.update_task(t1)
    assert t2.version == 2
    stale.move(TaskState.FAILED)
    with pytest.raises(VersionConflictError):
        store.update_task(stale)
    got = store.get_task(t.id)
    assert got.state == TaskState.READY and got.version == 2 and got.remote == {"task_id": "abc"}
    with pytest.raises(VersionConflictError):
        store.update_task(task())  # never stored


# ------------------------------------------------------------------- claims
def test_claim_takes_due_records_oldest_first(store: TaskStore) -> None:
    for due in (30, 10, 20):
        store.insert_task(task(due_at=at(due), remote={"due": due}))
    store.insert_task(task(due_at=at(500)))  # not due yet
    store.insert_task(task())  # never due
    got = store.claim_due_tasks(limit=2, lease_s=60, owner="w1", now=at(100))
    assert [t.remote["due"] for t in got] == [10, 20]
    assert all(t.lease_owner == "w1" and t.lease_until == at(160) and t.version == 1
               for t in got)
    rest = store.claim_due_tasks(limit=10, lease_s=60, owner="w2", now=at(100))
    assert [t.remote["due"] for t in rest] == [30]
    assert store.claim_due_tasks(limit=10, lease_s=60, owner="w3", now=at(101)) == []
    stored = store.get_task(got[0].id)
    assert stored.lease_owner == "w1" and stored.version == 1


def test_lease_expiry_and_renewal(store: TaskStore) -> None:
    a, _ = store.insert_task(task(due_at=at(0)))
    b, _ = store.insert_task(task(due_at=at(1)))
    ta, tb = store.claim_due_tasks(limit=5, lease_s=30, owner="w1", now=at(10))
    assert {ta.id, tb.id} == {a.id, b.id}
    # w1 renews a's lease (a CAS on the claimed version); b's lease lapses
    ta.lease_until = at(100)
    ta = store.update_task(ta)
    assert store.claim_due_tasks(limit=5, lease_s=30, owner="w2", now=at(39)) == []
    again = store.claim_due_tasks(limit=5, lease_s=30, owner="w2", now=at(40))
    assert [t.id for t in again] == [b.id] and again[0].version == tb.version + 1
    assert again[0].lease_owner == "w2"
    # the old holder of b lost it: its write conflicts
    tb.move(TaskState.SUBMITTED)
    with pytest.raises(VersionConflictError):
        store.update_task(tb)
    # a record whose due_at is cleared is never claimed again; b's lease lapsed again
    ta.move(TaskState.SUBMITTED)
    ta.due_at, ta.lease_owner, ta.lease_until = None, None, None
    store.update_task(ta)
    late = store.claim_due_tasks(limit=5, lease_s=30, owner="w3", now=at(1000))
    assert [t.id for t in late] == [b.id]


def test_concurrent_claims_in_one_process_never_overlap(store_url: str) -> None:
    seed = open_store(store_url)
    try:
        ids = {seed.insert_task(task(due_at=at(i % 7)))[0].id for i in range(40)}
    finally:
        seed.close()
    got: dict[str, list[str]] = {}

    def worker(name: str) -> None:
        st = open_store(store_url)
        mine: list[str] = []
        try:
            while True:
                batch = st.claim_due_tasks(limit=3, lease_s=600, owner=name, now=at(50))
                if not batch:
                    break
                mine += [t.id for t in batch]
        finally:
            st.close()
        got[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    claimed = [i for mine in got.values() for i in mine]
    assert len(got) == 3
    assert sorted(claimed) == sorted(ids)


# ------------------------------------------------------------------ listing
def test_list_filters_and_cursor(store: TaskStore) -> None:
    made = []
    for i in range(9):
        t = task(provider="cls" if i % 3 else "dlc", created_at=at(i // 2))  # ties on time
        if i % 2:
            t.state = TaskState.SUBMITTED
        made.append(store.insert_task(t)[0])
    order = [t.id for t in sorted(made, key=lambda t: (t.created_at, t.id), reverse=True)]

    seen, cursor, pages = [], None, 0
    while True:
        page = store.list_tasks(limit=4, cursor=cursor)
        pages += 1
        seen += [t.id for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == order and pages == 3

    subm = store.list_tasks(state=TaskState.SUBMITTED, limit=50).items
    assert [t.id for t in subm] == [i for i in order if store.get_task(i).state ==
                                    TaskState.SUBMITTED]
    assert len(subm) == 4
    dlc = store.list_tasks(provider="dlc", limit=2)
    assert len(dlc.items) == 2 and dlc.next_cursor is not None
    dlc2 = store.list_tasks(provider="dlc", limit=2, cursor=dlc.next_cursor)
    assert [t.provider for t in dlc.items + dlc2.items] == ["dlc"] * 3
    assert dlc2.next_cursor is None
    both = store.list_tasks(provider="cls", state=TaskState.ACCEPTED, limit=50).items
    assert {(t.provider, t.state) for t in both} == {("cls", TaskState.ACCEPTED)}
    assert len(both) == sum(1 for i, _ in enumerate(made) if i % 3 and not i % 2)
    assert store.list_tasks(provider="nope").items == []
    with pytest.raises(ValidationError):
        store.list_tasks(cursor="not-a-cursor")


# -------------------------------------------------------------------- parts
def test_part_records(store: TaskStore) -> None:
    t, _ = store.insert_task(task())
    mb = 8 * 1024 * 1024
    for n in (3, 1, 2):
        store.record_part(t.id, "up-1", PartRecord(n, f'"etag-{n}"', (n - 1) * mb, n * mb))
    store.record_part(t.id, "up-1", PartRecord(2, '"etag-2b"', mb, 2 * mb))  # retried part
    store.record_part(t.id, "up-2", PartRecord(1, '"other"', 0, 10))
    parts = store.list_parts(t.id, "up-1")
    assert [p.part_number for p in parts] == [1, 2, 3]
    assert parts[1] == PartRecord(2, '"etag-2b"', mb, 2 * mb)
    assert store.list_parts(t.id, "up-2") == [PartRecord(1, '"other"', 0, 10)]
    assert store.list_parts("exp_other", "up-1") == []
    store.clear_parts(t.id)
    assert store.list_parts(t.id, "up-1") == [] and store.list_parts(t.id, "up-2") == []
    assert store.get_task(t.id).id == t.id  # the task itself stays


def test_many_parts(store: TaskStore) -> None:
    for n in range(1, 61):
        store.record_part("exp_big", "u", PartRecord(n, f"e{n}", n, n + 1))
    assert [p.part_number for p in store.list_parts("exp_big", "u")] == list(range(1, 61))
    store.clear_parts("exp_big")
    assert store.list_parts("exp_big", "u") == []


# --------------------------------------------------------------- deliveries
def delivery(task_id: str, endpoint: str, event: str = "export.delivered",
             **kw: object) -> WebhookDelivery:
    kw.setdefault("created_at", T0)
    return WebhookDelivery(task_id=task_id, endpoint=endpoint, event_type=event,
                           payload={"id": task_id}, **kw)  # type: ignore[arg-type]


def test_delivery_records(store: TaskStore) -> None:
    long_url = "https://hooks.example/" + "p" * 600  # longer than any index column
    d1, created = store.insert_delivery(delivery("exp_1", long_url, due_at=at(1)))
    assert created
    dup, created = store.insert_delivery(delivery("exp_1", long_url, due_at=at(2)))
    assert not created and dup.id == d1.id and dup.endpoint == long_url
    other_url, _ = store.insert_delivery(delivery("exp_1", long_url + "x", due_at=at(3)))
    assert other_url.id != d1.id
    d3, _ = store.insert_delivery(delivery("exp_2", "https://a.example/h", due_at=at(2),
                                           created_at=at(1)))

    claimed = store.claim_due_deliveries(limit=2, lease_s=30, owner="n1", now=at(10))
    assert [d.id for d in claimed] == [d1.id, d3.id]
    first = claimed[0]
    first.state = DeliveryState.DELIVERED
    first.attempts.append({"status": 204, "latency_ms": 12})
    first.due_at, first.lease_owner, first.lease_until = None, None, None
    saved = store.update_delivery(first)
    got = store.get_delivery(d1.id)
    assert got.state == DeliveryState.DELIVERED and got.version == saved.version
    assert got.attempts == [{"status": 204, "latency_ms": 12}] and got.endpoint == long_url
    with pytest.raises(NotFoundError):
        store.get_delivery("msg_missing")

    for_task = store.list_deliveries(task_id="exp_1").items
    assert {d.id for d in for_task} == {d1.id, other_url.id}
    pending = store.list_deliveries(state=DeliveryState.PENDING).items
    assert {d.id for d in pending} == {other_url.id, d3.id}
    assert [d.id for d in store.list_deliveries(task_id="exp_1",
                                                state=DeliveryState.DELIVERED).items] == [d1.id]
    # deliveries and tasks are separate kinds
    assert store.list_tasks().items == []


def test_a_later_retry_round_is_a_new_delivery_and_the_first_keeps_its_key(
        store: TaskStore) -> None:
    t, _ = store.insert_task(task(round=2))
    assert store.get_task(t.id).round == 2
    first, _ = store.insert_delivery(delivery(t.id, "https://a.example/h"))
    again, created = store.insert_delivery(delivery(t.id, "https://a.example/h", round=1))
    assert created and again.id != first.id and store.get_delivery(again.id).round == 1
    replay, created = store.insert_delivery(delivery(t.id, "https://a.example/h", round=1))
    assert not created and replay.id == again.id
    # the first round's key is the key deliveries had before rounds existed
    old, created = store.insert_delivery(WebhookDelivery(
        task_id=t.id, endpoint="https://a.example/h", event_type="export.delivered",
        payload={}))
    assert not created and old.id == first.id and first.key == (
        f"{t.id}|export.delivered|https://a.example/h")


def test_a_repeated_event_is_a_new_delivery_and_the_watch_is_kept(store: TaskStore) -> None:
    watch = {"mark": '["submitted","queuing",null,0,null]', "since": "2026-03-01T12:00:00Z",
             "stalls": 1, "stuck": True}
    t, _ = store.insert_task(task(watch=dict(watch)))
    assert store.get_task(t.id).watch == watch
    t.watch["reminded"] = 2
    assert store.update_task(t).watch == {**watch, "reminded": 2}
    first, _ = store.insert_delivery(delivery(t.id, "https://a.example/h"))
    again, created = store.insert_delivery(delivery(t.id, "https://a.example/h", repeat=1))
    assert created and again.id != first.id and store.get_delivery(again.id).repeat == 1
    replay, created = store.insert_delivery(delivery(t.id, "https://a.example/h", repeat=1))
    assert not created and replay.id == again.id


def test_generic_records(store: TaskStore) -> None:
    rec = Record(kind=NOTE, id="nightly", key="sched:nightly", state="idle", ref=None,
                 version=0, due_at=at(60), lease_owner=None, lease_until=None,
                 created_at=T0, updated_at=T0, data={"last_run": None, "cron": "0 2 * * *"})
    stored, created = store.put_record(rec)
    assert created and stored.id == "nightly"
    assert store.put_record(rec)[1] is False
    got = store.get_record(NOTE, "nightly")
    assert got is not None and got.data == rec.data and got.key == "sched:nightly"
    got.data["last_run"] = "2026-03-01T12:00:00Z"
    new = store.update_record(got)
    assert new.version == 1
    assert store.get_record(NOTE, "nightly").data["last_run"] == "2026-03-01T12:00:00Z"
    assert store.get_record(NOTE, "missing") is None
    with pytest.raises(VersionConflictError):
        store.update_record(got)


def test_schema_creation_tolerates_racing_cold_starts(store_url: str) -> None:
    errors: list[BaseException] = []
    stores: list[TaskStore] = []
    gate = threading.Barrier(4)

    def cold_start() -> None:
        try:
            gate.wait(timeout=10)
            stores.append(open_store(store_url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=cold_start) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    try:
        assert errors == [] and len(stores) == 4
        t, _ = stores[0].insert_task(task())
        assert stores[3].get_task(t.id).id == t.id
    finally:
        for st in stores:
            st.close()
