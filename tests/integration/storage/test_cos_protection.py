"""A destination's write options on COS (cos-python-sdk-v5 through the sandbox COS gateway in
front of moto): SSE-COS, SSE-KMS with a key id, the storage class and tags are asked on every
write, checked on the stored object (HEAD Object, GET Object tagging); a class COS does not
know fails the write naming the option; retention is refused before anything is written."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from sandbox.cos_gateway import CosGateway
from shared.errors import ConfigError
from shared.model import CosObjectSource, UrlSource
from shared.storage import open_destination
from shared.storage.copy import copy_source
from shared.storage.cos import CosObjectStore
from shared.storage.protection import ProtectionError
from shared.write_options import write_options
from tests import servers
from tests.integration.storage import test_cos as base
from tests.integration.storage.source_server import SourceServer
from tests.integration.storage.test_cos import PERM, REGION, new_bucket

pytestmark = pytest.mark.integration
gateway = base.gateway  # one gateway (and moto) for the module, as test_cos's
SETTING = "COURIER_DESTINATION_WRITE"
PART = servers.COS_MIN_PART


def store_for(gw: CosGateway, options: dict[str, Any]) -> CosObjectStore:
    return CosObjectStore(new_bucket(gw), region=REGION, prefix="out", endpoint=gw.endpoint,
                          secret_id=PERM[0], secret_key=PERM[1],
                          write=write_options(SETTING, options))


def head(store: CosObjectStore, key: str) -> dict[str, Any]:
    return store.client.head_object(Bucket=store.bucket, Key=store._k(key))  # type: ignore[no-any-return]


def tags(store: CosObjectStore, key: str) -> dict[str, str]:
    resp = store.client.get_object_tagging(Bucket=store.bucket, Key=store._k(key))
    return {t["Key"]: t["Value"] for t in resp["TagSet"]["Tag"]}


def test_sse_cos_storage_class_and_tags_on_an_upload(gateway: CosGateway) -> None:
    store = store_for(gateway, {"sse": "AES256", "storage_class": "STANDARD_IA",
                                "tags": {"team": "data", "kind": "logs"}})
    store.put_object("a.csv", b"x,y\n")
    stored = head(store, "a.csv")
    assert stored["x-cos-server-side-encryption"] == "AES256"
    assert stored["x-cos-storage-class"] == "STANDARD_IA"
    assert tags(store, "a.csv") == {"team": "data", "kind": "logs"}
    assert store.protection_problems("a.csv") == []


@pytest.mark.parametrize("storage_class", ["MAZ_STANDARD", "MAZ_STANDARD_IA",
                                           "INTELLIGENT_TIERING"])
def test_cos_classes_by_their_own_names(gateway: CosGateway, storage_class: str) -> None:
    store = store_for(gateway, {"storage_class": storage_class})
    store.put_object("c.csv", b"c")
    assert head(store, "c.csv")["x-cos-storage-class"] == storage_class


def test_sse_kms_with_a_key_id_on_a_multipart_copy(gateway: CosGateway,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    for k, v in servers.aws_test_env().items():
        monkeypatch.setenv(k, v)
    # the sandbox's KMS keys are those of the moto behind the gateway
    kms = boto3.client("kms", endpoint_url=gateway.upstream, region_name="us-east-1")
    key_id = str(kms.create_key()["KeyMetadata"]["KeyId"])
    store = store_for(gateway, {"sse": "kms", "kms_key_id": key_id, "tags": {"team": "data"}})
    data = os.urandom(2 * PART + 99)
    srv = SourceServer(data).start()
    srv.content_md5 = False
    try:
        result = copy_source(UrlSource(srv.url()), store, "big.bin", part_size=PART)
    finally:
        srv.stop()
    assert result.parts == 3  # Initiate Multipart Upload carried the headers
    stored = head(store, "big.bin")
    assert stored["x-cos-server-side-encryption"] == "cos/kms"
    assert stored["x-cos-server-side-encryption-cos-kms-key-id"] == key_id
    assert tags(store, "big.bin") == {"team": "data", "md5": hashlib.md5(data).hexdigest()}


def test_a_server_side_copy_carries_the_options_and_the_tags_asked(
        gateway: CosGateway) -> None:
    store = store_for(gateway, {"sse": "AES256", "storage_class": "STANDARD_IA",
                                "tags": {"team": "data"}})
    store.client.put_object(Bucket=store.bucket, Key="staged/src.csv", Body=b"a,b\n1,2\n",
                            Tagging="origin=vendor")
    source = CosObjectSource(bucket=store.bucket, region=REGION, key="staged/src.csv",
                             secret_id="AKIDunused", secret_key="unused",
                             endpoint=gateway.endpoint)
    info = store.server_side_copy(source, "copied.csv")
    assert info is not None and info.size == 8
    stored = head(store, "copied.csv")
    assert (stored["x-cos-server-side-encryption"], stored["x-cos-storage-class"]) == (
        "AES256", "STANDARD_IA")
    assert tags(store, "copied.csv") == {"team": "data"}  # not the source's
    assert store.head("copied.csv").metadata["md5"] == hashlib.md5(b"a,b\n1,2\n").hexdigest()


def test_a_storage_class_cos_does_not_know_fails_naming_the_option(
        gateway: CosGateway) -> None:
    store = store_for(gateway, {"storage_class": "COLDLINE"})
    with pytest.raises(ProtectionError) as caught:
        store.put_object("x.csv", b"x")
    assert caught.value.message == (f"{SETTING}.storage_class: COS refused it (400 "
                                    "InvalidArgument: Invalid storage class: COLDLINE)")
    assert store.head("x.csv") is None


def test_retention_on_cos_is_refused_before_anything_is_written(
        gateway: CosGateway, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", PERM[0])
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", PERM[1])
    with pytest.raises(ConfigError) as caught:
        open_destination(f"cos://{new_bucket(gateway)}/x?region={REGION}",
                         write=write_options(SETTING, {"retention": {"mode": "GOVERNANCE",
                                                                     "days": 1}}))
    assert caught.value.message.startswith(f"{SETTING}.retention: COS has no per-object "
                                           "retention")
