"""COS as documented beyond S3 (issue 18, rows 11 and 13), through cos-python-sdk-v5 and the
sandbox gateway in front of moto: "200 OK" answers with an error body, the 1 MB minimum part,
and ``x-cos-hash-crc64ecma`` — what the gateway answers, and what the store does with it."""

from __future__ import annotations

import os
from typing import Any

import pytest

from sandbox.cos_gateway import CosGateway
from shared.errors import StorageError
from shared.model import CosObjectSource, UrlSource
from shared.storage import s3like
from shared.storage.base import UploadedPart
from shared.storage.copy import copy_source
from shared.storage.cos import CosObjectStore
from shared.storage.crc64 import crc64
from tests.integration.storage import test_cos as base
from tests.integration.storage.source_server import SourceServer
from tests.integration.storage.test_cos import MB, PERM, REGION, md5, new_bucket

pytestmark = pytest.mark.integration
gateway = base.gateway  # one gateway (and moto) for the COS modules
cos = base.cos
CRC = "x-cos-hash-crc64ecma"


@pytest.fixture(autouse=True)
def clean_switches(gateway: CosGateway):  # type: ignore[no-untyped-def]
    yield
    gateway.faults.clear()
    gateway.wrong_crc.clear()


def admin(gw: CosGateway, bucket: str) -> CosObjectStore:
    return CosObjectStore(bucket, region=REGION, endpoint=gw.endpoint, secret_id=PERM[0],
                          secret_key=PERM[1])


def upload(cos: CosObjectStore, key: str, parts: list[bytes]) -> tuple[str, list[UploadedPart]]:
    uid = cos.start_upload(key)
    return uid, [UploadedPart(n, cos.put_part(key, uid, n, p)) for n, p in enumerate(parts, 1)]


# ------------------------------------------------------------- row 11: 200 with an error
@pytest.mark.parametrize("code, retryable", [("InternalError", True), ("InvalidPart", False)],
                         ids=["retryable", "permanent"])
def test_a_complete_answered_200_with_an_error_is_a_failure(
        gateway: CosGateway, cos: CosObjectStore, code: str, retryable: bool) -> None:
    data = [os.urandom(MB), b"tail"]
    uid, parts = upload(cos, "c200.bin", data)
    gateway.faults.add("cos", "CompleteMultipartUpload", "error", code=code)
    with pytest.raises(StorageError) as err:
        cos.complete_upload("c200.bin", uid, parts)
    assert err.value.retryable is retryable and code in err.value.message
    assert "CosServiceError" not in err.value.message
    assert cos.head("c200.bin") is None  # never taken as done
    # the upload is still there: completing again (the retry) works
    assert cos.complete_upload("c200.bin", uid, parts).size == MB + 4


def test_a_server_side_copy_answered_200_with_an_error_is_a_failure(
        gateway: CosGateway, cos: CosObjectStore) -> None:
    cos.put_object("src.csv", b"a,b\n1,2\n")
    source = CosObjectSource(cos.bucket, REGION, "exports/src.csv", "x", "y",
                             endpoint=gateway.endpoint)
    gateway.faults.add("cos", "PutObjectCopy", "error", code="InternalError")
    with pytest.raises(StorageError) as err:
        cos.server_side_copy(source, "dst.csv")
    assert err.value.retryable and "InternalError" in err.value.message
    assert cos.head("dst.csv") is None


@pytest.mark.parametrize("code, retryable", [("InternalError", True),
                                             ("InvalidArgument", False)],
                         ids=["retryable", "permanent"])
def test_a_part_copy_answered_200_with_an_error_is_a_failure(
        gateway: CosGateway, cos: CosObjectStore, monkeypatch: pytest.MonkeyPatch,
        code: str, retryable: bool) -> None:
    """Fails on the old code: the SDK hands the error back as a dict, which was read as a
    part without an ETag (a KeyError, always retryable, named by its class)."""
    data = os.urandom(2 * MB + 77)
    cos.put_object("big.bin", data)
    monkeypatch.setattr(s3like, "COPY_OBJECT_MAX", MB)  # copy in parts, as above 5 GiB
    monkeypatch.setattr(s3like, "COPY_PART_SIZE", MB)
    gateway.faults.add("cos", "UploadPartCopy", "error", code=code)
    with pytest.raises(StorageError) as err:
        cos.set_metadata("big.bin", {"team": "data"})
    assert err.value.retryable is retryable
    assert code in err.value.message and "KeyError" not in err.value.message
    assert cos.head("big.bin").metadata.get("team") is None  # type: ignore[union-attr]
    # without the fault the same rewrite goes through part by part
    assert cos.set_metadata("big.bin", {"team": "data"}).metadata["team"] == "data"
    assert md5(cos.read("big.bin")) == md5(data)


