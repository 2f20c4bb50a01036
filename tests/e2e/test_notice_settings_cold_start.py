"""A chat bot named but not configured, or a provider of COURIER_STUCK_AFTER_S or of an
endpoint's filter that does not exist, stops the function at cold start with a message
naming it (not at the first event)."""

from __future__ import annotations

import json

import pytest

from functions import common
from shared.errors import ConfigError

SCHEDULE = [{"name": "nightly", "provider": "cls", "every_s": 86400,
             "params": {"TopicId": "topic-app"}, "subscribers": ["chat:night-shift"]}]


@pytest.mark.parametrize(("name", "value", "problem"), [
    ("COURIER_WEBHOOK_URLS", "chat:team",
     r"COURIER_WEBHOOK_URLS: chat:team names no bot of COURIER_CHAT_BOTS"),
    ("COURIER_OPERATOR_SUBSCRIBERS", "chat:ops",
     r"COURIER_OPERATOR_SUBSCRIBERS: chat:ops names no bot of COURIER_CHAT_BOTS"),
    ("COURIER_SCHEDULES", json.dumps(SCHEDULE),
     r"COURIER_SCHEDULES\[0\]\.subscribers: chat:night-shift names no bot of "
     r"COURIER_CHAT_BOTS"),
    ("COURIER_STUCK_AFTER_S", "10800,clss=3600",
     r"COURIER_STUCK_AFTER_S: unknown provider 'clss'"),
    ("COURIER_WEBHOOK_ENDPOINTS", json.dumps([{"url": "https://hooks.example.com/x",
                                              "providers": ["dsm"]}]),
     r"COURIER_WEBHOOK_ENDPOINTS\[0\]\.providers: unknown provider 'dsm'"),
], ids=["webhook-urls", "operators", "schedule", "stuck-provider", "endpoint-provider"])
def test_a_name_that_is_not_configured_stops_the_cold_start(
        handlers_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, name: str, value: str,
        problem: str) -> None:
    monkeypatch.setenv(name, value)
    common.reset()
    with pytest.raises(ConfigError, match=problem):
        common.bundle()
