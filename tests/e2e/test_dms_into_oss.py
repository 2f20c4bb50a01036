"""A DMS export delivered into OSS end to end: the sandbox's DMS keeps its result in an OSS
bucket behind the sandbox's OSS gateway (as DMS does in OSS) and hands out a presigned V4 URL;
the three handlers take it through approval into an ``oss://`` destination, copied inside OSS
when the deployment's Alibaba keys may read the DMS bucket, streamed from the URL when not."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.oss_gateway import OssGateway, ResultBucket
from shared.storage.oss import OssObjectStore
from tests import servers
from tests.e2e.helpers import call, post, tick, until_terminal
from tests.events import load_event

REGION = "cn-hangzhou"  # the deployment's Alibaba region (ALIBABA_CLOUD_REGION_ID's default)
DMS_BUCKET = "dms-idb-sandbox"


@pytest.fixture
def gateway(sandbox: Any) -> Iterator[OssGateway]:
    moto = servers.require(lambda: servers.start_moto(servers.OSS_MIN_PART))
    gw = OssGateway(moto.url, region=REGION).start()
    sandbox.dms.results = ResultBucket(gw, DMS_BUCKET)
    try:
        yield gw
    finally:
        sandbox.dms.results = None
        gw.stop()
        moto.stop()


@pytest.fixture
def bucket(gateway: OssGateway) -> str:
    name = servers.unique_name("dest").replace("_", "-").lower()
    gateway.put_internal(name, "exports/.keep", b"")
    return name


@pytest.fixture
def reach() -> str:
    """What the deployment's Alibaba keys may touch in OSS: ``all`` buckets, or only the
    ``destination`` (a RAM policy on the destination prefix alone)."""
    return "all"


@pytest.fixture
def unpack() -> str:
    return "off"


@pytest.fixture
def write() -> str:
    """The destination's write options (``COURIER_DESTINATION_WRITE``; empty: none)."""
    return ""


@pytest.fixture
def courier_env(courier_env: dict[str, str], gateway: OssGateway, bucket: str,
                sandbox: Any, reach: str, unpack: str, write: str) -> dict[str, str]:
    """The deployment's Alibaba keys (DMS's) also write the ``oss://`` destination."""
    key_id, secret = sandbox.dms.credentials
    gateway.add_credentials(key_id, secret, buckets={bucket} if reach == "destination"
                            else None)
    return {**courier_env, "COURIER_DESTINATION": f"oss://{bucket}/exports?region={REGION}",
            "COURIER_OSS_ENDPOINT": gateway.endpoint, "COURIER_UNPACK": unpack,
            **({"COURIER_DESTINATION_WRITE": write} if write else {})}


def reader(gateway: OssGateway, bucket: str, sandbox: Any, prefix: str = "") -> OssObjectStore:
    key_id, secret = sandbox.dms.credentials
    return OssObjectStore(bucket, region=REGION, endpoint=gateway.endpoint, prefix=prefix,
                          access_key_id=key_id, access_key_secret=secret)


def landed(task: dict[str, Any], gateway: OssGateway, bucket: str, sandbox: Any) -> bytes:
    dest = task["destination"]
    assert dest["uri"].startswith(f"oss://{bucket}/exports/") and dest["uri"].endswith(".zip")
    data = reader(gateway, bucket, sandbox).read(dest["uri"][len(f"oss://{bucket}/"):])
    assert data[:4] == b"PK\x03\x04" and len(data) == dest["size"]
    assert hashlib.md5(data).hexdigest() == dest["md5"]
    return data


def export_dms(api_key: str, sandbox: Any) -> dict[str, Any]:
    """A DMS export, approved by a person once it waits, then delivered."""
    status, created = post(api_key, {"provider": "dms", "params": {
        "Tid": 1, "DbId": 1234, "InstanceId": 77, "ExeSQL": "SELECT * FROM orders",
        "Comment": "into oss"}})
    assert status == 202, created
    path = f"/exports/{created['id']}"
    for _ in range(20):  # pre-check, then submitted for approval
        sandbox.clock.advance(5)
        tick()
        _, task = call(load_event("scf_apigw_get_export", path=path,
                                  headers={"x-api-key": api_key}))
        if task["stage"] == "waiting":
            break
        time.sleep(0.2)
    assert task["stage"] == "waiting", task
    approval = {"OrderId": task["remote"]["OrderId"]}
    assert requests.post(sandbox.url + "/_sandbox/dms/approve", json=approval,
                         timeout=5).status_code == 200
    nudged, _ = call(load_event("aws_apigw_rest_post_exports", body="", path=path + "/check",
                                headers={"x-api-key": api_key}))
    assert nudged == 202
    task = until_terminal(created["id"], api_key, sandbox, limit_s=30)
    assert task["state"] == "delivered", task["error"]
    return task


