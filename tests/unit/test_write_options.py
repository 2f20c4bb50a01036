"""shared/write_options.py: a destination's write options read from JSON, each error naming
``<setting>.<field>``; the options a kind of store cannot honour are refused by name."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.config import Settings
from shared.errors import ConfigError
from shared.setting_names import ENV_DESTINATION_WRITE
from shared.write_options import Retention, WriteOptions, check_backend, write_options

S = "COURIER_DESTINATION_WRITE"
NOW = datetime(2026, 12, 6, tzinfo=timezone.utc)


def test_every_option_read_and_recorded() -> None:
    options = write_options(S, {
        "sse": "aws:kms", "kms_key_id": " key-1 ", "storage_class": "standard_ia",
        "tags": {"team": "data", "cost center": "a/b"},
        "retention": {"mode": "governance", "until": "2030-01-01T00:00:00+08:00"}}, NOW)
    assert options == WriteOptions(
        setting=S, sse="kms", kms_key_id="key-1", storage_class="STANDARD_IA",
        tags=(("team", "data"), ("cost center", "a/b")),
        retention=Retention("GOVERNANCE", until=datetime(2029, 12, 31, 16,
                                                         tzinfo=timezone.utc)))
    assert options.record() == {
        "sse": "kms", "kms_key_id": "key-1", "storage_class": "STANDARD_IA",
        "tags": {"team": "data", "cost center": "a/b"},
        "retention": {"mode": "GOVERNANCE", "until": "2029-12-31T16:00:00Z"}}
    assert write_options(S, None).empty and write_options(S, {}).record() == {}


@pytest.mark.parametrize("sse", ["AES256", "sse-s3", "SSE-COS"])
def test_store_managed_keys_by_any_of_their_names(sse: str) -> None:
    assert write_options(S, {"sse": sse}).sse == "AES256"


def test_days_of_retention_end_that_many_days_after_writing() -> None:
    retention = write_options(S, {"retention": {"mode": "COMPLIANCE", "days": 30}}).retention
    assert retention is not None
    assert retention.retain_until(NOW + timedelta(microseconds=5)) == NOW + timedelta(days=30)
    assert retention.record() == {"mode": "COMPLIANCE", "days": 30}


@pytest.mark.parametrize(("raw", "error"), [
    ([], f"{S}: must be a JSON object of write options"),
    ({"encryption": "AES256"}, f"{S}.encryption: unknown write option"),
    ({"sse": "SM4"}, f"{S}.sse: must be \"AES256\""),
    ({"sse": 1}, f"{S}.sse: must be \"AES256\""),
    ({"kms_key_id": "k"}, f"{S}.kms_key_id: a KMS key needs \"sse\": \"kms\""),
    ({"sse": "kms", "kms_key_id": ""}, f"{S}.kms_key_id: must be the KMS key's id or ARN"),
    ({"sse": "kms", "kms_key_id": "alias/mine"}, f"{S}.kms_key_id: give the key's id or ARN"),
    ({"storage_class": "cold storage"}, f"{S}.storage_class: must be a storage class name"),
    ({"storage_class": "glacier"}, f"{S}.storage_class: GLACIER objects cannot be read"),
    ({"storage_class": "ARCHIVE"}, f"{S}.storage_class: ARCHIVE objects cannot be read"),
    ({"tags": ["a"]}, f"{S}.tags: must be an object"),
    ({"tags": {f"t{i}": "v" for i in range(10)}}, f"{S}.tags: at most 9 tags"),
    ({"tags": {"md5": "x"}}, f"{S}.tags.md5: the tag md5 is Courier's own"),
    ({"tags": {"a*b": "x"}}, f"{S}.tags.a*b: a tag name is 1 to 128"),
    ({"tags": {"a": 1}}, f"{S}.tags.a: a tag value is text"),
    ({"tags": {"a": "v" * 257}}, f"{S}.tags.a: a tag value is text of at most 256"),
    ({"retention": 30}, f"{S}.retention: must be an object"),
    ({"retention": {"mode": "LEGAL", "days": 1}}, f"{S}.retention.mode: must be GOVERNANCE"),
    ({"retention": {"mode": "GOVERNANCE"}}, f"{S}.retention: give either days or until"),
    ({"retention": {"mode": "GOVERNANCE", "days": 1, "until": "2030-01-01T00:00:00Z"}},
     f"{S}.retention: give either days or until"),
    ({"retention": {"mode": "GOVERNANCE", "days": 0}}, f"{S}.retention.days: must be a whole"),
    ({"retention": {"mode": "GOVERNANCE", "days": True}}, f"{S}.retention.days: must be"),
    ({"retention": {"mode": "GOVERNANCE", "until": "soon"}},
     f"{S}.retention.until: must be an ISO 8601 time"),
    ({"retention": {"mode": "GOVERNANCE", "until": "2030-01-01T00:00:00"}},
     f"{S}.retention.until: give the time zone"),
    ({"retention": {"mode": "GOVERNANCE", "until": "2020-01-01T00:00:00Z"}},
     f"{S}.retention.until: is already past"),
    ({"retention": {"mode": "GOVERNANCE", "days": 1, "legal_hold": "ON"}},
     f"{S}.retention.legal_hold: unknown field"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_options_are_refused_naming_the_field(raw: Any, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        write_options(S, raw, NOW)
    assert caught.value.message.startswith(error)


@pytest.mark.parametrize(("scheme", "raw", "error"), [
    ("cos", {"retention": {"mode": "GOVERNANCE", "days": 1}},
     f"{S}.retention: COS has no per-object retention"),
    ("file", {"sse": "AES256"}, f"{S}.sse: a local folder keeps no encryption"),
    ("oss", {"retention": {"mode": "COMPLIANCE", "days": 1}},
     f"{S}.retention: OSS locks objects with a bucket's retention policy (WORM)"),
    ("oss", {"tags": {"owner": "ops@example"}},
     f"{S}.tags.owner: oss:// tag names and values take letters, digits, spaces and "
     "+ - = . _ : / only"),
])
def test_an_option_a_store_cannot_honour_is_refused_by_name(scheme: str, raw: Any,
                                                            error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        check_backend(write_options(S, raw, NOW), scheme)
    assert caught.value.message.startswith(error)
    check_backend(write_options(S, {}), scheme)  # none asked: nothing to refuse


def test_the_setting_is_read_and_checked_against_the_destination_at_cold_start() -> None:
    base = {"COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none"}
    asked = json.dumps({"sse": "AES256", "tags": {"team": "data"}})
    settings = Settings.from_env({**base, "COURIER_DESTINATION": "s3://bucket/x",
                                  ENV_DESTINATION_WRITE: asked})
    assert settings.destination_write.record() == {"sse": "AES256", "tags": {"team": "data"}}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**base, "COURIER_DESTINATION": "file:///tmp/b",
                           ENV_DESTINATION_WRITE: asked})
    assert caught.value.message.startswith(f"{S}.sse: a local folder")
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**base, ENV_DESTINATION_WRITE: "{sse"})
    assert caught.value.message == f"{S}: not valid JSON"


@pytest.mark.parametrize(("named", "error"), [
    ({"url": "s3://b/x", "write": {"sse": "SM4"}},
     "COURIER_DESTINATIONS[vault].write.sse: must be \"AES256\""),
    ({"url": "file:///tmp/v", "write": {"tags": {"a": "b"}}},
     "COURIER_DESTINATIONS[vault].write.tags: a local folder keeps no"),
    ({"url": "cos://v-1250000000/x?region=ap-guangzhou",
      "write": {"retention": {"mode": "GOVERNANCE", "days": 1}}},
     "COURIER_DESTINATIONS[vault].write.retention: COS has no per-object retention"),
    ({"url": "oss://vault-results/x?region=cn-hangzhou",
      "write": {"retention": {"mode": "COMPLIANCE", "days": 1}}},
     "COURIER_DESTINATIONS[vault].write.retention: OSS locks objects with a bucket's"),
    ({"url": "oss://vault-results/x?region=cn-hangzhou", "write": {"storage_class": "ColdArchive"}},
     "COURIER_DESTINATIONS[vault].write.storage_class: COLDARCHIVE objects cannot be read"),
])
def test_a_named_destinations_write_options_are_checked_at_cold_start(
        named: dict[str, Any], error: str) -> None:
    base = {"COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none",
            "TENCENTCLOUD_SECRETID": "AKIDx", "TENCENTCLOUD_SECRETKEY": "k"}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**base, "COURIER_DESTINATIONS": json.dumps({"vault": named})})
    assert caught.value.message.startswith(error)


def test_oss_takes_encryption_a_class_and_tags_and_refuses_retention_by_name() -> None:
    from shared.storage import open_destination

    base = {"COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none",
            "COURIER_DESTINATION": "oss://results/courier?region=cn-hangzhou"}
    asked = {"sse": "KMS", "kms_key_id": "9468da86-3509-4f8d-a61e-6eab1eac0001",
             "storage_class": "IA", "tags": {"team": "data"}}
    settings = Settings.from_env({**base, ENV_DESTINATION_WRITE: json.dumps(asked)})
    assert settings.destination_write.record() == {**asked, "sse": "kms"}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**base, ENV_DESTINATION_WRITE: json.dumps(
            {"retention": {"mode": "COMPLIANCE", "days": 7}})})
    assert caught.value.message.startswith(f"{S}.retention: OSS locks objects with a "
                                           "bucket's retention policy (WORM)")
    with pytest.raises(ConfigError) as caught:  # a store opened with it refuses it too
        open_destination("oss://results/courier?region=cn-hangzhou",
                         write=write_options(S, {"retention": {"mode": "COMPLIANCE",
                                                               "days": 7}}))
    assert caught.value.message.startswith(f"{S}.retention: OSS locks objects")


@pytest.mark.parametrize("storage_class", ["Archive", "ColdArchive", "DeepColdArchive"])
def test_osss_archive_classes_are_refused_like_the_others(storage_class: str) -> None:
    with pytest.raises(ConfigError) as caught:
        write_options(S, {"storage_class": storage_class})
    assert caught.value.message.startswith(
        f"{S}.storage_class: {storage_class.upper()} objects cannot be read before a restore")
