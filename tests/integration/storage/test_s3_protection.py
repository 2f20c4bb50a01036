"""A destination's write options on S3 (boto3 against moto's server): each is asked on every
write (upload, multipart start, server-side copy), checked on the stored object by HEAD and
GetObjectTagging, and a refusal or a HEAD without it fails the write naming the option."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.errors import ConfigError
from shared.model import UrlSource
from shared.storage import S3_ENDPOINT_ENV, open_destination
from shared.storage.base import UploadedPart
from shared.storage.copy import copy_source
from shared.storage.protection import ProtectionError
from shared.storage.s3 import S3Object, S3ObjectStore
from shared.write_options import write_options
from tests import servers
from tests.integration.storage.header_proxy import dropping
from tests.integration.storage.source_server import SourceServer

pytestmark = pytest.mark.integration

MB = 1024 * 1024
PART = 5 * MB  # moto's minimum part
SETTING = "COURIER_DESTINATION_WRITE"
UNKNOWN_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@pytest.fixture(scope="module")
def moto() -> Iterator[servers.MotoServer]:
    with servers.moto() as handle:
        yield handle


@pytest.fixture
def opener(moto: servers.MotoServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``opener(options, lock=False)``: a store on a new bucket (with Object Lock when
    ``lock``) writing with ``options``."""
    for k, v in servers.aws_test_env().items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv(S3_ENDPOINT_ENV, moto.url)

    def make(options: dict[str, Any], lock: bool = False) -> S3ObjectStore:
        bucket = servers.unique_name("p").replace("_", "-")
        store = open_destination(f"s3://{bucket}/out", write=write_options(SETTING, options))
        assert isinstance(store, S3ObjectStore)
        store.client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=lock)
        return store

    return make


@pytest.fixture
def key_arn(opener: Any, moto: servers.MotoServer) -> str:
    """A key of moto's KMS (S3 there refuses a key its KMS does not hold, as S3 does)."""
    import boto3

    kms = boto3.client("kms", endpoint_url=moto.url, region_name="us-east-1")
    return str(kms.create_key()["KeyMetadata"]["Arn"])


def head(store: S3ObjectStore, key: str) -> dict[str, Any]:
    return store.client.head_object(Bucket=store.bucket, Key=store._k(key))  # type: ignore[no-any-return]


def tags(store: S3ObjectStore, key: str) -> dict[str, str]:
    resp = store.client.get_object_tagging(Bucket=store.bucket, Key=store._k(key))
    return {t["Key"]: t["Value"] for t in resp["TagSet"]}


def test_sse_s3_storage_class_and_tags_on_an_upload(opener: Any) -> None:
    store = opener({"sse": "AES256", "storage_class": "STANDARD_IA",
                    "tags": {"team": "data", "kind": "logs"}})
    store.put_object("a.csv", b"x,y\n1,2\n", {"md5": hashlib.md5(b"x,y\n1,2\n").hexdigest()})
    stored = head(store, "a.csv")
    assert stored["ServerSideEncryption"] == "AES256"
    assert stored["StorageClass"] == "STANDARD_IA"
    assert tags(store, "a.csv") == {"team": "data", "kind": "logs"}
    assert store.protection_problems("a.csv") == []


def test_sse_kms_with_a_key_id_on_a_multipart_copy(opener: Any, key_arn: str) -> None:
    store = opener({"sse": "kms", "kms_key_id": key_arn, "tags": {"team": "data"}})
    data = os.urandom(2 * PART + 77)
    srv = SourceServer(data).start()
    srv.content_md5 = False  # the MD5 comes last: it goes into the tag md5, beside ours
    try:
        result = copy_source(UrlSource(srv.url()), store, "big.bin", part_size=PART)
    finally:
        srv.stop()
    assert result.parts == 3  # CreateMultipartUpload carried the headers
    stored = head(store, "big.bin")
    assert stored["ServerSideEncryption"] == "aws:kms"
    assert stored["SSEKMSKeyId"] == key_arn
    assert tags(store, "big.bin") == {"team": "data", "md5": hashlib.md5(data).hexdigest()}


def test_object_lock_retention_for_days_and_until(opener: Any) -> None:
    store = opener({"retention": {"mode": "GOVERNANCE", "days": 30}}, lock=True)
    before = datetime.now(timezone.utc)
    store.put_object("locked.csv", b"kept")
    stored = head(store, "locked.csv")
    assert stored["ObjectLockMode"] == "GOVERNANCE"
    until = stored["ObjectLockRetainUntilDate"]
    assert before + timedelta(days=30) - timedelta(seconds=2) <= until <= (
        datetime.now(timezone.utc) + timedelta(days=30))
    fixed = datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    store = opener({"retention": {"mode": "COMPLIANCE", "until": "2031-01-02T03:04:05Z"}},
                   lock=True)
    store.put_object("until.csv", b"kept")
    stored = head(store, "until.csv")
    assert (stored["ObjectLockMode"], stored["ObjectLockRetainUntilDate"]) == (
        "COMPLIANCE", fixed)


def test_a_server_side_copy_carries_the_options_not_the_sources_tags(opener: Any,
                                                                   key_arn: str) -> None:
    store = opener({"sse": "kms", "kms_key_id": key_arn, "storage_class": "STANDARD_IA",
                    "tags": {"team": "data"}, "retention": {"mode": "GOVERNANCE",
                                                            "days": 1}}, lock=True)
    store.client.put_object(Bucket=store.bucket, Key="staged/src.csv", Body=b"a,b\n",
                            Tagging="origin=vendor")
    info = store.server_side_copy(S3Object(store.bucket, "staged/src.csv"), "copied.csv")
    assert info is not None and info.size == 4
    stored = head(store, "copied.csv")
    assert (stored["ServerSideEncryption"], stored["SSEKMSKeyId"], stored["StorageClass"],
            stored["ObjectLockMode"]) == ("aws:kms", key_arn, "STANDARD_IA", "GOVERNANCE")
    assert tags(store, "copied.csv") == {"team": "data"}


