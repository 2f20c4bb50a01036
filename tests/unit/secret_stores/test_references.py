"""The reference syntax of settings that name a secret store or a file, and file settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.bundle import read_settings
from shared.errors import ConfigError
from shared.secret_stores.references import Reference, has_references, parse
from shared.secret_stores.resolve import SecretStores

BASE = {"COURIER_API_KEYS": "k" * 32}


@pytest.mark.parametrize(("setting", "raw", "expected"), [
    ("COURIER_API_KEYS", "secretsmanager:courier/api-keys",
     Reference("COURIER_API_KEYS", "secretsmanager", "courier/api-keys")),
    ("COURIER_API_KEYS", "secretsmanager:arn:aws:secretsmanager:eu-west-1:1:secret:c-AbC",
     Reference("COURIER_API_KEYS", "secretsmanager", "arn:aws:secretsmanager:eu-west-1:1:"
               "secret:c-AbC")),
    ("COURIER_WEBHOOK_SECRETS", "ssm:/courier/webhook#current",
     Reference("COURIER_WEBHOOK_SECRETS", "ssm", "/courier/webhook", field="current")),
    ("COURIER_STATE_URL", "tencent-ssm:courier-db@v3#dsn",
     Reference("COURIER_STATE_URL", "tencent-ssm", "courier-db", "v3", "dsn")),
    ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", " tencent-ssm:ali ",
     Reference("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "tencent-ssm", "ali")),
    ("COURIER_SCHEDULES", "file:config/schedules.json",
     Reference("COURIER_SCHEDULES", "file", "config/schedules.json")),
    ("TENCENTCLOUD_SECRETKEY", "secretsmanager:courier/tencent#key",
     Reference("TENCENTCLOUD_SECRETKEY", "secretsmanager", "courier/tencent", field="key")),
    # plain values stay plain: other schemes, and settings that never name a store
    ("COURIER_STATE_URL", "postgresql://u:p@db/courier", None),
    ("COURIER_API_KEYS", "plain-key", None),
    ("COURIER_DESTINATION", "ssm:/not/a/reference/here", None),
], ids=lambda v: v if isinstance(v, str) else None)
def test_reference_syntax(setting: str, raw: str, expected: Reference | None) -> None:
    assert parse(setting, raw) == expected
    if expected is not None:
        assert has_references({setting: raw})


@pytest.mark.parametrize(("setting", "raw", "problem"), [
    ("COURIER_API_KEYS", "file:keys.json", "only for JSON settings"),
    ("COURIER_SCHEDULES", "file:", "needs a path"),
    ("COURIER_API_KEYS", "secretsmanager:", "needs a secret name"),
    ("COURIER_API_KEYS", "tencent-ssm:@v1", "needs a secret name"),
    ("TENCENTCLOUD_SECRETKEY", "tencent-ssm:keys", "these keys are what reads it"),
], ids=["file-for-a-secret", "file-without-path", "no-name", "version-only", "circular"])
def test_malformed_references_stop_the_cold_start(setting: str, raw: str,
                                                  problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as caught:
        read_settings({**BASE, setting: raw})
    assert caught.value.message.startswith(f"{setting}: ")


@pytest.mark.parametrize("ttl", ["soon", "0", "90000"])
def test_a_bad_ttl_is_refused(ttl: str, tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text("[]")
    with pytest.raises(ConfigError, match="COURIER_SECRET_TTL_S"):
        read_settings({**BASE, "COURIER_SECRET_TTL_S": ttl,
                           "COURIER_SCHEDULES": f"file:{tmp_path / 's.json'}"})


SCHEDULE = {"name": "hourly", "provider": "cls", "every_s": 3600,
            "params": {"TopicId": "topic-a"}}


def test_json_settings_from_files_relative_to_the_package_root(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "schedules.json").write_text(json.dumps([SCHEDULE] * 1))
    endpoints = [{"url": "https://hooks.example.com/x", "providers": ["cls"]}]
    (tmp_path / "endpoints.json").write_text(json.dumps(endpoints))
    settings = read_settings(
        {**BASE, "COURIER_SCHEDULES": "file:config/schedules.json",
         "COURIER_WEBHOOK_ENDPOINTS": f"file:{tmp_path / 'endpoints.json'}"},
        stores=SecretStores(root=tmp_path))
    assert settings.schedules == (SCHEDULE,)
    assert settings.webhook_endpoints == tuple(endpoints)
    assert settings.refresh_at is None  # files are read once
    assert settings.resolved_secrets == ()  # and are not secrets


@pytest.mark.parametrize(("setting", "content", "problem"), [
    ("COURIER_SCHEDULES", None, "file config/x.json not found"),
    ("COURIER_SCHEDULES", "[{\"name\": ", "file config/x.json is not valid JSON (line 1)"),
    ("COURIER_SCHEDULES", "{\"name\": \"a\"}", "must be a JSON list of objects "
     "(value from file config/x.json)"),
    ("COURIER_SCHEDULES", "[{\"name\": \"a\", \"every_s\": 5}]",
     "[0].every_s: a whole number of seconds, 60 to 2678400 (value from file config/x.json)"),
    ("COURIER_WEBHOOK_ENDPOINTS", "[{\"url\": \"ftp://x\"}]",
     "[0]: needs an http(s) \"url\" (value from file config/x.json)"),
    ("COURIER_WEBHOOK_ENDPOINTS", b"\xff\xfe", "file config/x.json is not UTF-8 text"),
], ids=["missing", "not-json", "not-a-list", "bad-schedule", "bad-endpoint", "not-text"])
def test_a_bad_file_stops_the_cold_start_naming_setting_and_file(
        tmp_path: Path, setting: str, content: str | bytes | None, problem: str) -> None:
    (tmp_path / "config").mkdir()
    if isinstance(content, bytes):
        (tmp_path / "config" / "x.json").write_bytes(content)
    elif content is not None:
        (tmp_path / "config" / "x.json").write_text(content)
    with pytest.raises(ConfigError) as caught:
        read_settings({**BASE, setting: "file:config/x.json"},
                          stores=SecretStores(root=tmp_path))
    assert caught.value.message.startswith(setting)
    assert problem in caught.value.message
