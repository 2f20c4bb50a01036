"""When an object's ETag may stand for its MD5 (and be checked against the copied bytes)."""

from __future__ import annotations

import pytest

from shared.storage.sources import etag_is_md5

MD5 = '"9e107d9d372bb6826bd81d3542a419d6"'


@pytest.mark.parametrize(("etag", "headers", "expected"), [
    (MD5, {}, True),
    # COS: the ETag of any encrypted object differs from its MD5, SSE-COS included
    # (issue 18 row 10; COS common response headers, tencentcloud.com/document/api/436/7729)
    (MD5, {"x-cos-server-side-encryption": "AES256"}, False),
    (MD5, {"x-amz-server-side-encryption": "AES256"}, True),  # S3's own keys: still the MD5
    ('"9e107d9d372bb6826bd81d3542a419d6-3"', {}, False),  # multipart
    (MD5, {"x-cos-server-side-encryption": "cos/kms"}, False),
    (MD5, {"x-amz-server-side-encryption": "aws:kms"}, False),
    (MD5, {"x-cos-server-side-encryption-customer-algorithm": "AES256"}, False),  # SSE-C
    (MD5, {"x-amz-server-side-encryption-customer-algorithm": "AES256"}, False),
    # OSS: PutObject's ETag is the MD5 of the content ("Data consistency verification");
    # other object types and encrypted objects are not vouched for
    (MD5, {"x-oss-object-type": "Normal"}, True),
    (MD5, {"x-oss-object-type": "Appendable"}, False),
    (MD5, {"x-oss-object-type": "Normal", "x-oss-server-side-encryption": "KMS"}, False),
], ids=["plain", "sse-cos", "sse-s3", "multipart", "cos-kms", "s3-kms", "cos-sse-c", "s3-sse-c",
        "oss-normal", "oss-appendable", "oss-kms"])
def test_etag_is_md5_only_for_simple_uploads_cos_never_when_encrypted(
        etag: str, headers: dict[str, str], expected: bool) -> None:
    assert etag_is_md5(etag, headers) is expected
