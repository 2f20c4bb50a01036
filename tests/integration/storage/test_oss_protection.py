"""A destination's write options on OSS (alibabacloud-oss-v2 through the sandbox OSS gateway in
front of moto): SSE-OSS (``AES256``), SSE-KMS with a key id, the storage class and tags are
asked on every write (PutObject, InitiateMultipartUpload, CopyObject) and checked on the
stored object (HeadObject, GetObjectTagging); a class OSS does not know and a KMS key it cannot
find fail the write naming the option; retention and the archive classes are refused before
anything is written."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.oss_gateway import OssGateway
from shared.errors import ConfigError
from shared.model import OssObjectSource, UrlSource
from shared.storage import open_destination, s3like
from shared.storage.copy import copy_source
from shared.storage.oss import OssObjectStore
from shared.storage.protection import ProtectionError
from shared.write_options import write_options
from tests import servers
from tests.integration.storage import test_oss as base
from tests.integration.storage.source_server import SourceServer
from tests.integration.storage.test_oss import PART, PERM, REGION, new_bucket

pytestmark = pytest.mark.integration
gateway = base.gateway  # one gateway (and moto) for the module, as test_oss's
SETTING = "COURIER_DESTINATION_WRITE"


def store_for(gw: OssGateway, options: dict[str, Any]) -> OssObjectStore:
    return OssObjectStore(new_bucket(gw), region=REGION, prefix="out", endpoint=gw.endpoint,
                          access_key_id=PERM[0], access_key_secret=PERM[1],
                          write=write_options(SETTING, options))


def head(store: OssObjectStore, key: str) -> Any:
    import alibabacloud_oss_v2 as oss

    return store.client.head_object(oss.HeadObjectRequest(bucket=store.bucket,
                                                          key=store._k(key)))


def tags(store: OssObjectStore, key: str) -> dict[str, str]:
    import alibabacloud_oss_v2 as oss

    r = store.client.get_object_tagging(oss.GetObjectTaggingRequest(bucket=store.bucket,
                                                                    key=store._k(key)))
    return {str(t.key): str(t.value) for t in r.tag_set.tags or []}


@pytest.fixture
def kms_key(gateway: OssGateway, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A key of the moto behind the gateway: the sandbox's OSS KMS keys are moto's keys."""
    import boto3

    for k, v in servers.aws_test_env().items():
        monkeypatch.setenv(k, v)
    kms = boto3.client("kms", endpoint_url=gateway.upstream, region_name="us-east-1")
    yield str(kms.create_key()["KeyMetadata"]["KeyId"])


def test_sse_oss_storage_class_and_tags_on_a_put_object(gateway: OssGateway) -> None:
    store = store_for(gateway, {"sse": "AES256", "storage_class": "IA",
                                "tags": {"team": "data", "cost center": "a/b"}})
    store.put_object("a.csv", b"x,y\n")
    stored = head(store, "a.csv")
    assert (stored.server_side_encryption, stored.storage_class) == ("AES256", "IA")
    assert tags(store, "a.csv") == {"team": "data", "cost center": "a/b"}
    assert store.protection_problems("a.csv") == []
    assert store.read("a.csv") == b"x,y\n"


@pytest.mark.parametrize("storage_class", ["Standard", "standard", "IA"])
def test_classes_by_their_oss_names_in_any_case(gateway: OssGateway,
                                                storage_class: str) -> None:
    store = store_for(gateway, {"storage_class": storage_class})
    store.put_object("c.csv", b"c")
    assert head(store, "c.csv").storage_class == ("IA" if storage_class == "IA"
                                                  else "Standard")
    assert store.protection_problems("c.csv") == []


def test_sse_kms_with_a_key_id_on_a_multipart_copy(gateway: OssGateway, kms_key: str) -> None:
    store = store_for(gateway, {"sse": "kms", "kms_key_id": kms_key, "tags": {"team": "data"}})
    data = os.urandom(2 * PART + 99)
    srv = SourceServer(data).start()
    srv.content_md5 = False  # the MD5 is known only at the end: kept in the tag md5
    try:
        result = copy_source(UrlSource(srv.url()), store, "big.bin", part_size=PART)
    finally:
        srv.stop()
    assert result.parts == 3  # InitiateMultipartUpload carried the headers
    assert ("InitiateMultipartUpload", "POST", store.bucket, "out/big.bin") in gateway.requests
    stored = head(store, "big.bin")
    assert (stored.server_side_encryption, stored.server_side_encryption_key_id) == (
        "KMS", kms_key)
    assert tags(store, "big.bin") == {"team": "data", "md5": hashlib.md5(data).hexdigest()}
    assert store.read("big.bin") == data


def test_a_server_side_copy_carries_the_options_and_replaces_the_tags(
        gateway: OssGateway) -> None:
    store = store_for(gateway, {"sse": "AES256", "storage_class": "IA",
                                "tags": {"team": "data"}})
    raw = OssObjectStore(store.bucket, region=REGION, client=store.client,
                         endpoint=store.endpoint)
    raw.put_object("staged/src.csv", b"a,b\n1,2\n")
    raw._put_tags("staged/src.csv", {"origin": "vendor"})
    source = OssObjectSource(url="http://127.0.0.1:9/unused", bucket=store.bucket,
                             key="staged/src.csv", region=REGION, endpoint=gateway.endpoint)
    info = store.server_side_copy(source, "copied.csv")
    assert info is not None and info.size == 8
    assert gateway.copies[-1] == (store.bucket, "out/copied.csv")  # CopyObject, not a stream
    stored = head(store, "copied.csv")
    assert (stored.server_side_encryption, stored.storage_class) == ("AES256", "IA")
    assert tags(store, "copied.csv") == {"team": "data"}  # not the source's
    assert store.head("copied.csv").metadata["md5"] == hashlib.md5(b"a,b\n1,2\n").hexdigest()


