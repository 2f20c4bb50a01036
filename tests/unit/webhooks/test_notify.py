from __future__ import annotations

import json

import pytest

from shared.config import Settings
from shared.errors import ConfigError
from shared.model import ExportTask
from shared.webhooks.notify import endpoints_for

ENDPOINTS = [
    {"url": "https://ops.example.com/all"},
    {"url": "https://ops.example.com/failures", "events": ["export.failed"]},
    {"url": "https://dl.example.com/cls", "events": ["export.delivered"], "providers": ["cls"]},
]


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env({"COURIER_API_KEYS": "k" * 32,
                              "COURIER_WEBHOOK_URLS": "https://ops.example.com/all",
                              "COURIER_WEBHOOK_ENDPOINTS": json.dumps(ENDPOINTS)})


@pytest.mark.parametrize(("provider", "event", "expected"), [
    ("cls", "export.delivered", ["https://own.example.com/h", "https://ops.example.com/all",
                                 "https://dl.example.com/cls"]),
    ("cls", "export.failed", ["https://own.example.com/h", "https://ops.example.com/all",
                              "https://ops.example.com/failures"]),
    ("tcss", "export.delivered", ["https://own.example.com/h", "https://ops.example.com/all"]),
], ids=["cls-delivered", "cls-failed", "tcss-delivered"])
def test_default_endpoints_are_filtered_by_event_and_provider(
        settings: Settings, provider: str, event: str, expected: list[str]) -> None:
    task = ExportTask(provider=provider, params={}, subscribers=["https://own.example.com/h"])
    assert endpoints_for(task, settings, event) == expected


@pytest.mark.parametrize("raw", ['{"url": "x"}', '[{"url": "ftp://x"}]',
                                 '[{"url": "https://x", "events": "export.failed"}]',
                                 '[{"url": "https://x", "secret": "s"}]', "not json"])
def test_bad_endpoint_lists_fail_at_cold_start(raw: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"COURIER_API_KEYS": "k" * 32, "COURIER_WEBHOOK_ENDPOINTS": raw})
    assert "COURIER_WEBHOOK_ENDPOINTS" in str(err.value)
