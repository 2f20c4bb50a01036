"""Settings fail at cold start, naming the setting, before any export is touched."""

from __future__ import annotations

import base64

import pytest

from shared.config import Settings
from shared.errors import ConfigError
from shared.setting_names import ENV_DESTINATION
from shared.setting_values import parse_destination
from shared.vendor_settings import StorageSettings

BASE = {"COURIER_API_KEYS": "k" * 32}


@pytest.mark.parametrize(("template", "problem"), [
    ("{provider}/{nope}/{file_name}", "nope"),
    ("{provider}/{file_name", "malformed"),
    ("/abs/{file_name}", "relative"),
    ("a/../{file_name}", "'..'"),
])
def test_a_bad_key_template_stops_the_cold_start(template: str, problem: str) -> None:
    with pytest.raises(ConfigError, match="COURIER_KEY_TEMPLATE") as caught:
        Settings.from_env({**BASE, "COURIER_KEY_TEMPLATE": template})
    assert problem in str(caught.value)


@pytest.mark.parametrize("uri", ["nope", "ftp://x/y", "file://", "s3://", "cos://",
                                 "cos://bucket-1250000000/x", "oss://", "oss://Upper/x",
                                 "oss://-dash/x?region=cn-hangzhou", "oss://ok-bucket/x",
                                 "oss://ok-bucket/x?region=hangzhou"])
def test_a_bad_destination_stops_the_cold_start(uri: str) -> None:
    with pytest.raises(ConfigError, match="COURIER_DESTINATION"):
        Settings.from_env({**BASE, "COURIER_DESTINATION": uri})


def test_an_oss_destination_takes_the_alibaba_keys_and_region() -> None:
    settings = Settings.from_env({
        **BASE, "COURIER_DESTINATION": "oss://my-exports/courier",
        "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIx", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "ask",
        "ALIBABA_CLOUD_SECURITY_TOKEN": "tok", "ALIBABA_CLOUD_REGION_ID": "cn-shanghai",
        "COURIER_OSS_ENDPOINT": "http://127.0.0.1:7"})
    storage = settings.storage
    assert (storage.oss_access_key_id, storage.oss_access_key_secret, storage.oss_token,
            storage.oss_endpoint) == ("LTAIx", "ask", "tok", "http://127.0.0.1:7")
    dest = parse_destination(ENV_DESTINATION, settings.destination, oss_region=storage.oss_region)
    assert (dest.scheme, dest.location, dest.prefix, dest.region) == (
        "oss", "my-exports", "/courier", "cn-shanghai")
    named = parse_destination(ENV_DESTINATION, "oss://my-exports?region=cn-beijing",
                              oss_region="cn-shanghai")
    assert named.region == "cn-beijing"  # the URI's own region wins
    assert "ask" not in repr(storage) and {"ask", "tok"} <= set(settings.secret_values())


def test_storage_endpoints_and_cos_keys_are_read_with_the_settings() -> None:
    settings = Settings.from_env({
        **BASE, "COURIER_DESTINATION": "cos://b-1250000000/out",
        "TENCENTCLOUD_REGION": "ap-shanghai", "TENCENTCLOUD_SECRETID": "AKIDx",
        "TENCENTCLOUD_SECRETKEY": "sk", "COURIER_COS_ENDPOINT": "http://127.0.0.1:9",
        "COURIER_S3_ENDPOINT": "http://127.0.0.1:8", "COURIER_S3_REGION": "eu-west-1"})
    assert settings.storage == StorageSettings(
        s3_endpoint="http://127.0.0.1:8", s3_region="eu-west-1",
        cos_endpoint="http://127.0.0.1:9", cos_region="ap-shanghai",
        cos_secret_id="AKIDx", cos_secret_key="sk", cos_token=None)
    dest = parse_destination(ENV_DESTINATION, settings.destination, settings.storage.cos_region)
    assert (dest.scheme, dest.location, dest.prefix, dest.region) == (
        "cos", "b-1250000000", "/out", "ap-shanghai")
    assert "sk" not in repr(settings.storage)


@pytest.mark.parametrize("value", ["0.5", "1", "4.99"])
def test_a_part_size_under_the_stores_minimum_stops_the_cold_start(value: str) -> None:
    """S3 takes parts (but the last) of 5 MiB and more, COS of 1 MB: the part size is at
    least 5 MiB, so it suits either."""
    with pytest.raises(ConfigError, match="COURIER_PART_SIZE_MB") as caught:
        Settings.from_env({**BASE, "COURIER_PART_SIZE_MB": value})
    assert "at least 5" in str(caught.value)
    assert Settings.from_env({**BASE, "COURIER_PART_SIZE_MB": "5"}).part_size == 5 * 1024 ** 2