def test_a_copy_above_the_copy_limit_asks_for_the_options_when_it_starts(
        gateway: OssGateway, kms_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = store_for(gateway, {"sse": "kms", "kms_key_id": kms_key, "storage_class": "IA"})
    data = os.urandom(2 * PART + 5)
    store.put_object("big.bin", data, {"md5": hashlib.md5(data).hexdigest()})
    monkeypatch.setattr(OssObjectStore, "copy_object_max", PART)  # as above 1 GB
    monkeypatch.setattr(s3like, "COPY_PART_SIZE", PART)
    before = sum(1 for r in gateway.requests if r[0] == "UploadPartCopy")
    store.set_metadata("big.bin", {"team": "data"})  # InitiateMultipartUpload + UploadPartCopy
    assert sum(1 for r in gateway.requests if r[0] == "UploadPartCopy") - before == 3
    stored = head(store, "big.bin")
    assert (stored.server_side_encryption, stored.server_side_encryption_key_id,
            stored.storage_class) == ("KMS", kms_key, "IA")
    assert store.read("big.bin") == data


def test_a_storage_class_oss_does_not_know_fails_naming_the_option(
        gateway: OssGateway) -> None:
    store = store_for(gateway, {"storage_class": "STANDARD_IA"})  # S3's name, not OSS's
    with pytest.raises(ProtectionError) as caught:
        store.put_object("x.csv", b"x")
    assert caught.value.message == (f"{SETTING}.storage_class: OSS refused it (400 "
                                    "InvalidArgument: The value of x-oss-storage-class is "
                                    "invalid.)")
    assert store.head("x.csv") is None


def test_a_kms_key_oss_cannot_find_fails_the_multipart_start_naming_the_option(
        gateway: OssGateway) -> None:
    store = store_for(gateway, {"sse": "kms",
                                "kms_key_id": "0f0e0d0c-0000-4000-8000-000000000000"})
    with pytest.raises(ProtectionError) as caught:
        store.start_upload("k.bin")
    assert caught.value.message == (f"{SETTING}.kms_key_id: OSS refused it (404 KeyNotFound: "
                                    "The specified parameter KMS keyId is not found)")
    assert not caught.value.retryable


def test_an_object_stored_without_what_was_asked_is_removed_and_the_write_fails(
        gateway: OssGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a store whose requests lose the storage class on the way (as a proxy might)
    store = store_for(gateway, {"storage_class": "IA"})
    monkeypatch.setattr(OssObjectStore, "_protect_args",
                        lambda self, until, *, copy=False: {})
    # WHEN an object is written THEN the check after writing finds it STANDARD
    with pytest.raises(ProtectionError) as caught:
        store.put_object("lost.csv", b"l")
    assert caught.value.message == (
        f"{SETTING}.storage_class: asked for IA, the stored object is STANDARD "
        f"(oss://{store.bucket}/out/lost.csv: it was removed)")
    assert store.head("lost.csv") is None


def test_retention_on_oss_is_refused_before_anything_is_written(
        gateway: OssGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", PERM[0])
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", PERM[1])
    before = len(gateway.requests)
    with pytest.raises(ConfigError) as caught:
        open_destination(f"oss://{new_bucket(gateway)}/x?region={REGION}",
                         write=write_options(SETTING, {"retention": {"mode": "COMPLIANCE",
                                                                     "days": 1}}))
    assert caught.value.message.startswith(
        f"{SETTING}.retention: OSS locks objects with a bucket's retention policy (WORM)")
    assert [r[0] for r in gateway.requests[before:]] == ["PutBucket"]  # the test's own


def test_the_gateway_refuses_an_unknown_class_in_osss_error_shape(gateway: OssGateway) -> None:
    import alibabacloud_oss_v2 as oss
    from alibabacloud_oss_v2 import exceptions

    store = store_for(gateway, {})
    with pytest.raises(exceptions.OperationError) as caught:
        store.client.put_object(oss.PutObjectRequest(bucket=store.bucket, key="t.csv",
                                                     body=b"t", storage_class="test"))
    error = caught.value.unwrap()
    assert isinstance(error, exceptions.ServiceError)
    assert (error.status_code, error.code, error.ec) == (400, "InvalidArgument",
                                                         "0017-00000132")
    assert store.head("t.csv") is None


def test_an_object_already_there_without_the_options_is_copied_again(
        gateway: OssGateway) -> None:
    store = store_for(gateway, {"storage_class": "IA", "tags": {"team": "data"}})
    data = b"a,b\n" * 100
    raw = OssObjectStore(store.bucket, region=REGION, prefix="out", client=store.client,
                         endpoint=store.endpoint)
    raw.put_object("old.csv", data, {"md5": hashlib.md5(data).hexdigest()})
    srv = SourceServer(data).start()
    try:
        result = copy_source(UrlSource(srv.url()), store, "old.csv", part_size=PART)
    finally:
        srv.stop()
    assert not result.skipped
    assert head(store, "old.csv").storage_class == "IA"
    assert tags(store, "old.csv")["team"] == "data"


def test_the_destination_probe_shows_a_refused_option_first(gateway: OssGateway) -> None:
    from shared.errors import StorageError
    from shared.storage.probe import probe

    with pytest.raises(StorageError) as caught:
        probe(store_for(gateway, {"storage_class": "COLDLINE"}))
    assert caught.value.message.startswith("the probe object could not be written (oss://")
    assert (f"{SETTING}.storage_class: OSS refused it (400 InvalidArgument"
            in caught.value.message)
    probe(store_for(gateway, {"sse": "AES256", "tags": {"team": "data"}}))  # written, deleted
