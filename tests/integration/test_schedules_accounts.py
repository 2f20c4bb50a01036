"""A schedule naming an account makes its windows' exports in that account (its role's keys,
its region); one naming an unknown account, or an account of another cloud, stops the
function at its cold start with a ConfigError naming it."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from shared import schedules
from shared.bundle import Bundle
from shared.config import Settings
from shared.errors import ConfigError
from shared.runtime.events import TimerTrigger

OTHER = "100000000002"
ROLE = f"qcs::cam::uin/{OTHER}:roleName/courier-export"
ACCOUNTS = {"sh": {"vendor": "tencent", "region": "ap-shanghai", "role": ROLE},
            "hz": {"vendor": "alibaba", "region": "cn-hangzhou"}}
HOURLY = {"name": "second-hourly", "provider": "cls", "every_s": 3600, "account": "sh",
          "params": {"TopicId": "topic-second", "From": "${window_start_ms}",
                     "To": "${window_end_ms}"}}


def bundle_with(courier_env: dict[str, str], *items: dict[str, Any]) -> Bundle:
    return Bundle(Settings.from_env({**courier_env, "COURIER_ACCOUNTS": json.dumps(ACCOUNTS),
                                     "COURIER_SCHEDULES": json.dumps(items)}))


def test_a_schedules_windows_are_made_in_its_account(courier_env: dict[str, str],
                                                    sandbox: Any) -> None:
    sandbox.add_account(OTHER, roles=[(ROLE, None)], topics=["topic-second"])
    b = bundle_with(courier_env, HOURLY)
    try:
        b.startup_checks()
        at = datetime(2026, 11, 22, 10, 5, tzinfo=timezone.utc)
        [made] = schedules.fire(b.store(), b.providers, b.settings,
                                TimerTrigger("second-hourly", at.isoformat(), "second-hourly"))
        assert made["created"] and made["state"] == "submitted", made
        assert b.store().get_task(made["export_id"]).account == "sh"
        assert sandbox.calls[("sts", "AssumeRole")] == 1
    finally:
        b.store().close()


@pytest.mark.parametrize(("account", "named"), [
    ("nowhere", "COURIER_SCHEDULES[0].account: 'nowhere' is not a configured account"),
    ("hz", "COURIER_SCHEDULES[0].account: 'hz' is an account of alibaba"),
], ids=["unknown", "other-cloud"])
def test_a_schedule_naming_a_wrong_account_stops_the_cold_start(
        courier_env: dict[str, str], account: str, named: str) -> None:
    b = bundle_with(courier_env, {**HOURLY, "account": account})
    try:
        with pytest.raises(ConfigError) as caught:
            b.startup_checks()
        assert named in caught.value.message
    finally:
        b.store().close()


def test_an_account_without_keys_to_reach_it_stops_the_cold_start(
        courier_env: dict[str, str]) -> None:
    env = {k: v for k, v in courier_env.items() if not k.startswith("ALIBABA_CLOUD_")}
    b = Bundle(Settings.from_env({**env, "COURIER_ACCOUNTS": json.dumps(ACCOUNTS)}))
    try:
        with pytest.raises(ConfigError) as caught:
            b.startup_checks()
        assert caught.value.message.startswith("COURIER_ACCOUNTS[hz]: give secret_id")
    finally:
        b.store().close()