# ------------------------------------------------------------------ row 13: minimum part
def test_the_gateway_takes_parts_of_1_mb_and_refuses_smaller(gateway: CosGateway,
                                                             cos: CosObjectStore) -> None:
    """Fails on the old code: the gateway passed S3's 5 MiB minimum through."""
    ok = [os.urandom(MB), os.urandom(MB + 5), b"last may be small"]
    uid, parts = upload(cos, "one-mb.bin", ok)
    assert cos.complete_upload("one-mb.bin", uid, parts).size == sum(map(len, ok))
    small = [os.urandom(MB - 1), os.urandom(MB)]
    uid, parts = upload(cos, "small.bin", small)
    with pytest.raises(StorageError) as err:
        cos.complete_upload("small.bin", uid, parts)
    assert "EntityTooSmall" in err.value.message and not err.value.retryable
    assert cos.head("small.bin") is None


# ------------------------------------------------------------------ row 13: CRC-64
def test_crc64_on_put_part_complete_head_and_copy(gateway: CosGateway) -> None:
    """Fails on the old code: no x-cos-hash-crc64ecma at all."""
    store = admin(gateway, new_bucket(gateway))
    c, b = store.client, store.bucket
    assert crc64(b"123456789") == 0x995DC9BBDF1939FA  # the CRC-64/XZ check value
    body = os.urandom(3000)
    assert c.put_object(Bucket=b, Key="p", Body=body)[CRC] == str(crc64(body))
    assert c.head_object(Bucket=b, Key="p")[CRC] == str(crc64(body))
    p1, p2 = os.urandom(MB), os.urandom(999)
    uid = c.create_multipart_upload(Bucket=b, Key="m")["UploadId"]
    e1 = c.upload_part(Bucket=b, Key="m", Body=p1, PartNumber=1, UploadId=uid)
    e2 = c.upload_part(Bucket=b, Key="m", Body=p2, PartNumber=2, UploadId=uid)
    assert (e1[CRC], e2[CRC]) == (str(crc64(p1)), str(crc64(p2)))
    done = c.complete_multipart_upload(Bucket=b, Key="m", UploadId=uid, MultipartUpload={
        "Part": [{"PartNumber": 1, "ETag": e1["ETag"]}, {"PartNumber": 2, "ETag": e2["ETag"]}]})
    assert done[CRC] == str(crc64(p1 + p2))  # the whole object's, not a part's
    assert c.head_object(Bucket=b, Key="m")[CRC] == str(crc64(p1 + p2))
    copied = c.copy_object(Bucket=b, Key="m2", CopySource={"Bucket": b, "Key": "m",
                                                            "Region": REGION})
    assert copied[CRC] == str(crc64(p1 + p2))
    uid = c.create_multipart_upload(Bucket=b, Key="pc")["UploadId"]
    part = c.upload_part_copy(Bucket=b, Key="pc", PartNumber=1, UploadId=uid,
                              CopySource={"Bucket": b, "Key": "m", "Region": REGION},
                              CopySourceRange=f"bytes=10-{MB + 9}")
    assert part[CRC] == str(crc64((p1 + p2)[10:MB + 10]))


def test_a_streamed_copy_checks_the_crc64_of_parts_and_of_the_whole(
        gateway: CosGateway, cos: CosObjectStore) -> None:
    data = os.urandom(3 * MB + 5)
    srv = SourceServer(data).start()
    try:
        # a part answered with a wrong CRC is sent again; the copy goes through
        gateway.wrong_crc["UploadPart"] = 1
        result = copy_source(UrlSource(srv.url()), cos, "crc/ok.bin", part_size=MB)
        assert result.md5 == md5(data) and gateway.wrong_crc["UploadPart"] == 0
        # the completed object's CRC differs from its parts': a failed copy, and the object
        # is not left behind to be taken as done
        gateway.wrong_crc["CompleteMultipartUpload"] = 1
        with pytest.raises(StorageError) as err:
            copy_source(UrlSource(srv.url()), cos, "crc/bad.bin", part_size=MB)
        assert err.value.retryable and "CRC-64" in err.value.message
        assert cos.head("crc/bad.bin") is None
        again = copy_source(UrlSource(srv.url()), cos, "crc/bad.bin", part_size=MB)
        assert again.md5 == md5(data) and not again.skipped
    finally:
        srv.stop()


