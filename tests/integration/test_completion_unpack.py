"""The unpack stage inside a delivery: a kill after the raw copy landed is resumed from that
copy, without asking the vendor again (into a folder, S3 on moto, and COS and OSS through the
sandbox gateways in front of moto); a raw copy that turns out bad fails the export with its
reason, and stays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.bundle import Bundle
from shared.config import Settings
from shared.model import TaskState
from tests import servers
from tests.integration.test_completion_lease import ready_export

COS_REGION = "ap-guangzhou"
OSS_REGION = "cn-hangzhou"


@pytest.fixture
def unpacking(courier_env: dict[str, str]) -> Iterator[Bundle]:
    bundle = Bundle(Settings.from_env({**courier_env, "COURIER_UNPACK": "on"}))
    try:
        yield bundle
    finally:
        bundle.store().close()


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[servers.MotoServer]:
    with servers.moto() as handle:
        yield handle


@pytest.fixture(scope="module")
def cos_gateway() -> Iterator[Any]:
    from sandbox.cos_gateway import CosGateway

    with servers.fronted(CosGateway, servers.COS_MIN_PART, COS_REGION) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def oss_gateway() -> Iterator[Any]:
    from sandbox.oss_gateway import OssGateway

    with servers.fronted(OssGateway, servers.OSS_MIN_PART, OSS_REGION) as gateway:
        yield gateway


def destination_env(kind: str, bucket: str, request: pytest.FixtureRequest, sandbox: Any,
                    monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The settings of a ``kind`` destination in a new ``bucket`` (not yet made) that the
    deployment's own keys write: AWS's test keys for S3, the sandbox's Tencent pair for COS
    and its Alibaba pair (DMS's) for OSS."""
    if kind == "s3":
        for k, v in servers.aws_test_env().items():
            monkeypatch.setenv(k, v)
        moto = request.getfixturevalue("moto_s3")
        return {"COURIER_DESTINATION": f"s3://{bucket}/exports", "COURIER_S3_ENDPOINT": moto.url}
    if kind == "cos":
        gateway = request.getfixturevalue("cos_gateway")
        gateway.add_credentials(*sandbox.credentials)
        return {"COURIER_DESTINATION": f"cos://{bucket}-1250000000/exports?region={COS_REGION}",
                "COURIER_COS_ENDPOINT": gateway.endpoint}
    gateway = request.getfixturevalue("oss_gateway")
    gateway.add_credentials(*sandbox.dms.credentials)
    return {"COURIER_DESTINATION": f"oss://{bucket}/exports?region={OSS_REGION}",
            "COURIER_OSS_ENDPOINT": gateway.endpoint}


def make_bucket(store: Any) -> None:
    """The destination store's bucket, made through its own SDK."""
    from shared.storage.oss import OssObjectStore

    if isinstance(store, OssObjectStore):
        import alibabacloud_oss_v2 as oss

        store.client.put_bucket(oss.PutBucketRequest(bucket=store.bucket))
    else:
        store.client.create_bucket(Bucket=store.bucket)


