"""A result of several staged objects: copied one by one, resumed after a kill, listed in a
manifest; server-side when the destination is S3 on the same endpoint."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from shared.copy_journal import TaskJournal
from shared.model import ExportTask, S3ObjectSource, SourceSet
from shared.state import open_store
from shared.storage.local import LocalObjectStore
from shared.storage.manifest import copy_set
from shared.storage.s3 import S3ObjectStore
from tests.integration.providers.cloudwatch.conftest import STAGING


def staged(url: str, count: int) -> SourceSet:
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    items = []
    for i in range(count):
        key = f"staging/exp/000-app/stream-{i}/000000.gz"
        s3.put_object(Bucket=STAGING, Key=key, Body=bytes([i]) * (1000 + i))
        items.append(S3ObjectSource(
            url=s3.generate_presigned_url("get_object", Params={"Bucket": STAGING, "Key": key}),
            file_name=key[len("staging/exp/"):], size=1000 + i, bucket=STAGING, key=key,
            endpoint=url))
    return SourceSet(tuple(items))


class Killed(Exception):
    pass


class CountingStore(LocalObjectStore):
    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.writes: list[str] = []

    def put_object(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> Any:
        self.writes.append(key)
        return super().put_object(key, data, metadata)


def test_a_killed_set_copy_continues_with_the_first_file_not_done(moto: Any,
                                                                  tmp_path: Path) -> None:
    sources = staged(moto.url, 3)
    state = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    task = state.insert_task(ExportTask(provider="cloudwatch", params={}))[0]
    journal = TaskJournal(state, task)
    dest = CountingStore(tmp_path / "bucket")
    done = journal.file_done
    calls = {"n": 0}

    def dies_after_two(entry: dict[str, Any]) -> None:
        done(entry)
        calls["n"] += 1
        if calls["n"] == 2:
            raise Killed

    journal.file_done = dies_after_two  # type: ignore[method-assign]
    with pytest.raises(Killed):
        copy_set(sources, dest, "cw/exp/manifest.json", journal=journal, export_id=task.id,
                 check_url=None)
    assert len(dest.writes) == 2 and "cw/exp/manifest.json" not in dest.writes

    resumed = TaskJournal(state, state.get_task(task.id))
    result = copy_set(sources, dest, "cw/exp/manifest.json", journal=resumed,
                      export_id=task.id)

    assert dest.writes[2:] == ["cw/exp/000-app/stream-2/000000.gz", "cw/exp/manifest.json"]
    manifest = json.loads(dest.read("cw/exp/manifest.json"))
    assert manifest["totals"] == {"objects": 3, "bytes": 3003} == {
        "objects": result.parts, "bytes": result.size}
    for i, obj in enumerate(manifest["objects"]):
        assert obj["key"] == f"cw/exp/000-app/stream-{i}/000000.gz"
        assert obj["md5"] == hashlib.md5(bytes([i]) * (1000 + i)).hexdigest()
    assert result.md5 == hashlib.md5(dest.read("cw/exp/manifest.json")).hexdigest()


def test_an_s3_destination_on_the_same_endpoint_copies_server_side(moto: Any) -> None:
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
    s3.create_bucket(Bucket="dest")
    dest = S3ObjectStore("dest", "exports", endpoint_url=moto.url, region="us-east-1")

    result = copy_set(staged(moto.url, 2), dest, "exp/manifest.json")

    assert result.server_side and result.parts == 2
    head = s3.head_object(Bucket="dest", Key="exports/exp/000-app/stream-1/000000.gz")
    assert head["ContentLength"] == 1001


def test_another_endpoint_streams_instead(moto: Any, gateway: Any, tmp_path: Path) -> None:
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
    s3.create_bucket(Bucket="dest")
    dest = S3ObjectStore("dest", "", endpoint_url=gateway.url, region="us-east-1")

    result = copy_set(staged(moto.url, 1), dest, "exp/manifest.json")

    assert not result.server_side and result.size == 1000
