"""COURIER_DESTINATIONS: read once at cold start, every URL and key template checked, each
error naming ``COURIER_DESTINATIONS[<name>].<field>``; where an export lands, defaults filled
in; a schedule naming an unknown destination stops the cold start."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.config import Settings
from shared.errors import ConfigError
from shared.fleet import Account, NamedDestination, check_accounts, destinations

BASE = {"COURIER_API_KEYS": "k" * 32, "COURIER_DESTINATION": "file:///tmp/courier-bucket"}
SETTING = "COURIER_DESTINATIONS"


def read(value: Any) -> tuple[NamedDestination, ...]:
    return destinations(SETTING, json.dumps(value), default_region="ap-guangzhou")


def test_an_object_of_destinations_by_name_is_read_with_every_field() -> None:
    found = read({
        "lake": {"url": "s3://team-lake/courier", "key_template": "{provider}/{file_name}",
                 "unpack": True, "secret_id": "AKIA1", "secret_key": "sk-1", "token": "t-1",
                 "write": {"storage_class": "STANDARD_IA"}},
        "archive": {"url": "cos://archive-1250000000/x?region=ap-shanghai",
                    "account": "tencent-b"},
    })
    lake, archive = found
    assert (lake.name, lake.url, lake.key_template, lake.unpack) == (
        "lake", "s3://team-lake/courier", "{provider}/{file_name}", True)
    assert (lake.secret_id, lake.secret_key, lake.token) == ("AKIA1", "sk-1", "t-1")
    assert lake.write == {"storage_class": "STANDARD_IA"}  # carried as given
    assert (archive.account, archive.key_template, archive.unpack) == ("tencent-b", None, None)
    assert "sk-1" not in repr(lake) and lake.secrets() == ["sk-1", "t-1"]


def test_a_list_of_destinations_each_with_its_name_is_read_the_same() -> None:
    assert read([{"name": "lake", "url": "s3://team-lake"}]) == read(
        {"lake": {"url": "s3://team-lake"}})


BAD: list[tuple[str, Any, str]] = [
    ("not-json-object", "s3://x", f"{SETTING}: must be a JSON object"),
    ("no-url", {"lake": {}}, f"{SETTING}[lake].url: required"),
    ("bad-url", {"lake": {"url": "ftp://x"}}, f"{SETTING}[lake].url: unsupported scheme"),
    ("s3-no-bucket", {"lake": {"url": "s3://"}}, f"{SETTING}[lake].url: s3:// needs a bucket"),
    ("bad-template", {"lake": {"url": "s3://b", "key_template": "{nope}/{file_name}"}},
     f"{SETTING}[lake].key_template: "),
    ("absolute-template", {"lake": {"url": "s3://b", "key_template": "/a/{file_name}"}},
     f"{SETTING}[lake].key_template: "),
    ("unpack-text", {"lake": {"url": "s3://b", "unpack": "yes"}},
     f"{SETTING}[lake].unpack: must be true or false"),
    ("half-keys", {"lake": {"url": "s3://b", "secret_id": "AKIA1"}},
     f"{SETTING}[lake].secret_key: give secret_id and secret_key together"),
    ("token-alone", {"lake": {"url": "s3://b", "token": "t"}}, f"{SETTING}[lake].token: "),
    ("keys-and-account", {"lake": {"url": "s3://b", "secret_id": "a", "secret_key": "b",
                                   "account": "aws-b"}},
     f"{SETTING}[lake].account: give either the keys or an account"),
    ("file-with-keys", {"lake": {"url": "file:///x", "secret_id": "a", "secret_key": "b"}},
     f"{SETTING}[lake].secret_id: a file:// destination"),
    ("write-not-object", {"lake": {"url": "s3://b", "write": "AES256"}},
     f"{SETTING}[lake].write: must be a JSON object"),
    ("unknown-field", {"lake": {"url": "s3://b", "endpoint": "x"}},
     f"{SETTING}[lake]: unknown field 'endpoint'"),
    ("bad-name", {"Lake Zone": {"url": "s3://b"}}, f"{SETTING}[Lake Zone]: a destination name"),
    ("list-without-name", [{"url": "s3://b"}], f"{SETTING}[0].name: required"),
    ("name-twice", [{"name": "a", "url": "s3://b"}, {"name": "a", "url": "s3://c"}],
     f"{SETTING}[a]: the name is used twice"),
]


@pytest.mark.parametrize(("value", "message"), [(v, m) for _, v, m in BAD],
                         ids=[i for i, _, _ in BAD])
def test_a_bad_destination_is_a_config_error_naming_its_field(value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read(value)
    assert str(caught.value).startswith(message)


def test_a_cos_url_without_a_region_takes_the_deployments() -> None:
    assert read({"c": {"url": "cos://b-1250000000/x"}})[0].url == "cos://b-1250000000/x"
    with pytest.raises(ConfigError, match=r"COURIER_DESTINATIONS\[c\]\.url: cos:// needs"):
        destinations(SETTING, json.dumps({"c": {"url": "cos://b-1250000000/x"}}))


def test_a_destinations_account_must_be_configured_and_of_its_cloud() -> None:
    named = read({"lake": {"url": "s3://b", "account": "aws-b"},
                  "box": {"url": "cos://b-1250000000?region=ap-guangzhou",
                          "account": "aws-b"}})
    with pytest.raises(ConfigError, match=r"\[lake\]\.account: 'aws-b' is not a configured"):
        check_accounts(SETTING, named, ())
    aws_b = Account(name="aws-b", vendor="aws", region="us-east-1", secret_id="AKIA",
                    secret_key="sk")
    with pytest.raises(ConfigError, match=r"\[box\]\.account: 'aws-b' is a aws account; a "
                                          "cos:// bucket is written with a tencent one"):
        check_accounts(SETTING, named, (aws_b,))
    check_accounts(SETTING, named[:1], (aws_b,))  # an aws account writes an s3 bucket


def test_settings_read_destinations_and_fill_in_the_deployments_defaults() -> None:
    settings = Settings.from_env({
        **BASE, "COURIER_KEY_TEMPLATE": "{provider}/{export_id}/{file_name}",
        "COURIER_UNPACK": "on",
        SETTING: json.dumps({"lake": {"url": "s3://lake", "unpack": False},
                             "raw": {"url": "file:///tmp/raw", "key_template": "{file_name}"}})})
    own, lake, raw = (settings.delivery(n) for n in (None, "lake", "raw"))
    assert (own.name, own.url, own.key_template, own.unpack) == (
        "", "file:///tmp/courier-bucket", "{provider}/{export_id}/{file_name}", True)
    assert (lake.url, lake.key_template, lake.unpack) == (
        "s3://lake", "{provider}/{export_id}/{file_name}", False)
    assert (raw.key_template, raw.unpack) == ("{file_name}", True)
    with pytest.raises(ConfigError, match="no destination named 'nope'"):
        settings.delivery("nope")


def test_a_bad_destination_stops_the_cold_start_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"^COURIER_DESTINATIONS\[lake\]\.url: "):
        Settings.from_env({**BASE, SETTING: '{"lake": {"url": "s3:/x"}}'})
    with pytest.raises(ConfigError, match=r"^COURIER_DESTINATIONS: not valid JSON"):
        Settings.from_env({**BASE, SETTING: "{lake"})


def test_a_schedule_naming_an_unknown_destination_stops_the_cold_start() -> None:
    schedule = {"name": "hourly", "provider": "cls", "every_s": 3600,
                "params": {"TopicId": "t"}, "destination": "lake"}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, "COURIER_SCHEDULES": json.dumps([schedule])})
    assert str(caught.value) == ("COURIER_SCHEDULES[0].destination: 'lake' is not a "
                                 "configured destination (COURIER_DESTINATIONS)")
    settings = Settings.from_env({**BASE, "COURIER_SCHEDULES": json.dumps([schedule]),
                                  SETTING: '{"lake": {"url": "s3://lake"}}'})
    assert settings.schedules[0]["destination"] == "lake"


def test_a_schedules_windows_are_checked_against_its_destinations_key_template() -> None:
    """Daily windows fit the default template (no partition placeholder) but not a
    destination that partitions by hour."""
    schedule = {"name": "daily", "provider": "cls", "every_s": 86400,
                "params": {"TopicId": "t"}, "destination": "fine"}
    fine = {"fine": {"url": "s3://lake", "key_template": "dt={dt}/hour={hour}/{file_name}"}}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, "COURIER_SCHEDULES": json.dumps([schedule]),
                           SETTING: json.dumps(fine)})
    assert str(caught.value).startswith("COURIER_DESTINATIONS[fine].key_template: schedule "
                                        "'daily': ")
    Settings.from_env({**BASE, "COURIER_SCHEDULES": json.dumps(
        [{**schedule, "destination": None}]), SETTING: json.dumps(fine)})


def test_destination_keys_are_secrets_for_the_redactor() -> None:
    settings = Settings.from_env({**BASE, SETTING: json.dumps(
        {"lake": {"url": "s3://lake", "secret_id": "AKIA1", "secret_key": "lake-secret-key",
                  "token": "lake-session-token"}})})
    assert {"lake-secret-key", "lake-session-token"} <= set(settings.secret_values())
