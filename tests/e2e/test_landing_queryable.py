"""Exports land unpacked under ``dt=…/hour=…/`` keys, and a query engine reads them as they lie:
the sandbox's CLS (JSON and CSV) and DMS (CSV) results, read back with DuckDB's Hive
partitioning, hold exactly the rows the sandbox exported."""

from __future__ import annotations

import io
import json
import tarfile
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests

from tests.e2e.helpers import call, post, tick, until_terminal
from tests.events import load_event

TEMPLATE = "{provider}/{source}/dt={dt}/hour={hour}/{export_id}/{file_name}"
WINDOW_START = datetime(2026, 11, 20, 7, tzinfo=timezone.utc)


@pytest.fixture
def landing_env(handlers_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
                ) -> dict[str, str]:
    from functions import common

    monkeypatch.setenv("COURIER_KEY_TEMPLATE", TEMPLATE)
    monkeypatch.setenv("COURIER_UNPACK", "on")
    common.reset()
    return handlers_env


def exported(entry: Any) -> tuple[int, int]:
    """(rows, sum of seq) of the one member of a sandbox archive, read from the sandbox's
    own bytes."""
    data = entry.data
    if entry.packing == "zip":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            content = archive.read(archive.infolist()[0])
            name = archive.infolist()[0].filename
    else:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            member = tar.getmembers()[0]
            content = tar.extractfile(member).read()  # type: ignore[union-attr]
            name = member.name
    lines = content.decode().splitlines()
    if name.endswith(".csv"):
        seqs = [int(line.split(",")[0]) for line in lines[1:]]
    else:
        seqs = [json.loads(line)["seq"] for line in lines]
    return len(seqs), sum(seqs)


def query(sql: str) -> tuple[int, int]:
    with duckdb.connect() as con:
        rows = con.execute(sql).fetchall()
    assert len(rows) == 1
    return int(rows[0][0]), int(rows[0][1] or 0)


def cls_export(api_key: str, sandbox: Any, fmt: str) -> dict[str, Any]:
    start_ms = int(WINDOW_START.timestamp() * 1000)
    status, created = post(api_key, {"provider": "cls", "unpack": True, "params": {
        "TopicId": "topic-app", "From": start_ms, "To": start_ms + 3_600_000, "Format": fmt}})
    assert status == 202, created
    return until_terminal(created["id"], api_key, sandbox)


def dms_export(api_key: str, sandbox: Any) -> dict[str, Any]:
    _, created = post(api_key, {"provider": "dms", "params": {
        "Tid": 1, "DbId": 1234, "InstanceId": 77, "ExeSQL": "SELECT * FROM orders",
        "Comment": "landing"}})
    export_id = created["id"]
    for _ in range(20):
        sandbox.clock.advance(5)
        tick()
        _, task = call(load_event("scf_apigw_get_export", path=f"/exports/{export_id}",
                                  headers={"x-api-key": api_key}))
        if task["stage"] == "waiting":
            break
        time.sleep(0.2)
    assert requests.post(sandbox.url + "/_sandbox/dms/approve",
                         json={"OrderId": task["remote"]["OrderId"]}, timeout=5).ok
    call(load_event("aws_apigw_rest_post_exports", body="", path=f"/exports/{export_id}/check",
                    headers={"x-api-key": api_key}))
    return until_terminal(export_id, api_key, sandbox, limit_s=30)


@pytest.mark.usefixtures("landing_env")
def test_cls_and_dms_land_unpacked_and_duckdb_reads_them_by_partition(
        sandbox: Any, api_key: str, tmp_path: Path) -> None:
    bucket = tmp_path / "bucket"
    sandbox.set_file_size("topic-app", 300_000)
    sandbox.file_size = 200_000

    # WHEN a CLS export of 07:00-08:00 (JSON, then CSV) and a DMS ticket are delivered
    js, csv = cls_export(api_key, sandbox, "json"), cls_export(api_key, sandbox, "csv")
    dms = dms_export(api_key, sandbox)

    # THEN each lands as a manifest and one gzip object per member, under its partition
    for task in (js, csv, dms):
        assert task["state"] == "delivered", task["error"]
        manifest_key = task["destination"]["manifest"]["key"]
        manifest = json.loads((bucket / manifest_key).read_text())
        assert [o["key"] for o in manifest["objects"]] == [
            manifest_key.rsplit("/", 1)[0] + "/" + o["name"] + ".gz"
            for o in manifest["objects"]]
        assert (bucket / manifest["raw"]["key"]).is_file()  # the archive kept under raw/
        assert manifest["raw"]["key"].startswith("raw/")
    assert "/topic-app/dt=2026-11-20/hour=07/" in js["destination"]["manifest"]["key"]
    today = datetime.fromisoformat(dms["created_at"].replace("Z", "+00:00"))
    assert f"/tid-1/dt={today:%Y-%m-%d}/hour={today:%H}/" in dms["destination"]["manifest"][
        "key"]

    # AND DuckDB, with Hive partitioning, counts the rows and sums a column as exported
    files = sandbox.files
    expect_js = exported(files.get(js["remote"]["ExportId"]))
    expect_csv = exported(files.get(csv["remote"]["ExportId"]))
    expect_dms = exported(files.get(f"dms-{dms['remote']['OrderId']}"))
    assert expect_js[0] > 1000 and expect_dms[0] > 500
    assert query(f"SELECT count(*), sum(seq) FROM read_json_auto('{bucket}/cls/**/*.json.gz', "
                 "hive_partitioning = true) WHERE dt = '2026-11-20' AND hour = '07'"
                 ) == expect_js
    assert query(f"SELECT count(*), sum(seq) FROM read_csv_auto('{bucket}/cls/**/*.csv.gz', "
                 "hive_partitioning = true) WHERE dt = '2026-11-20' AND hour = '07'"
                 ) == expect_csv
    assert query(f"SELECT count(*), sum(seq) FROM read_csv_auto('{bucket}/dms/**/*.csv.gz', "
                 f"hive_partitioning = true) WHERE dt = '{today:%Y-%m-%d}'") == expect_dms


@pytest.mark.usefixtures("landing_env")
def test_a_window_across_two_hour_partitions_is_refused_before_the_vendor(
        sandbox: Any, api_key: str) -> None:
    start_ms = int(WINDOW_START.timestamp() * 1000) + 1_800_000  # 07:30 to 08:30
    status, answer = post(api_key, {"provider": "cls", "params": {
        "TopicId": "topic-app", "From": start_ms, "To": start_ms + 3_600_000}})
    assert status == 400 and answer["field"] == "params"
    assert "{hour} names one hour" in answer["message"]
    assert sandbox.calls.get(("cls", "CreateExport"), 0) == 0
    status, answer = post(api_key, {"provider": "cls", "unpack": "yes", "params": {}})
    assert status == 400 and answer["field"] == "unpack"