def test_the_staged_objects_switch_is_checked_at_cold_start() -> None:
    cw = {**BASE, "COURIER_CLOUDWATCH_BUCKET": "staging"}
    assert Settings.from_env(cw).aws.delete_staged is True  # type: ignore[union-attr]
    off = Settings.from_env({**cw, "COURIER_CLOUDWATCH_DELETE_STAGED": "OFF"})
    assert off.aws.delete_staged is False  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="COURIER_CLOUDWATCH_DELETE_STAGED"):
        Settings.from_env({**cw, "COURIER_CLOUDWATCH_DELETE_STAGED": "sometimes"})


def test_the_tencent_appid_is_read_and_checked_at_cold_start() -> None:
    tencent = {**BASE, "TENCENTCLOUD_SECRETID": "AKIDx", "TENCENTCLOUD_SECRETKEY": "key"}
    settings = Settings.from_env({**tencent, "TENCENTCLOUD_APPID": "1250000000"})
    assert settings.tencent is not None and settings.tencent.appid == "1250000000"
    with pytest.raises(ConfigError, match="TENCENTCLOUD_APPID"):
        Settings.from_env({**tencent, "TENCENTCLOUD_APPID": "geoli"})


STRONG_HOOK = "whsec_" + base64.b64encode(b"k" * 24).decode()


@pytest.mark.parametrize(("secrets_value", "problem"), [
    ("whsec_", "holds 0 bytes"),  # empty: anyone could forge a signature
    ("whsec_" + base64.b64encode(b"x").decode(), "holds 1 bytes"),
    ("whsec_" + base64.b64encode(b"x" * 23).decode(), "at least 24"),
    ("whsec_not base64!", "not base64"),  # could never sign: every delivery would fail
    ("c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", "must start with 'whsec_'"),
    (f"{STRONG_HOOK},whsec_c2VjcmV0", "secret 2"),  # the old one of a rotation counts too
], ids=["empty", "one-byte", "23-bytes", "not-base64", "no-prefix", "weak-second"])
def test_a_weak_or_broken_webhook_secret_stops_the_cold_start(secrets_value: str,
                                                              problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, "COURIER_WEBHOOK_SECRETS": secrets_value})
    message = str(caught.value)
    assert message.startswith("COURIER_WEBHOOK_SECRETS: ") and problem in message
    for value in secrets_value.split(","):  # the setting is named, its value never shown
        key = value.removeprefix("whsec_")
        assert not key or key not in message


@pytest.mark.parametrize("keys", ["a", "k" * 31, f"{'k' * 32},short-second-key"],
                         ids=["one-char", "31-chars", "weak-second"])
def test_a_short_api_key_stops_the_cold_start(keys: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"COURIER_API_KEYS": keys})
    message = str(caught.value)
    assert message.startswith("COURIER_API_KEYS: ")
    assert "shorter than 32 characters" in message
    assert all(key not in message for key in keys.split(",") if len(key) > 1)


def test_strong_keys_and_secrets_are_taken() -> None:
    other = "whsec_" + base64.b64encode(b"o" * 64).decode()
    settings = Settings.from_env({"COURIER_API_KEYS": f"{'k' * 32},{'n' * 40}",
                                  "COURIER_WEBHOOK_SECRETS": f"{STRONG_HOOK},{other}"})
    assert settings.api_keys == ("k" * 32, "n" * 40)
    assert settings.webhook_secrets == (STRONG_HOOK, other)
    assert settings.warnings() == []


def test_no_webhook_secret_is_a_warning_for_the_cold_start_not_an_error() -> None:
    assert Settings.from_env(BASE).warnings() == [
        "no webhook secrets configured: deliveries are sent unsigned"]


def test_the_format_and_the_parquet_bound_are_read_and_checked_at_cold_start() -> None:
    assert Settings.from_env(BASE).unpack.format == "gzip"
    settings = Settings.from_env({**BASE, "COURIER_FORMAT": "Parquet",
                                  "COURIER_PARQUET_TMP_MB": "200"})
    assert settings.unpack.format == "parquet"
    assert settings.unpack.parquet_tmp_bytes == 200 * 1024**2
    with pytest.raises(ConfigError, match="COURIER_FORMAT: must be 'gzip' or 'parquet'"):
        Settings.from_env({**BASE, "COURIER_FORMAT": "orc"})
    with pytest.raises(ConfigError, match="COURIER_PARQUET_TMP_MB: 'lots' is not a number"):
        Settings.from_env({**BASE, "COURIER_PARQUET_TMP_MB": "lots"})
