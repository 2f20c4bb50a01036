"""sandbox/oss_wire.py: the bucket's protections read as S3's headers and back, and what OSS
refuses of them before anything is written (SOURCES.md, OSS)."""

from __future__ import annotations

import pytest

from sandbox.oss_wire import oss_answer_header, refused_protection, s3_headers


def test_encryption_the_key_the_class_and_the_tags_become_s3s() -> None:
    assert s3_headers({
        "x-oss-server-side-encryption": "KMS", "x-oss-server-side-encryption-key-id": "k-1",
        "x-oss-storage-class": "IA", "x-oss-tagging": "team=data",
        "x-oss-tagging-directive": "Replace"}) == {
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": "k-1",
        "x-amz-storage-class": "STANDARD_IA", "x-amz-tagging": "team=data",
        "x-amz-tagging-directive": "REPLACE"}
    assert s3_headers({"x-oss-server-side-encryption": "AES256",
                       "x-oss-storage-class": "ColdArchive"}) == {
        "x-amz-server-side-encryption": "AES256", "x-amz-storage-class": "DEEP_ARCHIVE"}


@pytest.mark.parametrize(("s3", "oss"), [
    (("x-amz-server-side-encryption", "aws:kms"), ("x-oss-server-side-encryption", "KMS")),
    (("x-amz-server-side-encryption", "AES256"), ("x-oss-server-side-encryption", "AES256")),
    (("x-amz-server-side-encryption-aws-kms-key-id", "k-1"),
     ("x-oss-server-side-encryption-key-id", "k-1")),
    (("x-amz-storage-class", "STANDARD_IA"), ("x-oss-storage-class", "IA")),
    (("x-amz-storage-class", "GLACIER"), ("x-oss-storage-class", "Archive")),
], ids=lambda pair: f"{pair[0]}={pair[1]}")
def test_s3s_answers_are_named_as_oss_names_them(s3: tuple[str, str],
                                                 oss: tuple[str, str]) -> None:
    assert oss_answer_header(*s3) == oss
    assert oss_answer_header("etag", '"x"') is None


@pytest.mark.parametrize(("act", "headers", "answer"), [
    ("PutObject", {"x-oss-storage-class": "STANDARD_IA"},
     (400, "InvalidArgument", "The value of x-oss-storage-class is invalid.", "0017-00000132")),
    ("PutObject", {"x-oss-storage-class": ""},
     (400, "InvalidArgument", "The value of x-oss-storage-class is invalid.", "0017-00000131")),
    ("CopyObject", {"x-oss-storage-class": "test"},
     (400, "InvalidArgument", "The value of x-oss-storage-class is invalid.", "0013-00000101")),
    ("InitiateMultipartUpload", {"x-oss-server-side-encryption": "aws:kms"},
     (400, "InvalidEncryptionAlgorithmError", "The Encryption request you specified is not "
      "valid. Supported value: AES256/KMS/SM4", "")),
    ("PutObject", {"x-oss-storage-class": "DeepColdArchive"},
     (501, "NotImplemented", "the sandbox keeps no DeepColdArchive or SM4 objects", "")),
    ("PutObject", {"x-oss-server-side-encryption": "SM4"},
     (501, "NotImplemented", "the sandbox keeps no DeepColdArchive or SM4 objects", "")),
    ("PutObject", {"x-oss-storage-class": "Archive", "x-oss-server-side-encryption": "KMS"},
     None),
], ids=["s3-class", "empty-class", "copy-class", "s3-algorithm", "deep-cold", "sm4", "known"])
def test_what_oss_refuses_before_writing(act: str, headers: dict[str, str],
                                         answer: tuple[int, str, str, str] | None) -> None:
    assert refused_protection(act, headers) == answer
