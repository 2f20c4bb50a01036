"""State URLs, time and key encodings, and the embedded SQLite store (no servers needed)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from shared.errors import ConfigError
from shared.model import ExportTask
from shared.state import open_store
from shared.state.codec import from_ms, lookup_key, to_ms
from shared.state.dynamodb import DynamoDBTaskStore
from shared.state.sql import SqlTaskStore


def test_milliseconds_are_exact_and_utc() -> None:
    t = datetime(2026, 3, 1, 12, 0, 0, 123999, tzinfo=timezone.utc)
    assert to_ms(t) == 1772366400123
    assert from_ms(to_ms(t)) == t.replace(microsecond=123000)
    assert from_ms(0) == datetime(1970, 1, 1, tzinfo=timezone.utc)
    other_zone = t.astimezone(timezone(timedelta(hours=8)))
    assert to_ms(other_zone) == to_ms(t)
    assert to_ms(None) is None and from_ms(None) is None


def test_lookup_keys_hash_only_long_keys() -> None:
    assert lookup_key("idem-1") == "idem-1"
    assert lookup_key(None) is None
    long = "exp_1|export.delivered|https://hooks.example/" + "x" * 300
    hashed = lookup_key(long)
    assert hashed is not None and hashed.startswith("sha256:") and len(hashed) == 71
    assert lookup_key(long) == hashed and lookup_key(long + "y") != hashed
    # a short key that looks like a digest cannot collide with a real digest
    assert lookup_key(hashed) != hashed


def test_sqlite_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mem = open_store("sqlite://:memory:")
    assert isinstance(mem, SqlTaskStore) and mem.dialect.name == "sqlite"
    mem.close()

    absolute = tmp_path / "a" / "b" / "state.db"
    st = open_store(f"sqlite:///{absolute}")  # sqlite:////abs/path
    st.close()
    assert absolute.exists()

    monkeypatch.chdir(tmp_path)
    rel = open_store("sqlite:///rel/dir/state.db?table=courier_x")
    rel.insert_task(ExportTask(provider="cls", params={}))
    rel.close()
    assert (tmp_path / "rel" / "dir" / "state.db").exists()
    assert os.path.getsize(tmp_path / "rel" / "dir" / "state.db") > 0


@pytest.mark.parametrize("url", [
    "sqlite://",
    "sqlite:///x.db?table=bad-name",
    "sqlite:///x.db?table=drop;table",
    "dynamodb://?region=us-east-1",
    "dynamodb://t?ttl_days=soon",
    "redis://127.0.0.1",
])
def test_bad_urls_are_config_errors(url: str, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError):
        open_store(url)


def test_dynamodb_url_without_create_makes_no_call() -> None:
    st = open_store("dynamodb://courier-state?region=ap-guangzhou&endpoint=http://127.0.0.1:9"
                    "&ttl_days=7")
    assert isinstance(st, DynamoDBTaskStore)
    assert st.table == "courier-state" and st.ttl_s == 7 * 86400
    assert st.client.meta.region_name == "ap-guangzhou"
    assert st.client.meta.endpoint_url == "http://127.0.0.1:9"
    st.close()


def test_memory_store_round_trip() -> None:
    st = open_store("sqlite://:memory:")
    try:
        t, created = st.insert_task(ExportTask(provider="cls", params={"q": "*"},
                                               idempotency_key="k"))
        assert created and st.get_task(t.id).idempotency_key == "k"
        assert st.get_task(t.id).params == {"q": "*"}
    finally:
        st.close()
