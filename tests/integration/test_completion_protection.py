"""The destination's write options in a delivery (COURIER_DESTINATION_WRITE): a CLS export
unpacked into an S3 bucket (moto) lands with every object protected as asked, and says so
in manifest.json and in the export's destination; an option the bucket refuses fails the
export with a reason naming it, not retried."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from shared.bundle import Bundle
from shared.config import Settings
from shared.model import TaskState
from shared.storage.s3 import S3ObjectStore
from tests import servers
from tests.integration.test_completion_lease import ready_export

pytestmark = pytest.mark.integration

ASKED = {"sse": "kms", "storage_class": "STANDARD_IA", "tags": {"team": "data"},
         "retention": {"mode": "GOVERNANCE", "days": 7}}


@pytest.fixture(scope="module")
def moto() -> Iterator[servers.MotoServer]:
    with servers.moto() as handle:
        yield handle


@pytest.fixture
def into_s3(courier_env: dict[str, str], moto: servers.MotoServer,
            monkeypatch: pytest.MonkeyPatch) -> Any:
    """``into_s3(lock)``: a bundle delivering unpacked into a new bucket of moto (with
    Object Lock when ``lock``) under the write options :data:`ASKED` and a key of moto's
    KMS; returns the bundle and the key's ARN."""
    import boto3

    for k, v in servers.aws_test_env().items():
        monkeypatch.setenv(k, v)
    made: list[Bundle] = []
    kms = boto3.client("kms", endpoint_url=moto.url, region_name="us-east-1")
    key_arn = str(kms.create_key()["KeyMetadata"]["Arn"])

    def make(lock: bool) -> Bundle:
        bucket = servers.unique_name("d").replace("_", "-")
        bundle = Bundle(Settings.from_env({
            **courier_env, "COURIER_DESTINATION": f"s3://{bucket}/exports",
            "COURIER_S3_ENDPOINT": moto.url, "COURIER_UNPACK": "on",
            "COURIER_DESTINATION_WRITE": json.dumps({**ASKED, "kms_key_id": key_arn})}))
        store = bundle.destination()
        assert isinstance(store, S3ObjectStore)
        store.client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=lock)
        made.append(bundle)
        return bundle, key_arn

    yield make
    for bundle in made:
        bundle.store().close()


def test_every_object_of_an_unpacked_delivery_carries_the_options(
        into_s3: Any, sandbox: Any) -> None:
    bundle, key_arn = into_s3(True)
    export_id = ready_export(bundle, sandbox)

    task = bundle.completer.complete(export_id, owner="complete:test")

    assert task.state is TaskState.DELIVERED, task.error
    recorded = {**ASKED, "kms_key_id": key_arn, "verified": "head"}
    assert task.destination["protection"] == recorded
    store = bundle.destination()
    assert isinstance(store, S3ObjectStore)
    manifest = json.loads(store.read(task.destination["manifest"]["key"]))
    assert manifest["protection"] == recorded
    [delivered] = [d for d in bundle.store().list_deliveries(task_id=export_id).items
                   if d.event_type == "export.delivered"]
    assert delivered.payload["data"]["protection"] == recorded
    keys = [task.destination["raw"]["key"], task.destination["manifest"]["key"],
            *[o["key"] for o in manifest["objects"]]]
    assert len(keys) >= 3
    for key in keys:  # the raw archive, the manifest, every member
        head = store.client.head_object(Bucket=store.bucket, Key=store._k(key))
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"], head["StorageClass"],
                head["ObjectLockMode"]) == ("aws:kms", key_arn, "STANDARD_IA", "GOVERNANCE")
        tags = store.client.get_object_tagging(Bucket=store.bucket, Key=store._k(key))
        assert {"Key": "team", "Value": "data"} in tags["TagSet"]


def test_an_option_the_bucket_refuses_fails_the_export_naming_it(
        into_s3: Any, sandbox: Any) -> None:
    bundle, _ = into_s3(False)  # no Object Lock on this bucket
    export_id = ready_export(bundle, sandbox)

    task = bundle.completer.complete(export_id, owner="complete:test")

    assert task.state is TaskState.FAILED
    assert task.error["reason"].startswith(
        "copy failed: COURIER_DESTINATION_WRITE.retention: S3 refused it (400 InvalidRequest: "
        "Bucket is missing ObjectLockConfiguration)")
    assert task.error["retryable"] is False
    assert "protection" not in task.destination