def test_a_small_object_answered_with_a_wrong_crc_is_not_kept(gateway: CosGateway,
                                                               cos: CosObjectStore) -> None:
    gateway.wrong_crc["PutObject"] = 1
    with pytest.raises(StorageError) as err:
        cos.put_object("crc/small.csv", b"x,y\n", {"md5": md5(b"x,y\n")})
    assert err.value.retryable and cos.head("crc/small.csv") is None


def test_a_cos_source_read_with_a_wrong_crc_is_not_delivered(gateway: CosGateway,
                                                             cos: CosObjectStore,
                                                             tmp_path: Any) -> None:
    """A multipart COS source has no MD5 to check its bytes against; the CRC-64 COS sends
    with the whole object is the check. Fails on the old code (the CRC was not read)."""
    from shared.errors import IntegrityError
    from shared.storage.local import LocalObjectStore

    data = [os.urandom(MB), os.urandom(MB), b"end"]
    uid, parts = upload(cos, "src/multi.bin", data)
    cos.complete_upload("src/multi.bin", uid, parts)
    source = CosObjectSource(cos.bucket, REGION, "exports/src/multi.bin", *cos._creds[:2],
                             token=cos._creds[2], endpoint=gateway.endpoint)
    local = LocalObjectStore(tmp_path / "bucket")
    gateway.wrong_crc["GetObject"] = 1  # the bytes arrive, their CRC says they are not them
    with pytest.raises(IntegrityError, match="CRC-64"):
        copy_source(source, local, "multi.bin", part_size=MB)
    assert local.head("multi.bin") is None
    result = copy_source(source, local, "multi.bin", part_size=MB)  # the retry
    assert result.md5 == md5(b"".join(data))


# ------------------------------------------------- an upload id of no upload in progress
NO_UPLOAD_CALLS: dict[str, Any] = {
    "UploadPart": lambda c, b, k, uid: c.upload_part(
        Bucket=b, Key=k, Body=b"tail", PartNumber=2, UploadId=uid),
    "UploadPartCopy": lambda c, b, k, uid: c.upload_part_copy(
        Bucket=b, Key=k, PartNumber=2, UploadId=uid,
        CopySource={"Bucket": b, "Key": k + ".src", "Region": REGION}),
    "CompleteMultipartUpload": lambda c, b, k, uid: c.complete_multipart_upload(
        Bucket=b, Key=k, UploadId=uid,
        MultipartUpload={"Part": [{"PartNumber": 1, "ETag": md5(b"abc")}]}),
    "ListParts": lambda c, b, k, uid: c.list_parts(Bucket=b, Key=k, UploadId=uid),
    "AbortMultipartUpload": lambda c, b, k, uid: c.abort_multipart_upload(
        Bucket=b, Key=k, UploadId=uid),
}


@pytest.mark.parametrize("which", ["aborted", "never-begun"])
@pytest.mark.parametrize("act", list(NO_UPLOAD_CALLS))
def test_an_upload_id_of_no_upload_is_404_no_such_upload(cos: CosObjectStore, act: str,
                                                         which: str) -> None:
    from qcloud_cos.cos_exception import CosServiceError

    key = cos._k("gone.bin")
    cos.client.put_object(Bucket=cos.bucket, Key=key + ".src", Body=os.urandom(MB))
    uid = cos.start_upload("gone.bin")
    cos.put_part("gone.bin", uid, 1, b"abc")
    cos.abort_upload("gone.bin", uid)
    if which == "never-begun":
        uid = os.urandom(16).hex()

    with pytest.raises(CosServiceError) as gone:
        NO_UPLOAD_CALLS[act](cos.client, cos.bucket, key, uid)

    assert (gone.value.get_status_code(), gone.value.get_error_code()) == (404, "NoSuchUpload")
    assert cos.head("gone.bin") is None
