"""COS objects encrypted with SSE-COS (issue 18 row 10): their ETag is not their MD5, so a
server-side copy must not record it as one. Through the sandbox gateway in front of moto."""

from __future__ import annotations

import os

import pytest

from sandbox.cos_gateway import CosGateway
from shared.model import CosObjectSource
from shared.storage.copy import copy_source
from shared.storage.cos import CosObjectStore
from tests.integration.storage import test_cos as base
from tests.integration.storage.test_cos import PART, PERM, REGION, md5, new_bucket

pytestmark = pytest.mark.integration
gateway = base.gateway  # the module's fixtures: one gateway (and moto) for these tests too
cos = base.cos


def admin(gw: CosGateway, bucket: str) -> CosObjectStore:
    return CosObjectStore(bucket, region=REGION, endpoint=gw.endpoint, secret_id=PERM[0],
                          secret_key=PERM[1])


def test_an_encrypted_object_answers_an_etag_that_is_not_its_md5(gateway: CosGateway) -> None:
    plain, data = admin(gateway, new_bucket(gateway)), os.urandom(2000)
    # asked for per object: the x-cos-server-side-encryption header is kept, both ways
    plain.client.put_object(Bucket=plain.bucket, Key="asked.csv", Body=data,
                            ServerSideEncryption="AES256")
    head = plain.client.head_object(Bucket=plain.bucket, Key="asked.csv")
    assert head["x-cos-server-side-encryption"] == "AES256"
    etag = head["ETag"].strip('"')
    assert len(etag) == 32 and etag != md5(data)  # looks like an MD5, is none
    assert plain.read("asked.csv") == data
    # by the bucket's default encryption
    bucket = new_bucket(gateway)
    gateway.sse_buckets.add(bucket)
    store = admin(gateway, bucket)
    store.put_object("default.csv", data)
    info = store.head("default.csv")
    assert info is not None and info.etag != md5(data)
    # the stand-in ETag still works in a condition
    assert store.client.get_object(Bucket=bucket, Key="default.csv", IfMatch=f'"{info.etag}"')


def test_server_side_copy_of_an_sse_cos_object_records_its_true_md5(
        gateway: CosGateway, cos: CosObjectStore) -> None:
    bucket = new_bucket(gateway)
    gateway.sse_buckets.add(bucket)
    data = os.urandom(3000)
    admin(gateway, bucket).put_object("result.csv", data)
    src = CosObjectSource(bucket=bucket, region=REGION, key="result.csv", secret_id="unused",
                          secret_key="unused", endpoint=gateway.endpoint)
    result = copy_source(src, cos, "landed/result.csv", part_size=PART)
    assert result.server_side
    assert result.md5 == md5(data)
    stored = cos.head("landed/result.csv")
    assert stored is not None and stored.metadata["md5"] == md5(data)  # not the ETag
