"""CosObjectStore and CosObjectSource through the sandbox COS gateway (signature checks) in
front of moto (skipped without moto, failed on CI)."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.cos_gateway import CosGateway
from shared.errors import IntegrityError, StorageError
from shared.model import CosObjectSource, UrlSource
from shared.storage import COS_ENDPOINT_ENV, open_destination
from shared.storage.base import ObjectStore, UploadedPart
from shared.storage.copy import copy_source
from shared.storage.cos import CosObjectStore
from shared.storage.sources import SourceExpiredError
from tests import servers
from tests.integration.storage.contract import ObjectStoreContract
from tests.integration.storage.copy_support import (
    MemoryJournal,
    killed_with_part_one_in_flight,
)
from tests.integration.storage.source_server import SourceServer

pytestmark = pytest.mark.integration

MB = 1024 * 1024
PART = 5 * MB
REGION = "ap-guangzhou"
PERM = ("AKIDpermanent0001", "permanent-secret-key")


@pytest.fixture(scope="module")
def gateway() -> Iterator[CosGateway]:
    moto = servers.require(lambda: servers.start_moto(servers.COS_MIN_PART))
    gw = CosGateway(moto.url, region=REGION, credentials={PERM[0]: PERM[1]}).start()
    try:
        yield gw
    finally:
        gw.stop()
        moto.stop()


def new_bucket(gw: CosGateway) -> str:
    name = servers.unique_name("b").replace("_", "-") + "-1250000000"
    admin = CosObjectStore(name, region=REGION, endpoint=gw.endpoint, secret_id=PERM[0],
                           secret_key=PERM[1])
    admin.client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def cos(gateway: CosGateway, monkeypatch: pytest.MonkeyPatch) -> CosObjectStore:
    bucket = new_bucket(gateway)
    cred = gateway.issue_temporary(600)
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", cred.secret_id)
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", cred.secret_key)
    monkeypatch.setenv("TENCENTCLOUD_SESSIONTOKEN", cred.token or "")
    monkeypatch.setenv(COS_ENDPOINT_ENV, gateway.endpoint)
    store = open_destination(f"cos://{bucket}/exports/?region={REGION}")
    assert isinstance(store, CosObjectStore)
    return store


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


class TestCosContract(ObjectStoreContract):
    @pytest.fixture
    def store(self, cos: CosObjectStore) -> CosObjectStore:
        return cos

    def copy_source(self, store: ObjectStore, data: bytes) -> Any:
        assert isinstance(store, CosObjectStore)
        store.client.put_object(Bucket=store.bucket, Key="elsewhere/src.csv", Body=data)
        # the source's own keys do not matter: the destination's credentials read it
        return CosObjectSource(bucket=store.bucket, region=REGION, key="elsewhere/src.csv",
                               secret_id="AKIDunused", secret_key="unused", token=None,
                               endpoint=store.endpoint)


def test_prefix_and_a_presigned_link_that_is_signed(cos: CosObjectStore) -> None:
    assert cos.uri("a/b.csv") == f"cos://{cos.bucket}/exports/a/b.csv"
    cos.put_object("a/b.csv", b"hello", {"md5": md5(b"hello"), "export-id": "exp_1"})
    url = cos.presign("a/b.csv", 60)
    assert url is not None and "q-signature" in url
    assert requests.get(url, timeout=10).content == b"hello"
    tampered = url.replace("exports/a/b.csv", "exports/a/other.csv")
    assert requests.get(tampered, timeout=10).status_code == 403


def test_streamed_copy_keeps_a_late_md5_in_a_tag(gateway: CosGateway,
                                                 cos: CosObjectStore) -> None:
    data = os.urandom(2 * PART + 99)
    srv = SourceServer(data).start()
    srv.content_md5 = False  # the MD5 is known only once the last part is sent
    try:
        before = len(gateway.copies)
        result = copy_source(UrlSource(srv.url()), cos, "late/md5.csv", part_size=PART,
                             metadata={"export-id": "exp_7"})
    finally:
        srv.stop()
    assert result.parts == 3 and result.md5 == md5(data)
    assert len(gateway.copies) == before  # the object was written once, never onto itself
    raw = cos.client.head_object(Bucket=cos.bucket, Key="exports/late/md5.csv")
    assert raw.get("x-cos-meta-export-id") == "exp_7" and "x-cos-meta-md5" not in raw
    tags = cos.client.get_object_tagging(Bucket=cos.bucket, Key="exports/late/md5.csv")
    assert tags["TagSet"]["Tag"] == [{"Key": "md5", "Value": md5(data)}]
    head = cos.head("late/md5.csv")
    assert head is not None and head.metadata == {"export-id": "exp_7", "md5": md5(data)}
    # record_md5 keeps the other tags and can take the MD5 back out
    cos.client.put_object_tagging(
        Bucket=cos.bucket, Key="exports/late/md5.csv",
        Tagging={"TagSet": {"Tag": [{"Key": "team", "Value": "data"},
                                    {"Key": "md5", "Value": md5(data)}]}})
    cos.record_md5("late/md5.csv", "")
    head = cos.head("late/md5.csv")
    assert head is not None and "md5" not in head.metadata
    tags = cos.client.get_object_tagging(Bucket=cos.bucket, Key="exports/late/md5.csv")
    assert tags["TagSet"]["Tag"] == [{"Key": "team", "Value": "data"}]


def test_without_tagging_rights_the_md5_goes_into_metadata(
        gateway: CosGateway, cos: CosObjectStore, caplog: pytest.LogCaptureFixture) -> None:
    cred = gateway.issue_temporary(600, tagging=False)
    dest = CosObjectStore(cos.bucket, region=REGION, prefix="exports", endpoint=gateway.endpoint,
                          secret_id=cred.secret_id, secret_key=cred.secret_key, token=cred.token)
    from qcloud_cos.cos_exception import CosServiceError

    with pytest.raises(CosServiceError) as denied:  # the role, as set up, may not read tags
        dest.client.get_object_tagging(Bucket=cos.bucket, Key="exports/x")
    assert denied.value.get_status_code() == 403
    data = os.urandom(2 * PART + 5)
    srv = SourceServer(data).start()
    srv.content_md5 = False
    try:
        before = len(gateway.copies)
        result = copy_source(UrlSource(srv.url()), dest, "untagged.csv", part_size=PART)
        again = copy_source(UrlSource(srv.url()), dest, "untagged.csv", part_size=PART)
    finally:
        srv.stop()
    assert result.md5 == md5(data) and again.skipped
    assert len(gateway.copies) == before + 1  # the fallback rewrite, once
    raw = cos.client.head_object(Bucket=cos.bucket, Key="exports/untagged.csv")
    assert raw["x-cos-meta-md5"] == md5(data)
    assert "cannot tag" in caplog.text


def test_signatures_are_checked(gateway: CosGateway) -> None:
    bucket = new_bucket(gateway)
    wrong = CosObjectStore(bucket, region=REGION, endpoint=gateway.endpoint,
                           secret_id=PERM[0], secret_key="not-the-key")
    with pytest.raises(StorageError) as err:
        wrong.put_object("x", b"x")
    assert "SignatureDoesNotMatch" in str(err.value)
    unknown = CosObjectStore(bucket, region=REGION, endpoint=gateway.endpoint,
                             secret_id="AKIDnobody", secret_key="k")
    with pytest.raises(StorageError, match="InvalidAccessKeyId"):
        unknown.put_object("x", b"x")
    cred = gateway.issue_temporary(600)
    no_token = CosObjectStore(bucket, region=REGION, endpoint=gateway.endpoint,
                              secret_id=cred.secret_id, secret_key=cred.secret_key)
    with pytest.raises(StorageError):
        no_token.put_object("x", b"x")
    ok = CosObjectStore(bucket, region=REGION, endpoint=gateway.endpoint,
                        secret_id=cred.secret_id, secret_key=cred.secret_key,
                        token=cred.token)
    ok.put_object("x", b"x")
    # unsigned requests are refused outright
    resp = requests.get(f"{gateway.endpoint}/x",
                        headers={"Host": f"{bucket}.cos.{REGION}.myqcloud.com"}, timeout=10)
    assert resp.status_code == 403 and b"AccessDenied" in resp.content


@pytest.fixture
def cos_source(gateway: CosGateway) -> Iterator[tuple[CosObjectSource, bytes, Any]]:
    bucket = new_bucket(gateway)
    data = os.urandom(2 * PART + 4321)
    admin = CosObjectStore(bucket, region=REGION, endpoint=gateway.endpoint,
                           secret_id=PERM[0], secret_key=PERM[1])
    admin.put_object("results/out.csv", data)
    cred = gateway.issue_temporary(600)
    src = CosObjectSource(bucket=bucket, region=REGION, key="results/out.csv",
                          secret_id=cred.secret_id, secret_key=cred.secret_key,
                          token=cred.token, file_name="out.csv", endpoint=gateway.endpoint)
    yield src, data, admin


def source_reads(gateway: CosGateway, src: CosObjectSource) -> int:
    return sum(1 for method, bucket, path in gateway.requests
               if method == "GET" and bucket == src.bucket and path == "/" + src.key)


def test_copy_streams_a_cos_source_the_destination_cannot_read(
        gateway: CosGateway, cos_source: tuple[CosObjectSource, bytes, Any],
        cos: CosObjectStore) -> None:
    src, data, _ = cos_source
    assert "secret" not in repr(src).lower() or src.secret_key not in repr(src)
    # credentials that reach the destination bucket only, as with a bucket policy
    cred = gateway.issue_temporary(600, buckets={cos.bucket})
    dest = CosObjectStore(cos.bucket, region=REGION, prefix="exports", endpoint=gateway.endpoint,
                          secret_id=cred.secret_id, secret_key=cred.secret_key, token=cred.token)
    result = copy_source(src, dest, "landed/out.csv", part_size=PART)
    assert not result.server_side
    assert result.md5 == md5(data) and result.parts == 3
    assert source_reads(gateway, src) >= 1
    assert dest.read("landed/out.csv") == data


def test_server_side_copy_when_the_destination_can_read_the_source(
        gateway: CosGateway, cos_source: tuple[CosObjectSource, bytes, Any],
        cos: CosObjectStore) -> None:
    src, data, _ = cos_source
    result = copy_source(src, cos, "landed/out.csv", part_size=PART,
                         metadata={"export-id": "exp_9"})
    assert result.server_side and not result.skipped
    assert source_reads(gateway, src) == 0  # not one byte of the source was downloaded
    assert result.md5 == md5(data) and result.size == len(data)
    head = cos.head("landed/out.csv")
    assert head is not None and head.metadata["md5"] == md5(data)
    assert head.metadata["export-id"] == "exp_9"
    assert cos.read("landed/out.csv") == data
    again = copy_source(src, cos, "landed/out.csv", part_size=PART)
    assert again.skipped


def test_server_side_copy_of_a_multipart_source_reads_the_copy_back_for_its_md5(
        gateway: CosGateway, cos: CosObjectStore) -> None:
    bucket = new_bucket(gateway)
    admin = CosObjectStore(bucket, region=REGION, endpoint=gateway.endpoint,
                           secret_id=PERM[0], secret_key=PERM[1])
    p1, p2 = os.urandom(PART), os.urandom(1000)
    uid = admin.start_upload("big.csv")
    parts = [UploadedPart(1, admin.put_part("big.csv", uid, 1, p1)),
             UploadedPart(2, admin.put_part("big.csv", uid, 2, p2))]
    admin.complete_upload("big.csv", uid, parts)
    head = admin.head("big.csv")
    assert head is not None and "-" in (head.etag or "")  # no MD5 in a multipart ETag
    src = CosObjectSource(bucket=bucket, region=REGION, key="big.csv", secret_id="unused",
                          secret_key="unused", endpoint=gateway.endpoint)
    copies_before = len(gateway.copies)
    result = copy_source(src, cos, "big.csv", part_size=PART, expected_size=len(p1 + p2))
    assert result.server_side and result.md5 == md5(p1 + p2)
    stored = cos.head("big.csv")
    assert stored is not None and stored.metadata["md5"] == md5(p1 + p2)
    # one server-side copy; the MD5 read back afterwards went into a tag, not a second copy
    assert len(gateway.copies) - copies_before == 1
    with pytest.raises(IntegrityError, match="the provider said"):
        copy_source(src, cos, "other.csv", part_size=PART, expected_size=7)


def test_cos_source_resume_and_expiry(gateway: CosGateway,
                                      cos_source: tuple[CosObjectSource, bytes, Any],
                                      tmp_path: Any) -> None:
    from shared.storage.local import LocalObjectStore

    src, data, _ = cos_source
    store = LocalObjectStore(tmp_path)
    journal = MemoryJournal()
    # one part lands, then the temporary credentials are revoked mid-copy
    calls = {"n": 0}
    real_put = store.put_part

    def put_part(key: str, upload_id: str, number: int, chunk: bytes, *,
                 offset: int | None = None) -> str:
        calls["n"] += 1
        if calls["n"] == 2:
            raise StorageError("simulated crash", retryable=False)
        return real_put(key, upload_id, number, chunk, offset=offset)

    store.put_part = put_part  # type: ignore[method-assign,assignment]
    with pytest.raises(StorageError):
        copy_source(src, store, "r.bin", part_size=PART, journal=journal, concurrency=1)
    store.put_part = real_put  # type: ignore[method-assign]
    assert sorted(journal.parts) == [1]

    gateway.revoke(src.secret_id)
    expired = gateway.issue_temporary(-1)
    stale = CosObjectSource(bucket=src.bucket, region=REGION, key=src.key,
                            secret_id=expired.secret_id, secret_key=expired.secret_key,
                            token=expired.token, endpoint=gateway.endpoint)
    with pytest.raises(SourceExpiredError):
        copy_source(stale, store, "r.bin", part_size=PART, journal=journal)

    fresh = gateway.issue_temporary(600)
    src2 = CosObjectSource(bucket=src.bucket, region=REGION, key=src.key,
                           secret_id=fresh.secret_id, secret_key=fresh.secret_key,
                           token=fresh.token, endpoint=gateway.endpoint)
    before = len(gateway.requests)
    result = copy_source(src2, store, "r.bin", part_size=PART, journal=journal)
    assert result.resumed and result.md5 == md5(data)
    assert store.read("r.bin") == data
    assert ("GET", src.bucket, "/results/out.csv") in gateway.requests[before:]


def test_a_resume_into_cos_reads_only_the_part_lost_in_flight(cos: CosObjectStore) -> None:
    # GIVEN a copy killed while part 1 was uploading and parts 2 and 3 were stored in COS
    data = os.urandom(2 * PART + 777)
    srv = SourceServer(data).start()
    try:
        journal = MemoryJournal()
        source = UrlSource(srv.url(), size=len(data))
        killed_with_part_one_in_flight(cos, source, "gap.csv", PART, journal, last=3)
        before, asked = srv.served, len(srv.requests)
        # WHEN the next invocation resumes
        result = copy_source(source, cos, "gap.csv", part_size=PART, journal=journal)
        # THEN part 1 is all it reads, and the object is whole and verified
        assert srv.served - before == PART
        assert srv.requests[asked][1] == f"bytes=0-{PART - 1}"
    finally:
        srv.stop()
    assert result.resumed and result.parts == 3 and result.md5 == md5(data)
    assert cos.read("gap.csv") == data
    head = cos.head("gap.csv")
    assert head is not None and head.metadata["md5"] == md5(data)


def test_a_resume_from_a_cos_source_reads_only_the_part_lost_in_flight(
        gateway: CosGateway, cos_source: tuple[CosObjectSource, bytes, Any],
        cos: CosObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.storage.reading import SourceParts

    # GIVEN a COS source the destination cannot read (so it is streamed), killed with
    # part 1 in flight and parts 2 and 3 stored
    src, data, _ = cos_source
    cred = gateway.issue_temporary(600, buckets={cos.bucket})
    dest = CosObjectStore(cos.bucket, region=REGION, prefix="exports", endpoint=gateway.endpoint,
                          secret_id=cred.secret_id, secret_key=cred.secret_key, token=cred.token)
    journal = MemoryJournal()
    killed_with_part_one_in_flight(dest, src, "cgap.csv", PART, journal, last=3)
    # WHEN the next invocation resumes, counting what it reads from the source
    read: list[tuple[int, int]] = []
    real = SourceParts.read_into

    def read_into(self: SourceParts, body: Any, buf: bytearray, offset: int,
                  want: int) -> int:
        n = real(self, body, buf, offset, want)
        read.append((offset, n))
        return n

    monkeypatch.setattr(SourceParts, "read_into", read_into)
    result = copy_source(src, dest, "cgap.csv", part_size=PART, journal=journal)
    # THEN it read part 1's bytes and nothing else, and the object is whole and verified
    assert sum(n for _, n in read) == PART and (0, PART) in read
    assert result.resumed and result.parts == 3 and result.md5 == md5(data)
    assert dest.read("cgap.csv") == data


def test_gateway_refuses_expired_signature(gateway: CosGateway) -> None:
    from sandbox import cos_auth

    bucket = new_bucket(gateway)
    now = int(time.time())
    key_time = f"{now - 3600};{now - 1800}"
    host = f"{bucket}.cos.{REGION}.myqcloud.com"
    sig = cos_auth.sign(PERM[1], "get", "/x", {}, {"host": host}, key_time)
    auth = (f"q-sign-algorithm=sha1&q-ak={PERM[0]}&q-sign-time={key_time}"
            f"&q-key-time={key_time}&q-header-list=host&q-url-param-list=&q-signature={sig}")
    resp = requests.get(f"{gateway.endpoint}/x", headers={"Host": host, "Authorization": auth},
                        timeout=10)
    assert resp.status_code == 403 and b"Request has expired" in resp.content
