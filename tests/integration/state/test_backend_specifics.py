"""What only one family of backends has: reconnecting SQL connections, table prefixes, the
DynamoDB table layout (TTL on finished records, key items that outlive their record)."""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from shared.errors import NotFoundError, StoreError
from shared.model import ExportTask, TaskState
from shared.state import open_store
from shared.state.dynamodb import DynamoDBTaskStore
from shared.state.dynamodb_items import GROUP_INDEX, table_definition
from shared.state.sql import SqlTaskStore
from tests import servers
from tests.integration.state.conftest import make_url

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def new_task(**kw: Any) -> ExportTask:
    return ExportTask(provider="cls", params={}, created_at=T0, updated_at=T0, **kw)


@pytest.fixture(params=["postgresql", "mysql"])
def server_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    st = open_store(make_url(request.param, request, tmp_path))
    try:
        yield st
    finally:
        servers.drop_tables(st)
        st.close()


def kill_connection(st: SqlTaskStore) -> None:
    """Have the server drop the store's connection, as an idle timeout or failover would."""
    own = st._conn
    if st.dialect.name == "postgresql":
        pid = own.info.backend_pid
        killer = open_store(servers.postgres_url())
        sql = f"SELECT pg_terminate_backend({int(pid)})"
    else:
        pid = own.thread_id()
        killer = open_store(servers.mysql_url())
        sql = f"KILL {int(pid)}"
    try:
        with killer._tx() as cur:  # type: ignore[attr-defined]
            cur.execute(sql)
    finally:
        killer.close()


def test_reconnects_once_after_the_server_drops_the_connection(server_store: Any) -> None:
    t, _ = server_store.insert_task(new_task(due_at=T0))
    kill_connection(server_store)
    assert server_store.get_task(t.id).id == t.id  # a read reconnects
    kill_connection(server_store)
    got = server_store.claim_due_tasks(limit=5, lease_s=30, owner="w", now=T0)  # a write too
    assert [x.id for x in got] == [t.id]


def test_table_prefixes_isolate_stores(server_store: Any) -> None:
    base = servers.postgres_url() if server_store.dialect.name == "postgresql" \
        else servers.mysql_url()
    other = open_store(f"{base}?table={servers.unique_name('iso')}")
    try:
        t, _ = server_store.insert_task(new_task(idempotency_key="k"))
        with pytest.raises(NotFoundError):
            other.get_task(t.id)
        assert other.list_tasks().items == []
    finally:
        servers.drop_tables(other)
        other.close()


def test_unreachable_server_is_a_store_error() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    refusals = []
    for url in (f"postgresql://postgres@127.0.0.1:{port}/test",
                f"mysql://root@127.0.0.1:{port}/test"):
        with pytest.raises(StoreError, match="cannot connect") as refused:
            open_store(url)
        refusals.append(str(refused.value))
    ddb = open_store(f"dynamodb://t?region=us-east-1&endpoint=http://127.0.0.1:{port}")
    try:
        with pytest.raises(StoreError, match="DynamoDB") as refused:
            ddb.get_task("exp_x")
        refusals.append(str(refused.value))
    finally:
        ddb.close()
    # the reason in words, as the driver gave it, never the driver's exception class name
    for text in refusals:
        assert not re.search(r"\b[A-Z]\w*(Error|Exception)\b", text), text


def test_sqlite_file_is_shared_between_stores_and_survives_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/nested/dir/state.db"
    a = open_store(url)
    b = open_store(url)
    try:
        t, _ = a.insert_task(new_task(idempotency_key="k1"))
        assert b.get_task(t.id).idempotency_key == "k1"
        mode = a._read("PRAGMA journal_mode", ())[0][0]  # type: ignore[attr-defined]
        assert mode.lower() == "wal"
    finally:
        a.close()
        b.close()
    again = open_store(url)
    try:
        assert again.get_task(t.id).idempotency_key == "k1"
    finally:
        again.close()


# ------------------------------------------------------------------ DynamoDB
@pytest.fixture
def ddb(moto_server: servers.MotoServer) -> Any:
    name = servers.unique_name("ddb")
    st = open_store(f"dynamodb://{name}?region=us-east-1&endpoint={moto_server.url}"
                    "&create=1&ttl_days=2")
    try:
        yield st
    finally:
        servers.drop_tables(st)
        st.close()


def raw(st: DynamoDBTaskStore, pk: str, sk: str) -> dict[str, Any] | None:
    return st.client.get_item(TableName=st.table, Key={"pk": {"S": pk}, "sk": {"S": sk}},
                              ConsistentRead=True).get("Item")


