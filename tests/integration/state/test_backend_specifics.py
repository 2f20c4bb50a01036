"""What only one family of backends has: reconnecting SQL connections, table prefixes, the
DynamoDB table layout (TTL on finished records, key items that outlive their record)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from shared.errors import NotFoundError, StoreError
from shared.model import ExportTask, TaskState
from shared.state import open_store
from shared.state.dynamodb import DynamoDBTaskStore
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
    assert {i["IndexName"] for i in desc["GlobalSecondaryIndexes"]} == {"due", "list", "by_ref"}
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
