"""A member's part that meets a store error which may pass (503 SlowDown, a connection reset
before the answer) is sent again, as the copy stage sends its parts again
(``pipeline.put_part_retrying``), rather than failing the member and the export with it.
Through cos-python-sdk-v5 and the sandbox COS gateway (in front of moto), whose faults play
the store's errors; the SDK's own retries are turned off, so each fault reaches Courier."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.cos_gateway import CosGateway
from shared.clouds import tencent
from shared.errors import StorageError
from shared.setting_values import UnpackSettings
from shared.storage.cos import CosObjectStore
from shared.storage.pipeline import PART_ATTEMPTS
from shared.storage.unpack import unpack_archive
from tests import servers
from tests.integration.storage.unpack_journal import Journal

pytestmark = pytest.mark.integration

MB = 1024 * 1024
PART = servers.COS_MIN_PART
REGION = "ap-guangzhou"
PERM = ("AKIDpermanent0003", "permanent-secret-key-3")
MANIFEST = "cls/dt=2026-11-20/exp_1/manifest.json"
LARGE_KEY = "cls/dt=2026-11-20/exp_1/logs/b.log.gz"  # where the second member is stored
SMALL = b"first member\n" * 100
LARGE = os.urandom(3 * MB // 2).hex().encode()  # about 1.7 MB gzip'd: two parts


@pytest.fixture(scope="module")
def gateway() -> Iterator[CosGateway]:
    with servers.fronted(CosGateway, PART, REGION, {PERM[0]: PERM[1]}) as gw:
        yield gw


@pytest.fixture
def cos(gateway: CosGateway) -> Iterator[CosObjectStore]:
    bucket = servers.unique_name("b").replace("_", "-") + "-1250000000"
    # the store's client without the SDK's own retries (retry=0): every fault reaches Courier
    client = tencent.cos_client(REGION, *PERM, endpoint=gateway.endpoint, retry=0)
    store = CosObjectStore(bucket, region=REGION, prefix="landing", endpoint=gateway.endpoint,
                           client=client)
    store.client.create_bucket(Bucket=bucket)
    gateway.faults.clear()
    try:
        yield store
    finally:
        gateway.faults.clear()


class Writes:
    """How often each member object was begun (one request or a multipart upload)."""

    def __init__(self, store: CosObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.begun: Counter[str] = Counter()
        put_object, start_upload = store.put_object, store.start_upload

        def counted_put(key: str, *args: Any, **kwargs: Any) -> Any:
            self.begun[key] += 1
            return put_object(key, *args, **kwargs)

        def counted_start(key: str, *args: Any, **kwargs: Any) -> str:
            self.begun[key] += 1
            return start_upload(key, *args, **kwargs)

        monkeypatch.setattr(store, "put_object", counted_put)
        monkeypatch.setattr(store, "start_upload", counted_start)


def raw_copy(store: CosObjectStore) -> dict[str, Any]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for name, data in (("logs/a.log", SMALL), ("logs/b.log", LARGE)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    data = buf.getvalue()
    raw = {"key": "raw/cls/exp_1/export.tar.gz", "size": len(data),
           "md5": hashlib.md5(data).hexdigest(), "kind": "tar.gz"}  # noqa: S324
    store.put_object(raw["key"], data)
    return raw


def member_parts(gateway: CosGateway, store: CosObjectStore, key: str) -> int:
    """Upload Part requests the gateway saw for ``key``, faulted ones included: its PUTs
    after the POST that began the upload and before the POST that completed it (a PUT after
    that sets its tags)."""
    path = "/" + store._k(key)
    seen = [method for method, bucket, p in gateway.requests
            if bucket == store.bucket and p == path]
    begun = seen.index("POST") + 1
    ended = seen.index("POST", begun) if "POST" in seen[begun:] else len(seen)
    return seen[begun:ended].count("PUT")


@pytest.mark.parametrize("kind, code", [("error", "SlowDown"), ("drop", "")],
                         ids=["503-slowdown", "connection-reset"])
def test_one_transient_part_failure_is_absorbed_without_rewriting_a_member(
        gateway: CosGateway, cos: CosObjectStore, monkeypatch: pytest.MonkeyPatch,
        kind: str, code: str) -> None:
    raw = raw_copy(cos)
    writes = Writes(cos, monkeypatch)
    journal = Journal()
    # GIVEN the store fails one Upload Part request: a 503 SlowDown, or a connection closed
    # before its answer
    gateway.faults.add("cos", "UploadPart", kind, code=code or "InternalError")

    # WHEN the archive is unpacked
    result = unpack_archive(cos, raw, MANIFEST, settings=UnpackSettings(), journal=journal,
                            part_size=PART)

    # THEN the failed part was sent again and the export did not fail: the fault was used,
    # each member was begun once and journalled once, and both are whole
    assert gateway.faults.take("cos", "UploadPart") is None
    large = journal.done[1]["key"]
    assert large == LARGE_KEY
    assert member_parts(gateway, cos, large) == 3  # two parts, one of them twice
    assert result.parts == 2 and [e["name"] for e in journal.done] == ["logs/a.log",
                                                                        "logs/b.log"]
    assert writes.begun == Counter({e["key"]: 1 for e in journal.done} | {MANIFEST: 1})
    assert gzip.decompress(cos.read(journal.done[0]["key"])) == SMALL
    assert gzip.decompress(cos.read(large)) == LARGE
    assert journal.done[1]["size"] > PART and journal.upload is None


def test_a_lasting_outage_fails_the_member_after_a_bounded_number_of_sends(
        gateway: CosGateway, cos: CosObjectStore) -> None:
    raw = raw_copy(cos)
    journal = Journal()
    # GIVEN the store answers every Upload Part with 503 SlowDown
    gateway.faults.add("cos", "UploadPart", "error", code="SlowDown", times=None)

    # WHEN the archive is unpacked
    with pytest.raises(StorageError) as caught:
        unpack_archive(cos, raw, MANIFEST, settings=UnpackSettings(), journal=journal,
                       part_size=PART)

    # THEN the part was sent PART_ATTEMPTS times, no more; the failure is retryable (the
    # export is tried again later, from the first member kept), the upload is aborted and
    # no manifest is written
    assert caught.value.retryable and "SlowDown" in caught.value.message
    assert len(journal.done) == 1
    assert member_parts(gateway, cos, LARGE_KEY) == PART_ATTEMPTS
    uploads = cos.client.list_multipart_uploads(Bucket=cos.bucket).get("Upload") or []
    assert [u for u in uploads if u["Key"] == cos._k(LARGE_KEY)] == []
    assert cos.head(MANIFEST) is None


def test_an_answer_that_will_not_change_is_not_asked_again(
        gateway: CosGateway, cos: CosObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = raw_copy(cos)
    journal = Journal()
    # GIVEN the store's keys are revoked just before the second part of a member is sent
    put_part = cos.put_part
    sent: list[int] = []

    def keys_revoked_at_part_two(key: str, upload_id: str, number: int, *args: Any,
                                 **kwargs: Any) -> str:
        sent.append(number)
        if number == 2:
            gateway.revoke(PERM[0])
        return put_part(key, upload_id, number, *args, **kwargs)

    monkeypatch.setattr(cos, "put_part", keys_revoked_at_part_two)

    # WHEN the archive is unpacked
    try:
        with pytest.raises(StorageError) as caught:
            unpack_archive(cos, raw, MANIFEST, settings=UnpackSettings(), journal=journal,
                           part_size=PART)
    finally:
        gateway.add_credentials(*PERM)

    # THEN COS's 403 was taken at its word: the part was sent once, not again
    assert not caught.value.retryable and "403 InvalidAccessKeyId" in caught.value.message
    assert sent == [1, 2] and len(journal.done) == 1
    assert cos.head(MANIFEST) is None
