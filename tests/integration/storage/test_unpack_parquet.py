"""``format: parquet`` in the unpack stage over a real folder store: CSV and JSON members land
as one Parquet file each, typed, read back by DuckDB; a member DuckDB cannot read fails with
a reason naming it; a killed stage resumes without converting or writing a member again."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shared.convert.parquet import ConversionError
from shared.setting_values import UnpackSettings
from shared.storage import unpack
from shared.storage.unpack import unpack_archive
from tests.integration.storage.test_unpack import (
    MANIFEST,
    CountingStore,
    Journal,
    land_raw,
    rows,
    tar_gz,
    zip_of,
)

FOLDER = MANIFEST.rsplit("/", 1)[0]


class ParquetStore(CountingStore):
    """Counts the Parquet objects written too (small ones go in one put)."""

    def put_object(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> Any:
        if key.endswith(".parquet"):
            if self.die_at is not None and len(self.writes) + 1 == self.die_at:
                raise SystemExit("killed")
            self.writes.append(key)
        return super().put_object(key, data, metadata)


def csv_rows(n: int) -> bytes:
    return b"seq,amount,level,at\n" + "".join(
        f"{i},{i * 0.5},INFO,2026-11-20 07:{i % 60:02d}:00\n" for i in range(n)).encode()


def parquet(raw: dict[str, Any]) -> dict[str, Any]:
    return {**raw, "format": "parquet"}


def query(sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect() as con:
        return con.execute(sql).fetchall()


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_csv_and_json_members_land_as_typed_parquet(tmp_path: Path, kind: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an archive of a JSON-lines member, a CSV member and a plain log
    store = ParquetStore(tmp_path)
    members = [("a.json", rows(3000)), ("logs/b.csv", csv_rows(2000)),
               ("notes.log", b"one line\n")]
    raw = parquet(land_raw(store, (tar_gz if kind == "tar.gz" else zip_of)(members), kind))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # /tmp on the platforms

    # WHEN it is unpacked with format parquet
    result = unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(),
                            journal=Journal(), export_id="exp_1", provider="cls")

    # THEN the CSV and JSON members are one Parquet file each, the log gzip'd as before
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["format"] == "parquet" and result.parts == 3
    assert [o["key"] for o in manifest["objects"]] == [
        f"{FOLDER}/a.parquet", f"{FOLDER}/logs/b.parquet", f"{FOLDER}/notes.log.gz"]
    for entry, (_, content) in zip(manifest["objects"], members):
        stored = (tmp_path / entry["key"]).read_bytes()
        assert entry["size"] == len(stored)
        assert entry["md5"] == hashlib.md5(stored).hexdigest()
        assert entry["content_md5"] == hashlib.md5(content).hexdigest()
        assert entry["content_size"] == len(content)
    js, csv, log = manifest["objects"]
    assert (js["rows"], csv["rows"]) == (3000, 2000) and "rows" not in log
    assert manifest["totals"]["rows"] == 5000
    assert gzip.decompress((tmp_path / log["key"]).read_bytes()) == b"one line\n"
    # AND DuckDB reads them with the rows, the sums and the types of the data
    assert query(f"SELECT count(*), sum(seq) FROM '{tmp_path / js['key']}'") == [
        (3000, sum(range(3000)))]
    assert query(f"SELECT count(*), sum(seq), sum(amount) FROM '{tmp_path / csv['key']}'") == [
        (2000, sum(range(2000)), sum(i * 0.5 for i in range(2000)))]
    types = dict(query(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                       f"read_parquet('{tmp_path / csv['key']}', hive_partitioning = false))"))
    assert types == {"seq": "BIGINT", "amount": "DOUBLE", "level": "VARCHAR",
                     "at": "TIMESTAMP"} == csv["columns"]
    assert js["columns"] == {"seq": "BIGINT", "tag": "VARCHAR"}
    # AND the temporary folder is gone
    assert not list((tmp_path / "tmp").iterdir())


def test_a_value_past_the_type_sniffers_sample_is_converted_not_refused(tmp_path: Path
                                                                         ) -> None:
    store = ParquetStore(tmp_path)
    late = csv_rows(30_000) + b"n/a,1.5,WARN,2026-11-20 08:00:00\n"
    raw = parquet(land_raw(store, tar_gz([("late.csv", late)]), "tar.gz"))
    unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(), journal=Journal())
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["objects"][0]["rows"] == 30_001
    assert manifest["objects"][0]["columns"]["seq"] == "VARCHAR"  # as every row allows


@pytest.mark.parametrize(("members", "reason"), [
    ([("a.json", rows(10)), ("b.json", b'{"seq": 1}\n{"seq": \n')],
     "member 'b.json' is not valid JSON: Malformed JSON in file \"b.json\""),
    ([("ragged.csv", b"seq,v\n" + b"1,2\n" * 30_000 + b"3,4,5,6,7\n")],
     "member 'ragged.csv' is not valid CSV"),
    ([("big.csv", csv_rows(50_000))], "member 'big.csv' is too large to convert within "
     "the temporary space (COURIER_PARQUET_TMP_MB=0"),
], ids=["bad-json", "ragged-csv", "over-tmp-bound"])
def test_a_member_that_does_not_convert_fails_with_a_reason_naming_it(
        tmp_path: Path, members: list[tuple[str, bytes]], reason: str) -> None:
    store = ParquetStore(tmp_path)
    raw = parquet(land_raw(store, zip_of(members), "zip"))
    settings = UnpackSettings(parquet_tmp_bytes=100_000 if "big" in members[0][0] else
                              384 * 1024**2)
    with pytest.raises(ConversionError) as caught:
        unpack_archive(store, raw, MANIFEST, settings=settings, journal=Journal())
    assert reason in caught.value.message, caught.value.message
    assert not caught.value.retryable and caught.value.stage == "converting to Parquet"
    # words, not exception classes nor DuckDB's kinds of error
    assert not re.search(r"[a-z]Error|Exception|Input Error:", caught.value.message)
    assert str(tempfile.gettempdir()) not in caught.value.message
    assert not (tmp_path / MANIFEST).exists() and (tmp_path / raw["key"]).is_file()


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_a_killed_stage_resumes_without_converting_a_member_again(
        tmp_path: Path, kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a Parquet unpacking that dies while it writes the third of four members
    store = ParquetStore(tmp_path)
    members = [(f"part-{i}.csv", csv_rows(100 + i)) for i in range(4)]
    raw = parquet(land_raw(store, (tar_gz if kind == "tar.gz" else zip_of)(members), kind))
    journal = Journal()
    store.die_at = 3
    with pytest.raises(SystemExit):
        unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(), journal=journal)
    assert [e["key"] for e in journal.done] == [f"{FOLDER}/part-0.parquet",
                                                f"{FOLDER}/part-1.parquet"]
    first = [(tmp_path / e["key"]).stat().st_mtime_ns for e in journal.done]
    converted: list[str] = []
    real = unpack.convert_member

    def counted(store_: Any, key: str, *args: Any, **kwargs: Any) -> Any:
        converted.append(key)
        return real(store_, key, *args, **kwargs)

    monkeypatch.setattr(unpack, "convert_member", counted)

    # WHEN it runs again from what the journal kept
    store.die_at = None
    result = unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(), journal=journal)

    # THEN only the last two were converted and written; the first two stayed as they were
    assert converted == [f"{FOLDER}/part-2.parquet", f"{FOLDER}/part-3.parquet"]
    assert [(tmp_path / e["key"]).stat().st_mtime_ns for e in journal.done[:2]] == first
    assert store.writes.count(journal.done[0]["key"]) == 1 and len(store.writes) == 4
    assert result.parts == 4
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert [o["rows"] for o in manifest["objects"]] == [100, 101, 102, 103]
