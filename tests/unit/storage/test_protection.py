"""shared/storage/protection.py: what a stored object lacks of the options asked, and a
store's refusal of an option, each naming the option."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.storage.protection import Stored, problems, refusal, same_key
from shared.write_options import write_options

S = "COURIER_DESTINATION_WRITE"
UNTIL = datetime(2030, 1, 1, tzinfo=timezone.utc)
ARN = "arn:aws:kms:us-east-1:123456789012:key/k-1"
ALL = write_options(S, {"sse": "kms", "kms_key_id": "k-1", "storage_class": "STANDARD_IA",
                        "tags": {"team": "data"},
                        "retention": {"mode": "GOVERNANCE", "days": 3}})


def test_an_object_with_everything_asked_has_no_problem() -> None:
    stored = Stored("kms", ARN, "STANDARD_IA", "GOVERNANCE", UNTIL)
    assert problems(ALL, stored, {"team": "data", "md5": "x"}, UNTIL) == []


def test_each_missing_protection_is_named() -> None:
    found = problems(ALL, Stored(), {}, UNTIL)
    assert found == [
        f"{S}.sse: asked for kms, the stored object is not encrypted",
        f"{S}.kms_key_id: the stored object is encrypted with no KMS key, not k-1",
        f"{S}.storage_class: asked for STANDARD_IA, the stored object is STANDARD",
        f"{S}.tags.team: the stored object's tag is None, not 'data'",
        f"{S}.retention: asked for GOVERNANCE until 2030-01-01T00:00:00+00:00, the stored "
        "object is not locked"]


def test_a_retention_shorter_than_asked_is_a_problem() -> None:
    short = Stored("kms", ARN, "STANDARD_IA", "GOVERNANCE", UNTIL - timedelta(seconds=2))
    assert [p.split(":")[0] for p in problems(ALL, short, {"team": "data"}, UNTIL)] == [
        f"{S}.retention"]
    # an object written earlier (its date not known here): locked in that mode is enough
    assert problems(ALL, short, {"team": "data"}, None) == []


@pytest.mark.parametrize(("asked", "stored", "same"), [
    ("k-1", ARN, True), (ARN, ARN, True), ("k-1", "arn:…:key/k-12", False), ("k-1", None, False),
])
def test_a_key_is_named_by_its_id_or_arn(asked: str, stored: str | None, same: bool) -> None:
    assert same_key(asked, stored) is same


@pytest.mark.parametrize(("code", "message", "field"), [
    ("InvalidStorageClass", "The storage class you specified is not valid", "storage_class"),
    ("KMS.NotFoundException", "Invalid keyId k-1", "kms_key_id"),
    ("AccessDenied", "User is not authorized to perform kms:GenerateDataKey", "kms_key_id"),
    ("InvalidRequest", "Bucket is missing ObjectLockConfiguration", "retention"),
    ("InvalidArgument", "The retain until date must be in the future!", "retention"),
    ("InvalidTag", "The TagValue you have provided is invalid", "tags"),
    ("InvalidObjectState", "The operation is not valid for the object's storage class",
     "storage_class"),
], ids=lambda v: v if isinstance(v, str) and "." not in v and " " not in v else None)
def test_a_refusal_names_the_option(code: str, message: str, field: str) -> None:
    status = 403 if code in ("AccessDenied", "InvalidObjectState") else 400
    refused = refusal(ALL, "S3", status, code, message)
    assert refused is not None and not refused.retryable and refused.status == status
    assert refused.message.startswith(f"{S}.{field}: S3 refused it ({status} {code}: ")


def test_a_kms_refusal_without_a_key_asked_names_sse() -> None:
    refused = refusal(write_options(S, {"sse": "kms"}), "S3", 403, "AccessDenied",
                      "User is not authorized to perform kms:GenerateDataKey")
    assert refused is not None and refused.message.startswith(f"{S}.sse: S3 refused it")


def test_other_errors_are_not_refusals() -> None:
    assert refusal(ALL, "S3", 404, "NoSuchBucket", "The bucket does not exist") is None
    assert refusal(ALL, "S3", 503, "SlowDown", "Please reduce your request rate") is None
    plain = write_options(S, {"sse": "AES256"})
    assert refusal(plain, "S3", 400, "InvalidStorageClass", "not valid") is None  # not asked
    assert refusal(write_options(S, {}), "S3", 400, "InvalidStorageClass", "") is None


@pytest.mark.parametrize(("status", "code", "message", "field"), [
    (404, "KeyNotFound", "The specified parameter KMS keyId is not found", "kms_key_id"),
    (400, "InvalidArgument", "The value of x-oss-storage-class is invalid.", "storage_class"),
    (403, "AccessDenied", "This request is forbidden by kms", "kms_key_id"),
], ids=["key-not-found", "storage-class", "forbidden-by-kms"])
def test_osss_refusals_name_the_option(status: int, code: str, message: str,
                                       field: str) -> None:
    refused = refusal(ALL, "OSS", status, code, message)
    assert refused is not None and not refused.retryable and refused.status == status
    assert refused.message == f"{S}.{field}: OSS refused it ({status} {code}: {message})"