@pytest.fixture(params=["file", "s3", "cos", "oss"])
def unpacking_into(request: pytest.FixtureRequest, courier_env: dict[str, str], sandbox: Any,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[Bundle]:
    """A bundle unpacking into a folder (the suite's own) or a new bucket of S3, COS or OSS."""
    env = {**courier_env, "COURIER_UNPACK": "on"}
    if request.param != "file":
        bucket = servers.unique_name("d").replace("_", "-")
        env.update(destination_env(request.param, bucket, request, sandbox, monkeypatch))
    bundle = Bundle(Settings.from_env(env))
    try:
        if request.param != "file":
            make_bucket(bundle.destination())
        yield bundle
    finally:
        bundle.store().close()


def killed_after_raw(bundle: Bundle, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A ready CLS export whose delivery dies once its raw copy landed, before a member is
    stored; returns the task as the kill left it."""
    import shared.storage.unpack as unpack

    export_id = ready_export(bundle, sandbox)

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise SystemExit("killed")

    with monkeypatch.context() as patch:
        patch.setattr(unpack, "store_member", killed)
        with pytest.raises(SystemExit):
            bundle.completer.complete(export_id, owner="complete:dies")
    task = bundle.store().get_task(export_id)
    assert task.state is TaskState.COPYING and task.destination["raw"]["key"].startswith("raw/")
    return task


def no_vendor(bundle: Bundle, monkeypatch: pytest.MonkeyPatch) -> None:
    def asked(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the vendor was asked again")

    monkeypatch.setattr(bundle.providers.get("cls"), "result", asked)


def test_a_killed_unpack_resumes_from_the_raw_copy_without_the_vendor(
        unpacking_into: Bundle, sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a delivery killed once its raw copy landed, before a member was stored
    task = killed_after_raw(unpacking_into, sandbox, monkeypatch)
    calls = dict(sandbox.calls)
    no_vendor(unpacking_into, monkeypatch)

    # WHEN the next tick takes it up
    done = unpacking_into.completer.complete(task.id, owner="complete:next",
                                             now=task.lease_until + timedelta(seconds=1))

    # THEN it is delivered from the raw copy, without a call to CLS, the raw copy kept
    assert done.state is TaskState.DELIVERED, done.error
    assert dict(sandbox.calls) == calls  # no call to CLS at all
    manifest = done.destination["manifest"]
    assert manifest["key"].endswith("/manifest.json") and done.destination["objects"] == 1
    store = unpacking_into.destination()
    assert store.head(done.destination["raw"]["key"]) is not None
    assert store.head(manifest["key"]) is not None


def test_a_raw_copy_changed_since_it_landed_fails_the_export_and_stays(
        unpacking: Bundle, sandbox: Any, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    task = killed_after_raw(unpacking, sandbox, monkeypatch)
    raw = tmp_path / "bucket" / task.destination["raw"]["key"]
    raw.write_bytes(raw.read_bytes()[:40] + b"\0" * 64)  # damaged after it was verified
    no_vendor(unpacking, monkeypatch)

    done = unpacking.completer.complete(task.id, owner="complete:next",
                                        now=task.lease_until + timedelta(seconds=1))

    assert done.state is TaskState.FAILED
    assert done.error["reason"].startswith("unpacking failed: the archive is corrupt")
    assert done.error["retryable"] is False
    assert raw.is_file() and "manifest" not in done.destination
    assert not list((tmp_path / "bucket").rglob("manifest.json"))


def test_a_member_that_is_not_json_fails_the_parquet_export_naming_it(
        courier_env: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    import io
    import tarfile

    import shared.storage.unpack as unpack

    bundle = Bundle(Settings.from_env({**courier_env, "COURIER_UNPACK": "on",
                                       "COURIER_FORMAT": "parquet"}))
    try:
        # GIVEN a CLS export whose raw copy landed, then (as if the vendor had shipped it so)
        # holds a member that says .json and is not JSON
        export_id = ready_export(bundle, sandbox)

        def killed(*args: Any, **kwargs: Any) -> Any:
            raise SystemExit("killed")

        with monkeypatch.context() as patch:
            patch.setattr(unpack, "convert_member", killed)
            with pytest.raises(SystemExit):
                bundle.completer.complete(export_id, owner="complete:dies")
        task = bundle.store().get_task(export_id)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            content = b'{"seq": 1}\n{"seq": 2, oops}\n'
            info = tarfile.TarInfo("logs/app.json")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        (tmp_path / "bucket" / task.destination["raw"]["key"]).write_bytes(buf.getvalue())
        no_vendor(bundle, monkeypatch)

        # WHEN the next tick takes it up
        done = bundle.completer.complete(export_id, owner="complete:next",
                                         now=task.lease_until + timedelta(seconds=1))

        # THEN the export fails for good, saying which member and why; no manifest
        assert done.state is TaskState.FAILED
        assert done.error["reason"].startswith(
            "converting to Parquet failed: member 'logs/app.json' is not valid JSON: "
            "Malformed JSON"), done.error
        assert done.error["retryable"] is False
        assert "manifest" not in done.destination
        assert not list((tmp_path / "bucket").rglob("*.parquet"))
    finally:
        bundle.store().close()


def test_a_parquet_delivery_killed_after_its_member_resumes_without_converting_it_again(
        courier_env: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    import shared.storage.unpack as unpack

    bundle = Bundle(Settings.from_env({**courier_env, "COURIER_UNPACK": "on",
                                       "COURIER_FORMAT": "parquet"}))
    try:
        # GIVEN a CLS export whose delivery dies once its member is converted and stored,
        # before the manifest is written
        export_id = ready_export(bundle, sandbox)

        def killed(*args: Any, **kwargs: Any) -> Any:
            raise SystemExit("killed")

        with monkeypatch.context() as patch:
            patch.setattr(unpack, "_write_manifest", killed)
            with pytest.raises(SystemExit):
                bundle.completer.complete(export_id, owner="complete:dies")
        task = bundle.store().get_task(export_id)
        assert task.destination["raw"]["format"] == "parquet"
        [member] = task.destination["unpack"]["members"]
        assert member["key"].endswith(".parquet") and member["rows"] > 0
        stored = tmp_path / "bucket" / member["key"]
        written = stored.stat().st_mtime_ns
        calls = dict(sandbox.calls)
        no_vendor(bundle, monkeypatch)
        monkeypatch.setattr(unpack, "convert_member", killed)  # never converted again

        # WHEN the next tick takes it up
        done = bundle.completer.complete(export_id, owner="complete:next",
                                         now=task.lease_until + timedelta(seconds=1))

        # THEN it is delivered from the stored member, written once, without CLS
        assert done.state is TaskState.DELIVERED, done.error
        assert dict(sandbox.calls) == calls
        assert stored.stat().st_mtime_ns == written
        assert done.destination["objects"] == 1
    finally:
        bundle.store().close()


def test_a_kill_inside_a_member_leaves_no_unfinished_upload_after_the_resume(
        unpacking: Bundle, sandbox: Any, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path) -> None:
    import shared.storage.unpack as unpack
    from shared.storage.local import STAGING_DIR, LocalObjectStore

    # GIVEN members stored in parts of 256 bytes, and a delivery killed as it uploads the second
    # part of its member (a kill runs no cleanup: the upload stays open)
    original = unpack.unpack_archive
    monkeypatch.setattr(unpack, "unpack_archive",
                        lambda *a, **k: original(*a, **{**k, "part_size": 256}))
    export_id = ready_export(unpacking, sandbox)
    put_part = LocalObjectStore.put_part

    def dies_at_part_two(self: Any, key: str, upload_id: str, number: int, *args: Any,
                         **kwargs: Any) -> str:
        if number == 2:
            raise SystemExit("killed")
        return put_part(self, key, upload_id, number, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(LocalObjectStore, "put_part", dies_at_part_two)
        patch.setattr(unpack.MemberWriter, "abort", lambda self: None)
        with pytest.raises(SystemExit):
            unpacking.completer.complete(export_id, owner="complete:dies")
    task = unpacking.store().get_task(export_id)
    stray = task.destination["unpack"]["upload"]
    staging = tmp_path / "bucket" / STAGING_DIR
    assert [p.name for p in staging.iterdir()] == [stray["upload_id"]]
    no_vendor(unpacking, monkeypatch)

    # WHEN the next tick takes it up
    done = unpacking.completer.complete(export_id, owner="complete:next",
                                        now=task.lease_until + timedelta(seconds=1))

    # THEN the member is stored whole and the killed upload is gone
    assert done.state is TaskState.DELIVERED, done.error
    assert "upload" not in done.destination["unpack"]
    assert not list(staging.iterdir())
    [member] = done.destination["unpack"]["members"]
    assert (tmp_path / "bucket" / member["key"]).stat().st_size == member["size"] > 256
