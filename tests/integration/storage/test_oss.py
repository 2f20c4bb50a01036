"""OssObjectStore through alibabacloud-oss-v2 and the sandbox OSS gateway (V4 signature
checks, OSS's part minimum and CRC-64) in front of moto (skipped without moto, failed on CI)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.oss_gateway import OssGateway
from shared.errors import IntegrityError, StorageError
from shared.model import OssObjectSource
from shared.storage import OSS_ENDPOINT_ENV, open_destination, s3like
from shared.storage.base import ObjectStore, UploadedPart
from shared.storage.copy import copy_source
from shared.storage.oss import OssObjectStore
from tests import servers
from tests.integration.storage.contract import ObjectStoreContract
from tests.integration.storage.copy_support import MemoryJournal, killed_with_part_one_in_flight
from tests.integration.storage.source_server import SourceServer

pytestmark = pytest.mark.integration

KB = 1024
PART = 128 * KB  # above OSS's 100 KB minimum
REGION = "cn-hangzhou"
PERM = ("LTAIpermanent0001", "permanent-secret")


@pytest.fixture(scope="module")
def gateway() -> Iterator[OssGateway]:
    moto = servers.require(lambda: servers.start_moto(servers.OSS_MIN_PART))
    gw = OssGateway(moto.url, region=REGION, credentials={PERM[0]: PERM[1]}).start()
    try:
        yield gw
    finally:
        gw.stop()
        moto.stop()


def admin(gw: OssGateway, bucket: str) -> OssObjectStore:
    return OssObjectStore(bucket, region=REGION, endpoint=gw.endpoint, access_key_id=PERM[0],
                          access_key_secret=PERM[1])


def new_bucket(gw: OssGateway) -> str:
    import alibabacloud_oss_v2 as oss

    name = servers.unique_name("b").replace("_", "-").lower()
    admin(gw, name).client.put_bucket(oss.PutBucketRequest(bucket=name))
    return name


@pytest.fixture
def oss_store(gateway: OssGateway, monkeypatch: pytest.MonkeyPatch) -> OssObjectStore:
    bucket = new_bucket(gateway)
    cred = gateway.issue_temporary(600)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", cred.secret_id)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", cred.secret_key)
    monkeypatch.setenv("ALIBABA_CLOUD_SECURITY_TOKEN", cred.token or "")
    monkeypatch.setenv("ALIBABA_CLOUD_REGION_ID", REGION)
    monkeypatch.setenv(OSS_ENDPOINT_ENV, gateway.endpoint)
    dest = open_destination(f"oss://{bucket}/exports/")  # the region from the Alibaba setting
    assert isinstance(dest, OssObjectStore)
    return dest


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


class TestOssContract(ObjectStoreContract):
    part_size = PART

    @pytest.fixture
    def store(self, oss_store: OssObjectStore) -> OssObjectStore:
        return oss_store

    def copy_source(self, store: ObjectStore, data: bytes) -> Any:
        assert isinstance(store, OssObjectStore)
        raw = OssObjectStore(store.bucket, region=REGION, client=store.client,
                             endpoint=store.endpoint)
        raw.put_object("elsewhere/src.csv", data)
        return OssObjectSource(url="http://127.0.0.1:9/unused", bucket=store.bucket,
                               key="elsewhere/src.csv", region=REGION, endpoint=store.endpoint)


def test_prefix_and_a_presigned_link_that_is_signed(oss_store: OssObjectStore) -> None:
    assert oss_store.uri("a/b.csv") == f"oss://{oss_store.bucket}/exports/a/b.csv"
    oss_store.put_object("a/b.csv", b"hello", {"md5": md5(b"hello")})
    url = oss_store.presign("a/b.csv", 60)
    assert url is not None and "x-oss-signature=" in url and "OSS4-HMAC-SHA256" in url
    answer = requests.get(url, timeout=10)
    assert answer.content == b"hello"
    assert answer.headers["x-oss-meta-md5"] == md5(b"hello")
    tampered = requests.get(url.replace("exports/a/b.csv", "exports/a/c.csv"), timeout=10)
    assert tampered.status_code == 403 and b"<EC>0002-00000201</EC>" in tampered.content


def test_signatures_are_checked(gateway: OssGateway) -> None:
    bucket = new_bucket(gateway)
    wrong = OssObjectStore(bucket, region=REGION, endpoint=gateway.endpoint,
                           access_key_id=PERM[0], access_key_secret="not-the-key")
    with pytest.raises(StorageError, match="SignatureDoesNotMatch") as err:
        wrong.put_object("x", b"x")
    assert err.value.status == 403 and not err.value.retryable
    other_region = OssObjectStore(bucket, region="cn-beijing", endpoint=gateway.endpoint,
                                  access_key_id=PERM[0], access_key_secret=PERM[1])
    with pytest.raises(StorageError, match="SignatureDoesNotMatch"):
        other_region.put_object("x", b"x")
    unknown = OssObjectStore(bucket, region=REGION, endpoint=gateway.endpoint,
                             access_key_id="LTAInobody", access_key_secret="k")
    with pytest.raises(StorageError, match="InvalidAccessKeyId"):
        unknown.put_object("x", b"x")
    cred = gateway.issue_temporary(600)
    no_token = OssObjectStore(bucket, region=REGION, endpoint=gateway.endpoint,
                              access_key_id=cred.secret_id, access_key_secret=cred.secret_key)
    with pytest.raises(StorageError, match="InvalidAccessKeyId"):
        no_token.put_object("x", b"x")
    ok = OssObjectStore(bucket, region=REGION, endpoint=gateway.endpoint,
                        access_key_id=cred.secret_id, access_key_secret=cred.secret_key,
                        token=cred.token)
    ok.put_object("x", b"x")
    # unsigned: OSS's error document, with its fine-grained code in the header and the body
    resp = requests.get(f"{gateway.endpoint}/{bucket}/x", timeout=10)
    assert resp.status_code == 403 and resp.headers["x-oss-ec"] == "0003-00000001"
    for field in (b"<Code>AccessDenied</Code>", b"<RequestId>", b"<HostId>", b"<EC>"):
        assert field in resp.content


def test_a_missing_object_is_none_and_its_error_is_oss_shaped(oss_store: OssObjectStore) -> None:
    import alibabacloud_oss_v2 as oss

    assert oss_store.head("nothing.csv") is None
    with pytest.raises(oss.exceptions.OperationError) as err:  # HEAD: the error in x-oss-err
        oss_store.client.head_object(oss.HeadObjectRequest(bucket=oss_store.bucket, key="nothing"))
    inner = err.value.unwrap()
    assert (inner.status_code, inner.code, inner.ec) == (404, "NoSuchKey", "0026-00000001")
    with pytest.raises(StorageError, match="404 NoSuchKey"):
        oss_store.read("nothing.csv")


def test_parts_under_100_kb_are_refused_at_completion(oss_store: OssObjectStore) -> None:
    uid = oss_store.start_upload("small.bin")
    e1 = oss_store.put_part("small.bin", uid, 1, os.urandom(50 * KB))
    e2 = oss_store.put_part("small.bin", uid, 2, b"tail")
    with pytest.raises(StorageError, match="EntityTooSmall"):
        oss_store.complete_upload("small.bin", uid, [UploadedPart(1, e1), UploadedPart(2, e2)])
    oss_store.abort_upload("small.bin", uid)


def test_crc64_answers_are_checked(gateway: OssGateway, oss_store: OssObjectStore) -> None:
    # a part whose CRC-64 comes back different was damaged on the way: the call fails
    gateway.wrong_crc["UploadPart"] = 1
    uid = oss_store.start_upload("crc.bin")
    with pytest.raises(StorageError, match="CRC-64") as err:
        oss_store.put_part("crc.bin", uid, 1, os.urandom(PART))
    assert err.value.retryable
    data = os.urandom(PART)
    etag = oss_store.put_part("crc.bin", uid, 1, data)  # sent again: fine
    # a completed object whose CRC-64 is not its parts' is deleted, never taken as done
    gateway.wrong_crc["CompleteMultipartUpload"] = 1
    with pytest.raises(StorageError, match="CRC-64"):
        oss_store.complete_upload("crc.bin", uid, [UploadedPart(1, etag)])
    assert oss_store.head("crc.bin") is None
    gateway.wrong_crc["PutObject"] = 1
    with pytest.raises(StorageError, match="CRC-64"):
        oss_store.put_object("put.bin", b"abc")
    assert oss_store.head("put.bin") is None


def test_streamed_copy_lands_verified_and_keeps_a_late_md5_in_a_tag(
        gateway: OssGateway, oss_store: OssObjectStore) -> None:
    data = os.urandom(3 * PART + 99)
    srv = SourceServer(data).start()
    srv.content_md5 = False  # the MD5 is known only once the last part is sent
    try:
        before = len(gateway.copies)
        result = copy_source(OssObjectSource(srv.url()), oss_store, "late/md5.csv", part_size=PART,
                             metadata={"export-id": "exp_7"})
    finally:
        srv.stop()
    assert result.parts == 4 and result.md5 == md5(data) and not result.server_side
    assert len(gateway.copies) == before  # written once, never onto itself
    head = oss_store.head("late/md5.csv")
    assert head is not None and head.metadata == {"export-id": "exp_7", "md5": md5(data)}
    assert oss_store._tags("late/md5.csv") == {"md5": md5(data)}
    assert oss_store.read("late/md5.csv") == data


def test_a_resume_into_oss_reads_only_the_part_lost_in_flight(oss_store: OssObjectStore) -> None:
    # GIVEN a copy killed while part 1 was uploading and parts 2 and 3 were stored in OSS
    data = os.urandom(2 * PART + 777)
    srv = SourceServer(data).start()
    try:
        journal = MemoryJournal()
        source = OssObjectSource(srv.url(), size=len(data))
        killed_with_part_one_in_flight(oss_store, source, "gap.csv", PART, journal, last=3)
        before, asked = srv.served, len(srv.requests)
        # WHEN the next invocation resumes
        result = copy_source(source, oss_store, "gap.csv", part_size=PART, journal=journal)
        # THEN part 1 is all it reads, and the object is whole and verified
        assert srv.served - before == PART
        assert srv.requests[asked][1] == f"bytes=0-{PART - 1}"
    finally:
        srv.stop()
    assert result.resumed and result.parts == 3 and result.md5 == md5(data)
    assert oss_store.read("gap.csv") == data


def test_an_oss_source_the_keys_cannot_read_streams_its_presigned_url(
        gateway: OssGateway, oss_store: OssObjectStore) -> None:
    # GIVEN an object in another bucket (as DMS keeps its results) and destination keys
    # that reach the destination bucket only
    bucket = new_bucket(gateway)
    data = os.urandom(2 * PART + 5)
    admin(gateway, bucket).put_object("results/out.zip", data)
    owner = gateway.issue_temporary(600)
    url = gateway.presign(owner, bucket, "results/out.zip", 300)
    src = OssObjectSource(url, file_name="out.zip", bucket=bucket, key="results/out.zip",
                          region=REGION, endpoint=gateway.endpoint)
    scoped = gateway.issue_temporary(600, buckets={oss_store.bucket})
    dest = OssObjectStore(oss_store.bucket, region=REGION, prefix="exports",
                          endpoint=gateway.endpoint, access_key_id=scoped.secret_id,
                          access_key_secret=scoped.secret_key, token=scoped.token)
    before = len(gateway.copies)
    # WHEN it is copied
    result = copy_source(src, dest, "landed/out.zip", part_size=PART)
    # THEN it streamed (verified by the source's MD5 and CRC-64), no server-side copy
    assert not result.server_side and result.md5 == md5(data)
    assert len(gateway.copies) == before
    assert dest.read("landed/out.zip") == data
    # and with keys that may read it, the same source is copied inside OSS
    both = copy_source(src, oss_store, "inside/out.zip", part_size=PART)
    assert both.server_side and both.md5 == md5(data)
    assert gateway.copies[-1] == (oss_store.bucket, "exports/inside/out.zip")


def test_a_rewrite_above_the_copy_limit_goes_part_by_part(
        gateway: OssGateway, oss_store: OssObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import alibabacloud_oss_v2 as oss

    data = os.urandom(3 * PART + 5)
    oss_store.put_object("big.bin", data, {"md5": md5(data)})
    monkeypatch.setattr(OssObjectStore, "copy_object_max", PART)  # as above 1 GB
    monkeypatch.setattr(s3like, "COPY_PART_SIZE", PART)
    before = sum(1 for r in gateway.requests if r[0] == "UploadPartCopy")
    info = oss_store.set_metadata("big.bin", {"team": "data"})
    assert info.metadata == {"md5": md5(data), "team": "data"}
    assert sum(1 for r in gateway.requests if r[0] == "UploadPartCopy") - before == 4
    assert oss_store.read("big.bin") == data
    # copied parts carry no CRC-64, so neither does the object they make (OSS's CRC-64 page)
    head = oss_store.client.head_object(oss.HeadObjectRequest(bucket=oss_store.bucket,
                                                              key="exports/big.bin"))
    assert head.hash_crc64 is None and head.metadata == {"md5": md5(data), "team": "data"}


def test_a_server_side_copy_whose_crc64_differs_is_deleted(gateway: OssGateway,
                                                          oss_store: OssObjectStore) -> None:
    oss_store.put_object("src/a.csv", b"a,b\n1,2\n")
    src = OssObjectSource("http://127.0.0.1:9/unused", bucket=oss_store.bucket,
                          key="exports/src/a.csv", region=REGION, endpoint=oss_store.endpoint)
    gateway.wrong_crc["HeadObject"] = 1  # the source's CRC-64 read one bit off
    with pytest.raises(StorageError, match="CRC-64") as err:
        oss_store.server_side_copy(src, "copied/a.csv")
    assert err.value.retryable and oss_store.head("copied/a.csv") is None
    # another region, or another server: not OSS's to copy, the URL is streamed instead
    elsewhere = OssObjectSource("http://127.0.0.1:9/unused", bucket=oss_store.bucket,
                                key="exports/src/a.csv", region="cn-beijing",
                                endpoint=oss_store.endpoint)
    assert oss_store.server_side_copy(elsewhere, "copied/a.csv") is None
    info = oss_store.server_side_copy(src, "copied/a.csv")
    assert info is not None and info.metadata["md5"] == md5(b"a,b\n1,2\n")


def test_a_throttled_part_is_sent_again_and_a_lasting_outage_is_retryable(
        gateway: OssGateway, oss_store: OssObjectStore) -> None:
    uid = oss_store.start_upload("busy.bin")
    gateway.faults.add("oss", "UploadPart", "error", code="ServiceUnavailable")
    etag = oss_store.put_part("busy.bin", uid, 1, b"x" * 10)  # the SDK's own retry
    assert etag
    gateway.faults.add("oss", "UploadPart", "error", code="ServiceUnavailable", times=None)
    try:
        with pytest.raises(StorageError, match="503 ServiceUnavailable") as err:
            oss_store.put_part("busy.bin", uid, 2, b"y" * 10)
    finally:
        gateway.faults.clear()
    assert err.value.retryable
    oss_store.abort_upload("busy.bin", uid)


def test_list_parts_answers_as_oss_does(oss_store: OssObjectStore) -> None:
    import alibabacloud_oss_v2 as oss

    from shared.storage.crc64 import crc64

    uid = oss_store.start_upload("lp.bin")
    data = os.urandom(PART)
    oss_store.put_part("lp.bin", uid, 1, data)
    listed = oss_store.client.list_parts(oss.ListPartsRequest(
        bucket=oss_store.bucket, key="exports/lp.bin", upload_id=uid))
    assert [(p.part_number, p.size) for p in listed.parts] == [(1, PART)]
    assert listed.parts[0].hash_crc64 == str(crc64(data))  # OSS lists each part's CRC-64
    assert listed.storage_class == "Standard" and listed.upload_id == uid
    oss_store.abort_upload("lp.bin", uid)
    with pytest.raises(oss.exceptions.OperationError) as gone:
        oss_store.client.list_parts(oss.ListPartsRequest(
            bucket=oss_store.bucket, key="exports/lp.bin", upload_id=uid))
    assert gone.value.unwrap().code == "NoSuchUpload"


def test_head_tells_a_simple_upload_from_a_multipart_one(oss_store: OssObjectStore) -> None:
    import alibabacloud_oss_v2 as oss

    oss_store.put_object("simple.bin", b"abc")
    uid = oss_store.start_upload("multi.bin")
    etag = oss_store.put_part("multi.bin", uid, 1, b"abc")
    oss_store.complete_upload("multi.bin", uid, [UploadedPart(1, etag)])
    kinds = {name: oss_store.client.head_object(oss.HeadObjectRequest(
        bucket=oss_store.bucket, key=f"exports/{name}")).object_type
        for name in ("simple.bin", "multi.bin")}
    assert kinds == {"simple.bin": "Normal", "multi.bin": "Multipart"}


@pytest.mark.parametrize("size", [100, 2 * PART + 3], ids=["one-part", "multipart"])
def test_a_streamed_oss_source_is_held_to_its_crc64(gateway: OssGateway,
                                                    oss_store: OssObjectStore, size: int) -> None:
    # GIVEN an OSS object behind a presigned URL whose answer carries a CRC-64 one bit off
    import alibabacloud_oss_v2 as oss

    bucket = new_bucket(gateway)
    data = os.urandom(size)
    admin(gateway, bucket).client.put_object(oss.PutObjectRequest(
        bucket=bucket, key="r.zip", body=data))  # no MD5 metadata: the CRC-64 is the check
    url = gateway.presign(gateway.issue_temporary(600), bucket, "r.zip", 300)
    gateway.wrong_crc["GetObject"] = 1
    # WHEN it is streamed THEN the copy fails and nothing is left as done
    with pytest.raises(IntegrityError, match="CRC-64"):
        copy_source(OssObjectSource(url), oss_store, "bad.zip", part_size=PART)
    assert oss_store.head("bad.zip") is None
    # and the same URL, answered right, lands
    assert copy_source(OssObjectSource(url), oss_store, "bad.zip", part_size=PART).md5 == md5(data)


def test_bytes_that_do_not_match_their_content_md5_are_refused(oss_store: OssObjectStore) -> None:
    import alibabacloud_oss_v2 as oss

    empty_md5 = "1B2M2Y8AsgTpgAmY7PhCfg=="  # the MD5 of no bytes, sent with three
    uid = oss_store.start_upload("damaged.bin")
    calls = [lambda: oss_store.client.put_object(oss.PutObjectRequest(
        bucket=oss_store.bucket, key="exports/damaged.bin", body=b"abc", content_md5=empty_md5)),
        lambda: oss_store.client.upload_part(oss.UploadPartRequest(
            bucket=oss_store.bucket, key="exports/damaged.bin", upload_id=uid, part_number=1,
            body=b"abc", content_md5=empty_md5))]
    for call in calls:
        with pytest.raises(oss.exceptions.OperationError) as refused:
            call()
        assert (refused.value.unwrap().status_code, refused.value.unwrap().code) == (
            400, "InvalidDigest")
    assert oss_store.head("damaged.bin") is None
    oss_store.abort_upload("damaged.bin", uid)


def test_an_expired_presigned_url_asks_for_a_fresh_one(gateway: OssGateway,
                                                       oss_store: OssObjectStore) -> None:
    import time

    from shared.storage.sources import SourceExpiredError

    bucket = new_bucket(gateway)
    admin(gateway, bucket).put_object("r.zip", b"PK...")
    url = gateway.presign(gateway.issue_temporary(600), bucket, "r.zip", 1)
    time.sleep(1.2)
    with pytest.raises(SourceExpiredError):  # the provider is asked for a new URL
        copy_source(OssObjectSource(url), oss_store, "late.zip", part_size=PART)
    assert requests.get(url, timeout=10).headers["x-oss-ec"] == "0002-00000236"


def _no_upload_call(client: Any, act: str, bucket: str, key: str, uid: str) -> Any:
    import alibabacloud_oss_v2 as oss

    calls: dict[str, Any] = {
        "UploadPart": lambda: client.upload_part(oss.UploadPartRequest(
            bucket=bucket, key=key, upload_id=uid, part_number=2, body=b"tail")),
        "UploadPartCopy": lambda: client.upload_part_copy(oss.UploadPartCopyRequest(
            bucket=bucket, key=key, upload_id=uid, part_number=2, source_bucket=bucket,
            source_key=key + ".src")),
        "CompleteMultipartUpload": lambda: client.complete_multipart_upload(
            oss.CompleteMultipartUploadRequest(
                bucket=bucket, key=key, upload_id=uid,
                complete_multipart_upload=oss.CompleteMultipartUpload(
                    parts=[oss.UploadPart(part_number=1, etag=md5(b"abc"))]))),
        "ListParts": lambda: client.list_parts(oss.ListPartsRequest(
            bucket=bucket, key=key, upload_id=uid)),
        "AbortMultipartUpload": lambda: client.abort_multipart_upload(
            oss.AbortMultipartUploadRequest(bucket=bucket, key=key, upload_id=uid)),
    }
    return calls[act]()


@pytest.mark.parametrize("which", ["aborted", "never-begun"])
@pytest.mark.parametrize("act", ["UploadPart", "UploadPartCopy", "CompleteMultipartUpload",
                                 "ListParts", "AbortMultipartUpload"])
def test_an_upload_id_of_no_upload_is_404_no_such_upload(oss_store: OssObjectStore, act: str,
                                                         which: str) -> None:
    import alibabacloud_oss_v2 as oss

    key = oss_store._k("gone.bin")
    oss_store.client.put_object(oss.PutObjectRequest(bucket=oss_store.bucket,
                                                     key=key + ".src", body=os.urandom(PART)))
    uid = oss_store.start_upload("gone.bin")
    oss_store.put_part("gone.bin", uid, 1, b"abc")
    oss_store.abort_upload("gone.bin", uid)
    if which == "never-begun":
        uid = os.urandom(16).hex().upper()

    with pytest.raises(oss.exceptions.OperationError) as gone:
        _no_upload_call(oss_store.client, act, oss_store.bucket, key, uid)

    error = gone.value.unwrap()
    assert (error.status_code, error.code) == (404, "NoSuchUpload")
    assert oss_store.head("gone.bin") is None