def test_dynamodb_table_layout_and_ttl(ddb: DynamoDBTaskStore) -> None:
    desc = ddb.client.describe_table(TableName=ddb.table)["Table"]
    assert {i["IndexName"] for i in desc["GlobalSecondaryIndexes"]} == {
        "due", "list", "by_ref", "group_due"}
    ttl = ddb.client.describe_time_to_live(TableName=ddb.table)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"

    t, _ = ddb.insert_task(new_task(idempotency_key="idem-1", due_at=T0))
    item = raw(ddb, f"task#{t.id}", "R")
    assert item is not None and "expires_at" not in item and item["dk"]["S"] == "task"
    assert raw(ddb, "task#key#idem-1", "K") == {"pk": {"S": "task#key#idem-1"},
                                                 "sk": {"S": "K"}, "target": {"S": t.id}}
    t.move(TaskState.CANCELLED)
    t.due_at = None
    t = ddb.update_task(t)
    item = raw(ddb, f"task#{t.id}", "R")
    assert item is not None and "dk" not in item  # out of the due index
    expires = int(item["expires_at"]["N"])
    assert expires == int(t.updated_at.timestamp()) + 2 * 86400
    key_item = raw(ddb, "task#key#idem-1", "K")
    assert key_item is not None and int(key_item["expires_at"]["N"]) == expires


def test_dynamodb_key_outliving_its_record_is_taken_over(ddb: DynamoDBTaskStore) -> None:
    t, _ = ddb.insert_task(new_task(idempotency_key="idem-2"))
    # DynamoDB's TTL sweep removed the record but not (yet) its key item
    ddb.client.delete_item(TableName=ddb.table, Key={"pk": {"S": f"task#{t.id}"},
                                                     "sk": {"S": "R"}})
    fresh, created = ddb.insert_task(new_task(idempotency_key="idem-2"))
    assert created and fresh.id != t.id
    again, created = ddb.insert_task(new_task(idempotency_key="idem-2"))
    assert not created and again.id == fresh.id


def test_dynamodb_missing_table_without_create_is_a_store_error(
        moto_server: servers.MotoServer) -> None:
    st = open_store(f"dynamodb://{servers.unique_name('none')}?region=us-east-1"
                    f"&endpoint={moto_server.url}")
    try:
        with pytest.raises(StoreError, match="ResourceNotFoundException"):
            st.get_task("exp_x")
    finally:
        st.close()


# ------------------------------------------------- DynamoDB: the group index
class ReadCounter:
    """The store's boto3 client, counting the items its queries read per index
    (``ScannedCount``: what a query is billed for, before its filter)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.read: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **kwargs: Any) -> Any:
        page = self._client.query(**kwargs)
        self.read[kwargs["IndexName"]] += int(page["ScannedCount"])
        return page


def counted(st: DynamoDBTaskStore) -> ReadCounter:
    counter = ReadCounter(st.client)
    st.client = counter
    return counter


def seed_groups(st: DynamoDBTaskStore, groups: int, per_group: int) -> None:
    """``per_group`` submitted tasks due in each of ``groups`` groups, due times interleaved."""
    for i in range(per_group):
        for g in range(groups):
            st.insert_task(new_task(state=TaskState.SUBMITTED, poll_group=f"cls||g{g}",
                                    due_at=T0 + timedelta(seconds=i)))


def test_dynamodb_group_claim_reads_only_its_groups_rows(ddb: DynamoDBTaskStore) -> None:
    # GIVEN four groups of 30 due tasks each, and tasks of no group
    seed_groups(ddb, 4, 30)
    for _ in range(10):
        ddb.insert_task(new_task(state=TaskState.SUBMITTED, due_at=T0))
    reads = counted(ddb)
    now = T0 + timedelta(minutes=5)
    # WHEN a group's next due time is looked up and the group is claimed
    assert ddb.group_next_due("cls||g2", after=T0, until=now) == T0
    got = ddb.claim_group("cls||g2", limit=10_000, lease_s=60, owner="w", now=now)
    # THEN both read that group's 30 records through its index, and nothing else
    assert len(got) == 30 and {t.poll_group for t in got} == {"cls||g2"}
    assert reads.read == {GROUP_INDEX: 60}
    # ... and a claim of fewer reads a few past its limit, not the whole group
    reads.read.clear()
    assert len(ddb.claim_group("cls||g3", limit=5, lease_s=60, owner="w", now=now)) == 5
    assert 5 <= reads.read[GROUP_INDEX] <= 30 and set(reads.read) == {GROUP_INDEX}


def old_table(st: DynamoDBTaskStore) -> None:
    """Make ``st``'s table as a version before the group index made it."""
    layout = table_definition()
    layout["GlobalSecondaryIndexes"] = [i for i in layout["GlobalSecondaryIndexes"]
                                        if i["IndexName"] != GROUP_INDEX]
    layout["AttributeDefinitions"] = [a for a in layout["AttributeDefinitions"]
                                      if a["AttributeName"] != "gk"]
    st.client.create_table(TableName=st.table, BillingMode="PAY_PER_REQUEST", **layout)


