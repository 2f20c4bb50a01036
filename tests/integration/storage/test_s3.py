"""S3ObjectStore and copy_source against moto's server mode (skipped without moto, failed
on CI)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from shared.errors import StorageError
from shared.model import UrlSource
from shared.storage import S3_ENDPOINT_ENV, open_destination
from shared.storage.base import ObjectStore
from shared.storage.copy import copy_source
from shared.storage.s3 import S3Object, S3ObjectStore
from tests import servers
from tests.integration.storage.contract import ObjectStoreContract
from tests.integration.storage.copy_support import (
    MemoryJournal,
    killed_with_part_one_in_flight,
)
from tests.integration.storage.source_server import SourceServer

pytestmark = pytest.mark.integration

MB = 1024 * 1024
PART = 5 * MB  # S3's minimum part size (moto enforces it)


@pytest.fixture(scope="module")
def moto() -> Iterator[servers.MotoServer]:
    with servers.moto() as handle:
        yield handle


@pytest.fixture
def s3(moto: servers.MotoServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3ObjectStore]:
    for k, v in servers.aws_test_env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv(S3_ENDPOINT_ENV, moto.url)
    bucket = servers.unique_name("b").replace("_", "-")
    store = open_destination(f"s3://{bucket}/landing/zone")
    assert isinstance(store, S3ObjectStore)
    store.client.create_bucket(Bucket=bucket)
    yield store


@pytest.fixture(scope="module")
def payload() -> bytes:
    return os.urandom(2 * PART + 123_457)


@pytest.fixture
def server(payload: bytes) -> Iterator[SourceServer]:
    srv = SourceServer(payload).start()
    try:
        yield srv
    finally:
        srv.stop()


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


class TestS3Contract(ObjectStoreContract):
    @pytest.fixture
    def store(self, s3: S3ObjectStore) -> S3ObjectStore:
        return s3

    def copy_source(self, store: ObjectStore, data: bytes) -> Any:
        assert isinstance(store, S3ObjectStore)
        store.client.put_object(Bucket=store.bucket, Key="elsewhere/src.csv", Body=data)
        return S3Object(store.bucket, "elsewhere/src.csv")


def test_keys_live_under_the_prefix(s3: S3ObjectStore) -> None:
    assert s3.uri("a/b.csv") == f"s3://{s3.bucket}/landing/zone/a/b.csv"
    s3.put_object("a/b.csv", b"hello")
    raw = s3.client.get_object(Bucket=s3.bucket, Key="landing/zone/a/b.csv")
    assert raw["Body"].read() == b"hello"


def test_presign(s3: S3ObjectStore) -> None:
    s3.put_object("p.txt", b"presigned")
    url = s3.presign("p.txt", 60)
    assert url is not None
    assert requests.get(url, timeout=10).content == b"presigned"


def test_server_side_copy_keeps_the_source_metadata(s3: S3ObjectStore) -> None:
    s3.client.put_object(Bucket=s3.bucket, Key="elsewhere/src.csv", Body=b"abc",
                         Metadata={"origin": "x"})
    info = s3.server_side_copy(S3Object(s3.bucket, "elsewhere/src.csv"), "copied.csv",
                               {"export-id": "exp_2"})
    assert info is not None
    assert info.metadata == {"origin": "x", "export-id": "exp_2", "md5": md5(b"abc")}
    assert s3.server_side_copy(f"s3://{s3.bucket}/elsewhere/src.csv", "c2.csv") is not None


def test_errors_are_storage_errors(moto: servers.MotoServer,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in servers.aws_test_env().items():
        monkeypatch.setenv(k, v)
    store = S3ObjectStore("no-such-bucket-x", endpoint_url=moto.url)
    with pytest.raises(StorageError) as err:
        store.put_object("k", b"x")
    assert not err.value.retryable


def test_copy_into_s3_resumes(s3: S3ObjectStore, server: SourceServer,
                              payload: bytes) -> None:
    journal = MemoryJournal()
    server.kill_after = PART + MB
    with pytest.raises(StorageError):
        copy_source(UrlSource(server.url(), size=len(payload)), s3, "exp/data.csv",
                    part_size=PART, journal=journal, reopen_attempts=0,
                    metadata={"export-id": "exp_3"})
    assert sorted(journal.parts) == [1]
    before = server.served
    result = copy_source(UrlSource(server.url(), size=len(payload)), s3, "exp/data.csv",
                         part_size=PART, journal=journal, metadata={"export-id": "exp_3"})
    assert result.resumed and result.md5 == md5(payload) and result.parts == 3
    assert server.served - before == len(payload) - PART
    assert s3.read("exp/data.csv") == payload
    head = s3.head("exp/data.csv")
    assert head is not None and head.metadata == {"export-id": "exp_3", "md5": md5(payload)}
    again = copy_source(UrlSource(server.url()), s3, "exp/data.csv", part_size=PART)
    assert again.skipped and server.served - before == len(payload) - PART


def test_a_resume_into_s3_reads_only_the_part_lost_in_flight(s3: S3ObjectStore,
                                                             server: SourceServer,
                                                             payload: bytes) -> None:
    # GIVEN a copy killed while part 1 was uploading and parts 2 and 3 were stored in S3
    journal = MemoryJournal()
    source = UrlSource(server.url(), size=len(payload))
    killed_with_part_one_in_flight(s3, source, "gap.csv", PART, journal, last=3)
    before, asked = server.served, len(server.requests)
    # WHEN the next invocation resumes
    result = copy_source(source, s3, "gap.csv", part_size=PART, journal=journal)
    # THEN part 1 is all it reads; parts 2 and 3 are completed from the upload as they were
    assert server.served - before == PART
    assert server.requests[asked][1] == f"bytes=0-{PART - 1}"
    assert result.resumed and result.parts == 3 and result.md5 == md5(payload)
    assert s3.read("gap.csv") == payload
    head = s3.head("gap.csv")
    assert head is not None and head.metadata["md5"] == md5(payload)
    assert journal.upload_id is None


def operations(store: S3ObjectStore) -> list[str]:
    """Every S3 operation the store's client calls from now on (botocore's own events)."""
    seen: list[str] = []
    store.client.meta.events.register(
        "before-call.s3", lambda model, **_: seen.append(model.name))
    return seen


def test_fresh_copy_into_s3(s3: S3ObjectStore, server: SourceServer, payload: bytes) -> None:
    server.content_md5 = False  # a source that vouches for no MD5
    calls = operations(s3)
    result: Any = copy_source(UrlSource(server.url()), s3, "f.bin", part_size=PART,
                              metadata={"export-id": "exp_4"})
    assert result.parts == 3 and not result.resumed
    head = s3.head("f.bin")
    assert head is not None and head.metadata["md5"] == md5(payload)
    assert result.uri == f"s3://{s3.bucket}/landing/zone/f.bin"
    # The MD5 was learnt after the upload started: it went into a tag, and the object was
    # written once (no CopyObject onto itself, which would notify subscribers twice).
    assert "CopyObject" not in calls and "UploadPartCopy" not in calls
    assert calls.count("UploadPart") == 3 and "PutObjectTagging" in calls
    raw = s3.client.head_object(Bucket=s3.bucket, Key="landing/zone/f.bin")
    assert raw["Metadata"] == {"export-id": "exp_4"}
    tags = s3.client.get_object_tagging(Bucket=s3.bucket, Key="landing/zone/f.bin")["TagSet"]
    assert tags == [{"Key": "md5", "Value": md5(payload)}]
    again = copy_source(UrlSource(server.url()), s3, "f.bin", part_size=PART)
    assert again.skipped and again.md5 == md5(payload)


def test_source_md5_goes_into_metadata_up_front(s3: S3ObjectStore, server: SourceServer,
                                                payload: bytes) -> None:
    assert server.content_md5  # the source sends Content-MD5 with the whole body
    calls = operations(s3)
    result = copy_source(UrlSource(server.url()), s3, "v.bin", part_size=PART)
    assert result.md5 == md5(payload)
    raw = s3.client.head_object(Bucket=s3.bucket, Key="landing/zone/v.bin")
    assert raw["Metadata"] == {"md5": md5(payload)}
    assert "PutObjectTagging" not in calls and "CopyObject" not in calls


def test_record_md5_keeps_other_tags(s3: S3ObjectStore) -> None:
    s3.put_object("t.bin", b"abc")
    key = "landing/zone/t.bin"
    s3.client.put_object_tagging(Bucket=s3.bucket, Key=key,
                                 Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    s3.record_md5("t.bin", md5(b"abc"))
    info = s3.head("t.bin")
    assert info is not None and info.metadata == {"md5": md5(b"abc")}
    tags = s3.client.get_object_tagging(Bucket=s3.bucket, Key=key)["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("md5", md5(b"abc")),
                                                           ("team", "data")]
    s3.record_md5("t.bin", "")
    info = s3.head("t.bin")
    assert info is not None and "md5" not in info.metadata
    tags = s3.client.get_object_tagging(Bucket=s3.bucket, Key=key)["TagSet"]
    assert tags == [{"Key": "team", "Value": "data"}]
    s3.client.delete_object_tagging(Bucket=s3.bucket, Key=key)
    s3.record_md5("t.bin", "")  # nothing to remove: no tags at all
    assert s3.client.get_object_tagging(Bucket=s3.bucket, Key=key)["TagSet"] == []


def test_an_object_with_every_tag_taken_gets_its_md5_in_metadata(s3: S3ObjectStore) -> None:
    s3.put_object("full.bin", b"abc")
    key = "landing/zone/full.bin"
    ten = [{"Key": f"t{i}", "Value": "v"} for i in range(10)]  # S3's most per object
    s3.client.put_object_tagging(Bucket=s3.bucket, Key=key, Tagging={"TagSet": ten})
    calls = operations(s3)
    s3.record_md5("full.bin", md5(b"abc"))
    assert "CopyObject" in calls  # the fallback: the object rewritten with the md5
    raw = s3.client.head_object(Bucket=s3.bucket, Key=key)
    assert raw["Metadata"] == {"md5": md5(b"abc")}
    tags = s3.client.get_object_tagging(Bucket=s3.bucket, Key=key)["TagSet"]
    assert len(tags) == 10  # the user's tags are all still there