def test_object_lock_on_a_bucket_without_it_fails_naming_the_option(opener: Any) -> None:
    store = opener({"retention": {"mode": "GOVERNANCE", "days": 1}}, lock=False)
    with pytest.raises(ProtectionError) as caught:
        store.put_object("x.csv", b"x")
    assert caught.value.message.startswith(f"{SETTING}.retention: S3 refused it (400 "
                                           "InvalidRequest")
    assert not caught.value.retryable
    assert store.head("x.csv") is None


def test_a_kms_key_the_store_does_not_know_fails_naming_the_option(opener: Any) -> None:
    store = opener({"sse": "kms", "kms_key_id": UNKNOWN_KEY})
    with pytest.raises(ProtectionError) as caught:
        store.put_object("x.csv", b"x")
    assert caught.value.message == (f"{SETTING}.kms_key_id: S3 refused it (400 "
                                    f"KMS.NotFoundException: Invalid keyId {UNKNOWN_KEY})")
    with pytest.raises(ProtectionError):  # a multipart upload is refused at its start
        store.start_upload("y.csv")


def test_a_storage_class_the_store_does_not_know_fails_naming_the_option(opener: Any) -> None:
    store = opener({"storage_class": "COLDEST"})
    with pytest.raises(ProtectionError) as caught:
        store.put_object("x.csv", b"x")
    assert caught.value.message.startswith(f"{SETTING}.storage_class: S3 refused it (400 "
                                           "InvalidStorageClass")


def test_a_multipart_upload_carries_the_retention(opener: Any) -> None:
    store = opener({"retention": {"mode": "GOVERNANCE", "days": 2}}, lock=True)
    upload = store.start_upload("multi.bin")
    etag = store.put_part("multi.bin", upload, 1, b"z" * 100)
    store.complete_upload("multi.bin", upload, [UploadedPart(1, etag)])
    stored = head(store, "multi.bin")
    assert stored["ObjectLockMode"] == "GOVERNANCE"
    assert stored["ObjectLockRetainUntilDate"] > datetime.now(timezone.utc) + timedelta(
        days=2) - timedelta(minutes=1)


def test_a_multipart_start_on_a_bucket_without_object_lock_is_refused(opener: Any) -> None:
    store = opener({"retention": {"mode": "GOVERNANCE", "days": 2}}, lock=False)
    with pytest.raises(ProtectionError) as caught:
        store.start_upload("multi.bin")
    assert caught.value.message.startswith(f"{SETTING}.retention: S3 refused it (400 "
                                           "InvalidRequest")


def test_an_object_already_there_without_the_options_is_copied_again(opener: Any) -> None:
    store = opener({"storage_class": "STANDARD_IA"})
    data = b"a,b\n" * 100
    store.client.put_object(Bucket=store.bucket, Key=store._k("old.csv"), Body=data,
                            Metadata={"md5": hashlib.md5(data).hexdigest()})
    srv = SourceServer(data).start()
    try:
        result = copy_source(UrlSource(srv.url()), store, "old.csv", part_size=PART)
    finally:
        srv.stop()
    assert not result.skipped
    assert head(store, "old.csv")["StorageClass"] == "STANDARD_IA"


def test_options_a_folder_cannot_honour_are_refused_naming_them(tmp_path: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        open_destination(f"file://{tmp_path}", write=write_options(SETTING, {"tags": {"a": "b"}}))
    assert caught.value.message.startswith(f"{SETTING}.tags: a local folder keeps no")


def test_a_store_that_does_not_keep_what_was_asked_fails_the_write(
        moto: servers.MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Behind a proxy that drops ``x-amz-storage-class`` (a store that takes the write and
    keeps no class): the HEAD after writing shows STANDARD, so the write fails naming the
    option and the object is removed rather than delivered without it."""
    for k, v in servers.aws_test_env().items():
        monkeypatch.setenv(k, v)
    with dropping(moto.url, "x-amz-storage-class") as url:
        bucket = servers.unique_name("p").replace("_", "-")
        store = S3ObjectStore(bucket, "out", endpoint_url=url,
                              write=write_options(SETTING, {"storage_class": "STANDARD_IA"}))
        store.client.create_bucket(Bucket=bucket)
        with pytest.raises(ProtectionError) as caught:
            store.put_object("a.csv", b"a")
        assert caught.value.message == (
            f"{SETTING}.storage_class: asked for STANDARD_IA, the stored object is STANDARD "
            f"(s3://{bucket}/out/a.csv: it was removed)")
        assert store.head("a.csv") is None


def test_the_destination_probe_shows_a_refused_option_first(opener: Any) -> None:
    from shared.errors import StorageError
    from shared.storage.probe import probe

    with pytest.raises(StorageError) as caught:
        probe(opener({"retention": {"mode": "GOVERNANCE", "days": 1}}, lock=False))
    assert caught.value.message.startswith("the probe object could not be written (s3://")
    assert f"{SETTING}.retention: S3 refused it (400 InvalidRequest" in caught.value.message
    probe(opener({"sse": "AES256", "tags": {"team": "data"}}))  # written, read, deleted


def test_courier_doctor_says_the_probe_carried_the_options(opener: Any) -> None:
    from shared.checks import OK, destination
    from shared.config import Settings

    store = opener({"sse": "AES256", "storage_class": "STANDARD_IA"})
    check = destination(Settings(), store)
    assert check.status == OK
    assert check.detail.endswith("deleted; it carried the write options (sse, storage_class)")