@pytest.fixture
def ddb_old(moto_server: servers.MotoServer) -> Any:
    st = open_store(f"dynamodb://{servers.unique_name('old')}?region=us-east-1"
                    f"&endpoint={moto_server.url}")
    assert isinstance(st, DynamoDBTaskStore)
    old_table(st)
    try:
        yield st
    finally:
        servers.drop_tables(st)
        st.close()


def test_dynamodb_table_without_the_group_index_filters_the_due_range_and_warns_once(
        ddb_old: DynamoDBTaskStore, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a table made before the group index, with three groups of 10 due tasks
    seed_groups(ddb_old, 3, 10)
    reads = counted(ddb_old)
    now = T0 + timedelta(minutes=5)
    with caplog.at_level(logging.WARNING, logger="shared.state.dynamodb"):
        # WHEN a group's next due time is looked up, then each group is claimed
        assert ddb_old.group_next_due("cls||g1", after=T0 + timedelta(seconds=3),
                                      until=now) == T0 + timedelta(seconds=3)
        reads.read.clear()
        first = ddb_old.claim_group("cls||g0", limit=100, lease_s=60, owner="w", now=now)
        first_reads = dict(reads.read)
        rest = [ddb_old.claim_group(f"cls||g{g}", limit=100, lease_s=60, owner="w", now=now)
                for g in (1, 2)]
    # THEN each claim takes its whole group, the first reading the whole due range (30)
    assert first_reads == {"due": 30}
    assert [len(got) for got in (first, *rest)] == [10, 10, 10]
    assert all({t.poll_group for t in got} == {f"cls||g{g}"}
               for g, got in enumerate((first, *rest)))
    assert reads.read[GROUP_INDEX] == 0
    # ... and the missing index was learnt from the first read, and told once
    missing = [r for r in caplog.records if GROUP_INDEX in r.getMessage()]
    assert len(missing) == 1 and missing[0].levelno == logging.WARNING
    assert "serverless.yml" in missing[0].getMessage()


def test_dynamodb_group_index_added_later_is_read_once_looked_at_again(
        ddb_old: DynamoDBTaskStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a store that found its table without the group index
    seed_groups(ddb_old, 2, 5)
    now = T0 + timedelta(minutes=5)
    assert len(ddb_old.claim_group("cls||g0", limit=100, lease_s=60, owner="w",
                                   now=now)) == 5
    # WHEN the index is added (as the descriptor's update does) and the time to look again
    # has come
    [index] = [i for i in table_definition()["GlobalSecondaryIndexes"]
               if i["IndexName"] == GROUP_INDEX]
    ddb_old.client.update_table(
        TableName=ddb_old.table,
        AttributeDefinitions=[{"AttributeName": "gk", "AttributeType": "S"},
                              {"AttributeName": "avail_at", "AttributeType": "N"}],
        GlobalSecondaryIndexUpdates=[{"Create": index}])
    monkeypatch.setattr("shared.state.dynamodb.GROUP_INDEX_RECHECK_S", 0.0)
    reads = counted(ddb_old)
    # THEN the next group claim reads its group through the index
    assert len(ddb_old.claim_group("cls||g1", limit=100, lease_s=60, owner="w",
                                   now=now)) == 5
    assert reads.read == {GROUP_INDEX: 5}


def test_dynamodb_rows_written_before_the_group_index_are_claimed_on_their_own(
        ddb: DynamoDBTaskStore) -> None:
    # GIVEN a grouped task as a version before the group index wrote it (no gk) and one of
    # the same group written now
    legacy = ddb.insert_task(new_task(state=TaskState.SUBMITTED, poll_group="cls||t1",
                                      due_at=T0))[0]
    ddb.client.update_item(TableName=ddb.table, Key={"pk": {"S": f"task#{legacy.id}"},
                                                     "sk": {"S": "R"}},
                           UpdateExpression="REMOVE gk")
    fresh = ddb.insert_task(new_task(state=TaskState.SUBMITTED, poll_group="cls||t1",
                                     due_at=T0))[0]
    now = T0 + timedelta(seconds=10)
    # WHEN the group is claimed, then the tasks of no group
    grouped = ddb.claim_group("cls||t1", limit=10, lease_s=60, owner="w", now=now)
    solo = ddb.claim_due_tasks(limit=10, lease_s=60, owner="w", now=now, solo=True)
    # THEN the group's claim takes the current one, the claim of no group the old one
    assert [t.id for t in grouped] == [fresh.id]
    assert [t.id for t in solo] == [legacy.id]
    # ... and once the poll writes it back it carries gk and goes with its group
    task = solo[0]
    task.lease_owner, task.lease_until = None, None
    ddb.update_task(task)
    ddb.release_group("cls||t1", "w")
    item = raw(ddb, f"task#{legacy.id}", "R")
    assert item is not None and item["gk"]["S"] == "task#cls||t1"
    assert ddb.due_groups(limit=10, now=now) == ["cls||t1"]
    again = ddb.claim_group("cls||t1", limit=10, lease_s=60, owner="w2", now=now)
    assert [t.id for t in again] == [legacy.id]
