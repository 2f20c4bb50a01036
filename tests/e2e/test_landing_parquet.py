"""``format: parquet``: the sandbox's CLS (JSON) and DMS (CSV) exports land as one Parquet file
per member under ``dt=…/hour=…/`` keys, and DuckDB's Hive partitioning reads them back with
the rows the sandbox exported, in typed columns. The CLS export asks for Parquet itself; the
DMS one gets the deployment's ``COURIER_FORMAT=parquet``. A named destination's ``format``
is what an export into it gets when it asks for none."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.e2e.helpers import post, until_terminal
from tests.e2e.test_landing_queryable import (
    TEMPLATE,
    WINDOW_START,
    cls_export,
    dms_export,
    exported,
    query,
)


@pytest.fixture
def parquet_env(handlers_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
                ) -> dict[str, str]:
    from functions import common

    monkeypatch.setenv("COURIER_KEY_TEMPLATE", TEMPLATE)
    monkeypatch.setenv("COURIER_UNPACK", "on")
    monkeypatch.setenv("COURIER_FORMAT", "parquet")
    common.reset()
    return handlers_env


def types(pattern: str) -> dict[str, str]:
    with duckdb.connect() as con:
        return {str(name): str(kind) for name, kind, *_ in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet('{pattern}', hive_partitioning = true)"
        ).fetchall()}


@pytest.mark.usefixtures("parquet_env")
def test_cls_json_and_dms_csv_land_as_parquet_and_duckdb_reads_them_by_partition(
        sandbox: Any, api_key: str, tmp_path: Path) -> None:
    bucket = tmp_path / "bucket"
    sandbox.set_file_size("topic-app", 300_000)
    sandbox.file_size = 200_000

    # WHEN a CLS export of 07:00-08:00 (JSON lines) and a DMS ticket (CSV) are delivered
    js = cls_export(api_key, sandbox, "json")
    dms = dms_export(api_key, sandbox)

    # THEN each lands as a manifest and one Parquet file per member, under its partition
    for task in (js, dms):
        assert task["state"] == "delivered", task["error"]
        manifest_key = task["destination"]["manifest"]["key"]
        manifest = json.loads((bucket / manifest_key).read_text())
        assert manifest["format"] == "parquet"
        [member] = manifest["objects"]
        assert member["key"].endswith(".parquet") and member["rows"] > 500
        assert (bucket / member["key"]).stat().st_size == member["size"]
        assert (bucket / manifest["raw"]["key"]).is_file()
    assert "/topic-app/dt=2026-11-20/hour=07/" in js["destination"]["manifest"]["key"]
    today = datetime.fromisoformat(dms["created_at"].replace("Z", "+00:00"))

    # AND DuckDB, with Hive partitioning, counts the rows and sums a column as exported
    expect_js = exported(sandbox.files.get(js["remote"]["ExportId"]))
    expect_dms = exported(sandbox.files.get(f"dms-{dms['remote']['OrderId']}"))
    assert query(f"SELECT count(*), sum(seq) FROM read_parquet('{bucket}/cls/**/*.parquet', "
                 "hive_partitioning = true) WHERE dt = '2026-11-20' AND hour = '07'"
                 ) == expect_js
    assert query(f"SELECT count(*), sum(seq) FROM read_parquet('{bucket}/dms/**/*.parquet', "
                 f"hive_partitioning = true) WHERE dt = '{today:%Y-%m-%d}'") == expect_dms
    # AND the columns are typed from the data, not all text
    for pattern in (f"{bucket}/cls/**/*.parquet", f"{bucket}/dms/**/*.parquet"):
        found = types(pattern)
        assert found["seq"] == "BIGINT" and found["msg"] == "VARCHAR", found
        assert found["dt"] == "DATE"  # the partition, as DuckDB reads it


@pytest.mark.usefixtures("parquet_env")
def test_parquet_without_unpacking_or_with_a_bad_value_is_refused(
        sandbox: Any, api_key: str) -> None:
    start_ms = int(WINDOW_START.timestamp() * 1000)
    params = {"TopicId": "topic-app", "From": start_ms, "To": start_ms + 3_600_000}
    status, answer = post(api_key, {"provider": "cls", "unpack": False, "format": "parquet",
                                    "params": params})
    assert status == 400 and answer["field"] == "format", answer
    assert 'needs "unpack": true' in answer["message"]
    status, answer = post(api_key, {"provider": "cls", "format": "orc", "params": params})
    assert status == 400 and answer["field"] == "format"
    assert "'gzip' or 'parquet'" in answer["message"]
    assert sandbox.calls.get(("cls", "CreateExport"), 0) == 0


@pytest.fixture
def lake_env(handlers_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
             ) -> dict[str, str]:
    """COURIER_UNPACK and COURIER_FORMAT unset (off, gzip); destination ``lake`` unpacks to
    Parquet."""
    from functions import common

    monkeypatch.setenv("COURIER_KEY_TEMPLATE", TEMPLATE)
    monkeypatch.setenv("COURIER_DESTINATIONS", json.dumps({"lake": {
        "url": f"file://{tmp_path}/lake", "unpack": True, "format": "parquet"}}))
    common.reset()
    return handlers_env


@pytest.mark.usefixtures("lake_env")
def test_an_export_into_a_parquet_destination_lands_parquet_unless_it_asks_for_gzip(
        sandbox: Any, api_key: str, tmp_path: Path) -> None:
    sandbox.set_file_size("topic-app", 100_000)
    start_ms = int(WINDOW_START.timestamp() * 1000)
    params = {"TopicId": "topic-app", "From": start_ms, "To": start_ms + 3_600_000,
              "Format": "json"}
    lake = tmp_path / "lake"

    # WHEN one export names the destination and no format, another asks for gzip
    tasks, manifests = {}, {}
    for fmt in ("", "gzip"):
        status, created = post(api_key, {"provider": "cls", "destination": "lake",
                                          "params": params, **({"format": fmt} if fmt else {})})
        assert status == 202, created
        tasks[fmt] = task = until_terminal(created["id"], api_key, sandbox)
        assert task["state"] == "delivered", task["error"]
        manifests[fmt] = json.loads((lake / task["destination"]["manifest"]["key"]).read_text())

    # THEN the first is unpacked (the destination's unpack) into Parquet (its format), with
    # the rows the sandbox exported; the second into a gzip object: its own format wins
    assert manifests[""]["format"] == "parquet"
    [member] = manifests[""]["objects"]
    assert member["key"].endswith(".parquet")
    assert (lake / member["key"]).stat().st_size == member["size"]
    assert query(f"SELECT count(*), sum(seq) FROM read_parquet('{lake / member['key']}')"
                 ) == exported(sandbox.files.get(tasks[""]["remote"]["ExportId"]))
    assert manifests["gzip"]["format"] == "gzip"
    [member] = manifests["gzip"]["objects"]
    assert member["key"].endswith(".gz") and "rows" not in member
    assert not list(tmp_path.glob("bucket/**/*.parquet"))  # nothing in the deployment's own
