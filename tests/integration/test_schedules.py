"""Schedules against the sandbox and a real state file: no window lost, none made twice."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared import schedules
from shared.bundle import Bundle
from shared.config import Settings
from shared.errors import ValidationError
from shared.runtime.events import TimerTrigger

UTC = timezone.utc
HOURLY = {"name": "cls-hourly", "provider": "cls", "every_s": 3600, "catch_up": 5,
          "params": {"TopicId": "topic-app", "From": "${window_start_ms}",
                     "To": "${window_end_ms}"}}


def bundle_with(courier_env: dict[str, str], *items: dict[str, Any]) -> Bundle:
    return Bundle(Settings.from_env({**courier_env, "COURIER_SCHEDULES": json.dumps(items)}))


def fire(b: Bundle, at: datetime, name: str = "cls-hourly") -> list[dict[str, Any]]:
    return schedules.fire(b.store(), b.providers, b.settings,
                          TimerTrigger(name, at.isoformat(), name))


def windows_made(b: Bundle) -> list[tuple[int, int]]:
    tasks = b.store().list_tasks(limit=200).items
    return sorted((t.params["From"], t.params["To"]) for t in tasks)


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def test_a_gap_in_firings_is_caught_up_oldest_first(courier_env: dict[str, str],
                                                    sandbox: Any) -> None:
    b = bundle_with(courier_env, HOURLY)
    t0 = datetime(2026, 11, 22, 10, 5, tzinfo=UTC)
    try:
        # GIVEN a schedule that fired at 10:05, then not again until 18:05 (8 windows missed)
        [first] = fire(b, t0)
        assert first["created"] and first["window_end"] == "2026-11-22T10:00:00Z"
        # WHEN it fires at 18:05, and again at 18:10
        caught = fire(b, t0 + timedelta(hours=8))
        rest = fire(b, t0 + timedelta(hours=8, minutes=5))
        # THEN the first firing makes the 5 oldest missed windows, the next one the other 3
        assert [o["window_end"][11:16] for o in caught] == ["11:00", "12:00", "13:00",
                                                            "14:00", "15:00"]
        assert [o["window_end"][11:16] for o in rest] == ["16:00", "17:00", "18:00"]
        hour = 3_600_000
        ends = [ms(datetime(2026, 11, 22, h, tzinfo=UTC)) for h in range(10, 19)]
        assert windows_made(b) == [(e - hour, e) for e in ends]  # every window, once
        # AND a trigger delivered twice finds what it made
        [again] = fire(b, t0 + timedelta(hours=8, minutes=30))
        assert not again["created"] and again["export_id"] == rest[-1]["export_id"]
        assert sandbox.calls[("cls", "CreateExport")] == 9
    finally:
        b.store().close()


def test_a_daily_schedule_follows_its_time_zone(courier_env: dict[str, str],
                                                sandbox: Any) -> None:
    daily = {**HOURLY, "name": "cls-daily", "every_s": 86400, "timezone": "Asia/Shanghai"}
    b = bundle_with(courier_env, daily)
    try:
        [made] = fire(b, datetime(2026, 11, 22, 1, 0, tzinfo=UTC), "cls-daily")
        start = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)  # 2026-11-21 00:00 in Shanghai
        assert windows_made(b) == [(ms(start), ms(start + timedelta(days=1)))]
        assert made["window_end"] == "2026-11-21T16:00:00Z"
    finally:
        b.store().close()


def test_a_cron_schedule_makes_one_export_per_fire_time(courier_env: dict[str, str],
                                                        sandbox: Any) -> None:
    twice = {**HOURLY, "name": "cls-twice", "cron": "0 9,21 * * *", "timezone": "Asia/Shanghai"}
    del twice["every_s"]
    b = bundle_with(courier_env, twice)
    try:
        fire(b, datetime(2026, 11, 22, 2, 0, tzinfo=UTC), "cls-twice")  # 10:00 local
        made = fire(b, datetime(2026, 11, 23, 2, 0, tzinfo=UTC), "cls-twice")  # next day
        # 09:00 on the 22nd, then 21:00 on the 22nd and 09:00 on the 23rd (local)
        assert [o["window_end"] for o in made] == ["2026-11-22T13:00:00Z",
                                                   "2026-11-23T01:00:00Z"]
        spans = {(t - f) // 3_600_000 for f, t in windows_made(b)}
        assert spans == {12}
    finally:
        b.store().close()


def test_backfill_makes_past_windows_once(courier_env: dict[str, str], sandbox: Any) -> None:
    b = bundle_with(courier_env, HOURLY)
    start = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    try:
        first = schedules.backfill(b.store(), b.providers, b.settings, "cls-hourly", start,
                                   start + timedelta(hours=3))
        again = schedules.backfill(b.store(), b.providers, b.settings, "cls-hourly", start,
                                   start + timedelta(hours=4))
        assert [o["created"] for o in first] == [True, True, True]
        assert [o["created"] for o in again] == [False, False, False, True]
        assert len(windows_made(b)) == 4
        with pytest.raises(ValidationError, match="no schedule"):
            schedules.backfill(b.store(), b.providers, b.settings, "nope", start,
                               start + timedelta(hours=1))
    finally:
        b.store().close()


def test_a_window_that_fails_is_made_again_before_any_later_one(
        courier_env: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    b = bundle_with(courier_env, HOURLY)
    t0 = datetime(2026, 11, 22, 10, 5, tzinfo=UTC)
    try:
        fire(b, t0)
        from shared import exports

        original = exports.accept
        monkeypatch.setattr(exports, "accept", lambda *a, **k: (_ for _ in ()).throw(
            ValidationError("params", "refused for the test")))
        [failed] = fire(b, t0 + timedelta(hours=3))
        assert failed["window_end"] == "2026-11-22T11:00:00Z" and "error" in failed
        monkeypatch.setattr(exports, "accept", original)
        made = fire(b, t0 + timedelta(hours=3, minutes=5))
        assert [o["window_end"][11:16] for o in made] == ["11:00", "12:00", "13:00"]
    finally:
        b.store().close()


def test_courier_schedules_backfill_as_a_user_runs_it(courier_env: dict[str, str],
                                                      sandbox: Any) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, **courier_env, "COURIER_SCHEDULES": json.dumps([HOURLY])}
    command = [sys.executable, "-m", "courier.cli", "schedules", "backfill", "cls-hourly",
               "--from", "2026-11-01T00:00:00Z", "--to", "2026-11-01T02:00:00Z", "--json"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert [o["created"] for o in json.loads(first.stdout)] == [True, True]
    assert "2 created, 0 already made, 0 failed" in first.stderr
    assert again.returncode == 0 and "0 created, 2 already made" in again.stderr
    bad = subprocess.run([*command[:6], "--from", "last week", "--to", "now"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr and "Traceback" not in bad.stderr
    listed = subprocess.run([sys.executable, "-m", "courier.cli", "schedules", "list",
                             "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert [s["name"] for s in json.loads(listed.stdout)] == ["cls-hourly"]
    table = subprocess.run([sys.executable, "-m", "courier.cli", "schedules", "list"],
                           env=env, capture_output=True, text=True, timeout=60)
    assert table.returncode == 0 and table.stdout.split()[:2] == ["NAME", "PROVIDER"]
    assert table.stdout.splitlines()[1].split()[:4] == ["cls-hourly", "cls", "3600", "s"]


def test_a_schedule_naming_a_destination_delivers_into_it(courier_env: dict[str, str],
                                                          sandbox: Any, tmp_path: Any) -> None:
    env = {**courier_env, "COURIER_DESTINATIONS": json.dumps(
        {"hourly-raw": {"url": f"file://{tmp_path}/hourly", "key_template":
                        "hour={hour}/{export_id}/{file_name}"}})}
    b = Bundle(Settings.from_env({**env, "COURIER_SCHEDULES": json.dumps(
        [{**HOURLY, "destination": "hourly-raw"}])}))
    try:
        [made] = fire(b, datetime.now(UTC))
        task = b.store().get_task(made["export_id"])
        assert task.destination_name == "hourly-raw"
        for _ in range(40):  # the sandbox makes the file; each tick moves the export on
            sandbox.clock.advance(5)
            b.poller.tick(deadline=time.monotonic() + 10, owner="t")
            task = b.store().get_task(made["export_id"])
            if task.state.value in ("delivered", "failed"):
                break
            time.sleep(0.3)
        assert task.state.value == "delivered", task.error
        assert task.destination["uri"].startswith(f"file://{tmp_path}/hourly/hour%3D")  # = quoted
    finally:
        b.store().close()