@pytest.mark.usefixtures("handlers_env")
def test_a_dms_result_is_copied_inside_oss(sandbox: Any, gateway: OssGateway, bucket: str,
                                            api_key: str) -> None:
    task = export_dms(api_key, sandbox)
    data = landed(task, gateway, bucket, sandbox)
    # the copy was made by OSS (CopyObject from the DMS bucket), never downloaded
    assert [c for c in gateway.copies if c[0] == bucket]
    reads = [r for r in gateway.requests if r[0] == "GetObject" and r[2] == DMS_BUCKET]
    assert reads == []
    assert sandbox.calls[("dms", "GetDataExportDownloadURL")] >= 1
    assert len(data) > 0


@pytest.mark.parametrize("reach", ["destination"])
@pytest.mark.usefixtures("handlers_env")
def test_a_dms_result_the_keys_cannot_read_is_streamed_from_its_url(
        sandbox: Any, gateway: OssGateway, bucket: str, api_key: str) -> None:
    task = export_dms(api_key, sandbox)
    landed(task, gateway, bucket, sandbox)
    assert not [c for c in gateway.copies if c[0] == bucket]  # no server-side copy
    reads = [r for r in gateway.requests if r[0] == "GetObject" and r[2] == DMS_BUCKET]
    assert reads  # the presigned URL, read with the DMS keys' signature


@pytest.mark.parametrize("unpack", ["on"])
@pytest.mark.usefixtures("handlers_env")
def test_a_dms_result_unpacked_into_oss(sandbox: Any, gateway: OssGateway, bucket: str,
                                        api_key: str) -> None:
    import gzip

    task = export_dms(api_key, sandbox)
    dest = task["destination"]
    store = reader(gateway, bucket, sandbox, "exports")
    # the raw zip, copied inside OSS, then unpacked from OSS by ranged reads
    assert dest["raw"]["key"].startswith("raw/") and store.head(dest["raw"]["key"])
    manifest = json.loads(store.read(dest["manifest"]["key"]))
    assert dest["objects"] == len(manifest["objects"]) == 1
    member = manifest["objects"][0]
    stored = store.read(member["key"])
    assert hashlib.md5(stored).hexdigest() == member["md5"]
    assert len(gzip.decompress(stored)) > 0
    assert any(r[0] == "GetObject" and r[2] == bucket for r in gateway.requests)


PROTECTED = {"sse": "AES256", "storage_class": "IA", "tags": {"team": "data"}}


@pytest.mark.parametrize(("unpack", "write"), [("on", json.dumps(PROTECTED))])
@pytest.mark.usefixtures("handlers_env")
def test_a_dms_result_unpacked_into_oss_carries_the_buckets_protections(
        sandbox: Any, gateway: OssGateway, bucket: str, api_key: str) -> None:
    import alibabacloud_oss_v2 as oss

    task = export_dms(api_key, sandbox)
    dest = task["destination"]
    assert dest["protection"] == {**PROTECTED, "verified": "head"}
    store = reader(gateway, bucket, sandbox, "exports")
    manifest = json.loads(store.read(dest["manifest"]["key"]))
    assert manifest["protection"] == dest["protection"]
    assert [c for c in gateway.copies if c[0] == bucket]  # the raw zip: CopyObject with them
    for key in [dest["raw"]["key"], dest["manifest"]["key"],
                *[o["key"] for o in manifest["objects"]]]:  # raw copy, manifest, members
        head = store.client.head_object(oss.HeadObjectRequest(bucket=bucket,
                                                              key=store._k(key)))
        assert (head.server_side_encryption, head.storage_class) == ("AES256", "IA"), key
        assert store._tags(key).get("team") == "data", key
