"""S3 may answer CopyObject, UploadPartCopy and CompleteMultipartUpload with ``200 OK`` and an
``<Error>`` body. botocore turns such an answer into a 500 before parsing it
(``botocore/handlers.py``, ``_handle_200_error``), so its standard retries run and what is
left is a ClientError: S3ObjectStore sees a failure, never a finished copy. Through boto3 and
the sandbox AWS gateway (in front of moto), which plays the 200-with-error answers."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config

from sandbox.aws_gateway import AwsGateway
from shared.errors import StorageError
from shared.storage import s3like
from shared.storage.base import UploadedPart
from shared.storage.s3 import S3Object, S3ObjectStore
from tests import servers

pytestmark = pytest.mark.integration
MB = 1024 * 1024


@pytest.fixture(scope="module")
def gateway() -> Iterator[AwsGateway]:
    moto = servers.require(servers.start_moto)
    gw = AwsGateway(moto.url).start()
    try:
        yield gw
    finally:
        gw.stop()
        moto.stop()


@pytest.fixture
def s3(gateway: AwsGateway, monkeypatch: pytest.MonkeyPatch) -> S3ObjectStore:
    for k, v in servers.aws_test_env().items():
        monkeypatch.setenv(k, v)
    bucket = servers.unique_name("b").replace("_", "-")
    # the store's own client, with two attempts instead of five (each retry backs off)
    config = Config(retries={"total_max_attempts": 2, "mode": "standard"},
                    s3={"addressing_style": "path"}, request_checksum_calculation="when_required")
    client = boto3.client("s3", endpoint_url=gateway.url, region_name="us-east-1",
                          config=config)
    store = S3ObjectStore(bucket, "p", endpoint_url=gateway.url, client=client)
    store.client.create_bucket(Bucket=bucket)
    gateway.faults.clear()
    return store


def test_complete_answered_200_with_an_error_once_is_retried_by_botocore(
        gateway: AwsGateway, s3: S3ObjectStore) -> None:
    uid = s3.start_upload("k.bin")
    data = os.urandom(5 * MB)
    parts = [UploadedPart(1, s3.put_part("k.bin", uid, 1, data))]
    gateway.faults.add("s3", "CompleteMultipartUpload", "error", code="InternalError")
    assert s3.complete_upload("k.bin", uid, parts).size == len(data)
    assert s3.read("k.bin") == data


def test_complete_always_answered_200_with_an_error_is_a_failure(
        gateway: AwsGateway, s3: S3ObjectStore) -> None:
    uid = s3.start_upload("k.bin")
    parts = [UploadedPart(1, s3.put_part("k.bin", uid, 1, b"small last part"))]
    gateway.faults.add("s3", "CompleteMultipartUpload", "error", code="InternalError",
                       times=None)
    with pytest.raises(StorageError) as err:
        s3.complete_upload("k.bin", uid, parts)
    assert err.value.retryable and "InternalError" in err.value.message
    assert s3.head("k.bin") is None


@pytest.mark.parametrize("action, in_parts", [("CopyObject", False), ("UploadPartCopy", True)])
def test_a_copy_answered_200_with_an_error_is_a_failure(
        gateway: AwsGateway, s3: S3ObjectStore, monkeypatch: pytest.MonkeyPatch,
        action: str, in_parts: bool) -> None:
    s3.put_object("src.bin", os.urandom(MB))
    if in_parts:  # as above 5 GiB
        monkeypatch.setattr(s3like, "COPY_OBJECT_MAX", MB // 2)
    gateway.faults.add("s3", action, "error", code="SlowDown", times=None)
    with pytest.raises(StorageError) as err:
        s3.server_side_copy(S3Object(s3.bucket, "p/src.bin"), "dst.bin")
    assert err.value.retryable and "SlowDown" in err.value.message
    assert s3.head("dst.bin") is None