@pytest.fixture(scope="module")
def cos_gateway() -> Iterator[Any]:
    from sandbox.cos_gateway import CosGateway

    upstream = servers.require(lambda: servers.start_moto(servers.COS_MIN_PART))
    gateway = CosGateway(upstream.url, region="ap-guangzhou").start()
    try:
        yield gateway
    finally:
        gateway.stop()
        upstream.stop()


def test_an_unpacked_delivery_into_cos_carries_the_options(
        courier_env: dict[str, str], cos_gateway: Any, sandbox: Any) -> None:
    from shared.storage.cos import CosObjectStore

    cos_gateway.add_credentials(courier_env["TENCENTCLOUD_SECRETID"],
                                courier_env["TENCENTCLOUD_SECRETKEY"])
    bucket = servers.unique_name("d").replace("_", "-") + "-1250000000"
    asked = {"sse": "AES256", "storage_class": "MAZ_STANDARD_IA", "tags": {"team": "data"}}
    bundle = Bundle(Settings.from_env({
        **courier_env, "COURIER_DESTINATION": f"cos://{bucket}/exports?region=ap-guangzhou",
        "COURIER_COS_ENDPOINT": cos_gateway.endpoint, "COURIER_UNPACK": "on",
        "COURIER_DESTINATION_WRITE": json.dumps(asked)}))
    try:
        store = bundle.destination()
        assert isinstance(store, CosObjectStore)
        store.client.create_bucket(Bucket=bucket)
        export_id = ready_export(bundle, sandbox)

        task = bundle.completer.complete(export_id, owner="complete:test")

        assert task.state is TaskState.DELIVERED, task.error
        manifest = json.loads(store.read(task.destination["manifest"]["key"]))
        assert manifest["protection"] == task.destination["protection"] == {
            **asked, "verified": "head"}
        for key in [task.destination["raw"]["key"], task.destination["manifest"]["key"],
                    *[o["key"] for o in manifest["objects"]]]:
            head = store.client.head_object(Bucket=bucket, Key=store._k(key))
            assert (head["x-cos-server-side-encryption"], head["x-cos-storage-class"]) == (
                "AES256", "MAZ_STANDARD_IA")
            tags = store.client.get_object_tagging(Bucket=bucket, Key=store._k(key))
            assert {"Key": "team", "Value": "data"} in tags["TagSet"]["Tag"]
    finally:
        bundle.store().close()


def test_a_named_destination_is_written_with_its_own_options(
        courier_env: dict[str, str], moto: servers.MotoServer, sandbox: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """COURIER_DESTINATIONS' ``write``: an export naming ``vault`` lands there with vault's
    options; the deployment's own destination (a folder) has none."""
    for k, v in servers.aws_test_env().items():
        monkeypatch.setenv(k, v)
    bucket = servers.unique_name("v").replace("_", "-")
    vault = {"url": f"s3://{bucket}/vault",
             "write": {"storage_class": "STANDARD_IA", "tags": {"kept": "yes"},
                       "retention": {"mode": "COMPLIANCE", "days": 1}}}
    bundle = Bundle(Settings.from_env({**courier_env, "COURIER_S3_ENDPOINT": moto.url,
                                       "COURIER_DESTINATIONS": json.dumps({"vault": vault})}))
    try:
        store = bundle.destinations("vault")
        assert isinstance(store, S3ObjectStore)
        store.client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        export_id = ready_export(bundle, sandbox)
        task = bundle.store().get_task(export_id)
        task.destination_name = "vault"
        bundle.store().update_task(task)

        done = bundle.completer.complete(export_id, owner="complete:test")

        assert done.state is TaskState.DELIVERED, done.error
        assert done.destination["protection"] == {**vault["write"], "verified": "head"}
        head = store.client.head_object(Bucket=bucket, Key=store._k(done.destination["key"]))
        assert (head["StorageClass"], head["ObjectLockMode"]) == ("STANDARD_IA", "COMPLIANCE")
        assert bundle.destinations().protection() == {}  # the folder: none asked
    finally:
        bundle.store().close()
