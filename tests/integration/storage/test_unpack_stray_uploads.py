"""A kill in the middle of a member leaves its multipart upload open at the destination; the
resumed unpacking aborts it, so no unfinished upload stays behind (listed with
ListMultipartUploads on moto's S3 and through the sandbox COS gateway)."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.cos_gateway import CosGateway
from shared.setting_values import UnpackSettings
from shared.storage import COS_ENDPOINT_ENV, S3_ENDPOINT_ENV, open_destination
from shared.storage.base import ObjectStore
from shared.storage.cos import CosObjectStore
from shared.storage.s3 import S3ObjectStore
from shared.storage.unpack import MemberWriter, unpack_archive
from tests import servers
from tests.integration.storage.unpack_journal import Journal

pytestmark = pytest.mark.integration

MB = 1024 * 1024
PART = 5 * MB  # S3's minimum part, which moto enforces
REGION = "ap-guangzhou"
PERM = ("AKIDpermanent0002", "permanent-secret-key-2")
MANIFEST = "cls/dt=2026-11-20/exp_1/manifest.json"


@pytest.fixture(scope="module")
def moto() -> Iterator[servers.MotoServer]:
    with servers.moto() as handle:
        yield handle


@pytest.fixture
def s3(moto: servers.MotoServer, monkeypatch: pytest.MonkeyPatch) -> S3ObjectStore:
    for k, v in servers.aws_test_env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv(S3_ENDPOINT_ENV, moto.url)
    bucket = servers.unique_name("b").replace("_", "-")
    store = open_destination(f"s3://{bucket}/landing")
    assert isinstance(store, S3ObjectStore)
    store.client.create_bucket(Bucket=bucket)
    return store


@pytest.fixture(scope="module")
def gateway() -> Iterator[CosGateway]:
    with servers.fronted(CosGateway, servers.COS_MIN_PART, REGION, {PERM[0]: PERM[1]}) as gw:
        yield gw


@pytest.fixture
def cos(gateway: CosGateway, monkeypatch: pytest.MonkeyPatch) -> CosObjectStore:
    bucket = servers.unique_name("b").replace("_", "-") + "-1250000000"
    admin = CosObjectStore(bucket, region=REGION, endpoint=gateway.endpoint,
                           secret_id=PERM[0], secret_key=PERM[1])
    admin.client.create_bucket(Bucket=bucket)
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", PERM[0])
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", PERM[1])
    monkeypatch.setenv(COS_ENDPOINT_ENV, gateway.endpoint)
    store = open_destination(f"cos://{bucket}/landing/?region={REGION}")
    assert isinstance(store, CosObjectStore)
    return store


def open_uploads(store: ObjectStore) -> list[tuple[str, str]]:
    """(key, upload id) of every unfinished multipart upload in the store's bucket, as
    ListMultipartUploads answers (boto3: ``Uploads``; cos-python-sdk-v5: ``Upload``, always a
    list, ``cos_client.list_multipart_uploads``)."""
    answer = store.client.list_multipart_uploads(Bucket=store.bucket)  # type: ignore[attr-defined]
    uploads = answer.get("Uploads") or answer.get("Upload") or []
    return [(u["Key"], u["UploadId"]) for u in uploads]


def archive() -> bytes:
    """A .tar.gz whose second member gzips to about two parts (hex text: half as small)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for name, data in (("logs/a.log", b"first member\n" * 100),
                           ("logs/b.log", os.urandom(7 * MB).hex().encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("store_name", ["s3", "cos"])
def test_a_resumed_unpacking_leaves_no_unfinished_upload(
        store_name: str, request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    store: ObjectStore = request.getfixturevalue(store_name)
    data = archive()
    raw = {"key": "raw/cls/exp_1/export.tar.gz", "size": len(data),
           "md5": hashlib.md5(data).hexdigest(), "kind": "tar.gz"}  # noqa: S324
    store.put_object(raw["key"], data)
    journal = Journal()

    # GIVEN an unpacking killed while it uploads the second part of its second member: a
    # kill runs no cleanup, so the upload is not aborted
    put_part = store.put_part

    def dies_at_part_two(key: str, upload_id: str, number: int, *args: Any,
                         **kwargs: Any) -> str:
        if number == 2:
            raise SystemExit("killed")
        return put_part(key, upload_id, number, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(store, "put_part", dies_at_part_two)
        patch.setattr(MemberWriter, "abort", lambda self: None)
        with pytest.raises(SystemExit):
            unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(), journal=journal,
                           part_size=PART)
    assert len(journal.done) == 1 and journal.upload is not None
    assert open_uploads(store) == [(store._k(journal.upload["key"]),  # type: ignore[attr-defined]
                                    journal.upload["upload_id"])]

    # WHEN it runs again from its journal
    result = unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(), journal=journal,
                            part_size=PART)

    # THEN the stray upload is gone, the member is stored whole, and nothing is left open
    assert open_uploads(store) == []
    assert result.parts == 2 and journal.upload is None
    second = journal.done[1]
    info = store.head(second["key"])
    assert info is not None and info.size == second["size"] > PART
