"""Key placeholders from the export's data, and the rule that a window fits one partition."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from shared.config import Settings
from shared.errors import ConfigError
from shared.keys import DataWindow, render_key, window_fits

HIVE = "{provider}/{source}/dt={dt}/hour={hour}/{export_id}/{file_name}"
UTC = timezone.utc


def key(template: str, window: DataWindow | None) -> str:
    return render_key(template, provider="cloudwatch", export_id="exp_1", file_name="a.gz",
                      when=datetime(2026, 12, 6, 23, 59, tzinfo=UTC), window=window)


def test_data_placeholders_come_from_the_window_in_its_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    window = DataWindow(start=datetime(2026, 11, 20, 16, tzinfo=UTC),
                        end=datetime(2026, 11, 20, 17, tzinfo=UTC), source="/aws/lambda/app",
                        account="123456789012", region="us-east-1", tz=shanghai)
    assert key(HIVE + "-{account}-{region}", window) == (
        "cloudwatch/aws_lambda_app/dt=2026-11-21/hour=00/exp_1/a.gz-123456789012-us-east-1")
    assert key("{window_start}/{window_end}/{file_name}", window) == (
        "20261121T000000+0800/20261121T010000+0800/a.gz")
    utc = DataWindow(start=window.start, end=window.end)
    assert key("{window_start}/{source}/{account}/{file_name}", utc) == (
        "20261120T160000Z/unknown/unknown/a.gz")


def test_without_a_window_the_acceptance_time_stands_in() -> None:
    assert key("dt={dt}/hour={hour}/{yyyy}{mm}{dd}{hh}/{file_name}", None) == (
        "dt=2026-12-06/hour=23/2026120623/a.gz")


@pytest.mark.parametrize(("template", "start", "end", "fits"), [
    (HIVE, (7, 0), (8, 0), True),
    (HIVE, (7, 30), (8, 0), True),
    (HIVE, (7, 30), (8, 30), False),  # an hour, but across two clock hours
    (HIVE, (7, 0), (9, 0), False),
    ("{provider}/dt={dt}/{file_name}", (0, 0), (23, 59), True),
    ("{provider}/{yyyy}/{hh}/{file_name}", (0, 0), (23, 59), True),  # clock, not data
], ids=["hour", "part-of-hour", "across-hours", "two-hours", "day", "no-data-partition"])
def test_a_window_fits_one_partition_or_is_refused(template: str, start: tuple[int, int],
                                                   end: tuple[int, int], fits: bool) -> None:
    problem = window_fits(template, datetime(2026, 11, 20, *start, tzinfo=UTC),
                          datetime(2026, 11, 20, *end, tzinfo=UTC), UTC)
    assert (problem is None) is fits
    if problem:
        assert "{hour} names one hour" in problem and "Traceback" not in problem


def schedule(**extra: object) -> str:
    return json.dumps([{"name": "cls-daily", "provider": "cls", "params": {}, **extra}])


def test_a_schedule_whose_windows_span_partitions_is_refused_at_cold_start() -> None:
    base = {"COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none", "COURIER_KEY_TEMPLATE": HIVE}
    Settings.from_env({**base, "COURIER_SCHEDULES": schedule(every_s=3600)})
    Settings.from_env({**base, "COURIER_SCHEDULES": schedule(cron="0 * * * *",
                                                             timezone="Asia/Kolkata")})
    with pytest.raises(ConfigError) as daily:
        Settings.from_env({**base, "COURIER_SCHEDULES": schedule(every_s=86400)})
    assert str(daily.value).startswith(
        "COURIER_KEY_TEMPLATE: schedule 'cls-daily': {hour} names one hour")
    with pytest.raises(ConfigError, match="unpack: must be true or false"):
        Settings.from_env({**base, "COURIER_SCHEDULES": schedule(unpack="yes")})
    with pytest.raises(ConfigError, match="COURIER_UNPACK: must be 'on' or 'off'"):
        Settings.from_env({**base, "COURIER_UNPACK": "maybe"})
