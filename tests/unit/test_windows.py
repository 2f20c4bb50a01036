"""Schedule windows: every_s and cron, aligned to a time zone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from shared.errors import ConfigError
from shared.windows import Cron, parse_schedules

UTC = timezone.utc


def one(**item: object) -> object:
    [schedule] = parse_schedules([{"name": "s", "provider": "cls", **item}])
    return schedule


def test_daily_windows_align_to_local_midnight() -> None:
    s = one(every_s=86400, timezone="Asia/Shanghai")
    at = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
    end = s.last_end(at)  # type: ignore[attr-defined]
    assert end == datetime(2026, 11, 21, 16, 0, tzinfo=UTC)  # 00:00 on the 22nd, UTC+8
    assert s.window(end) == (end - timedelta(days=1), end)  # type: ignore[attr-defined]


def test_hourly_every_s_in_utc_is_the_plain_hour() -> None:
    s = one(every_s=3600)
    at = datetime(2026, 11, 22, 10, 17, 5, tzinfo=UTC)
    assert s.last_end(at) == datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # type: ignore[attr-defined]


def test_cron_fires_at_named_local_times() -> None:
    s = one(cron="30 2 * * MON-FRI", timezone="Asia/Shanghai")
    after = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # a Friday, 08:00 in Shanghai
    ends = list(s.ends(after, after + timedelta(days=7)))  # type: ignore[attr-defined]
    local = [e.astimezone(s.tz) for e in ends]  # type: ignore[attr-defined]
    assert [d.strftime("%a %H:%M") for d in local] == [
        "Mon 02:30", "Tue 02:30", "Wed 02:30", "Thu 02:30", "Fri 02:30"]
    start, end = s.window(ends[0])  # type: ignore[attr-defined]
    assert end - start == timedelta(days=3)  # from the Friday before to the Monday


def test_cron_day_fields_match_either_when_both_are_given() -> None:
    cron = Cron.parse("0 0 1 * SUN")
    assert cron.day_matches(datetime(2026, 11, 1).date())  # the 1st (a Sunday too)
    assert cron.day_matches(datetime(2026, 11, 8).date())  # a Sunday
    assert cron.day_matches(datetime(2026, 12, 1).date())  # the 1st, a Tuesday
    assert not cron.day_matches(datetime(2026, 12, 2).date())


def test_cron_steps_lists_and_sunday_as_seven() -> None:
    cron = Cron.parse("*/15 0,12 * * 7")
    assert cron.minutes == {0, 15, 30, 45} and cron.hours == {0, 12}
    assert cron.weekdays == {0}


@pytest.mark.parametrize(("item", "problem"), [
    ({"cron": "0 0 * *"}, "5 fields"),
    ({"cron": "61 0 * * *"}, "minute"),
    ({"cron": "0 0 31 2 *"}, "never fires"),
    ({"cron": "0 0 * * *", "every_s": 3600}, "not both"),
    ({"every_s": 10}, "every_s"),
    ({"every_s": 3600, "timezone": "Mars/Olympus"}, "timezone"),
    ({"every_s": 3600, "catch_up": 0}, "catch_up"),
    ({"every_s": 3600, "when": "daily"}, "unknown field"),
])
def test_bad_schedules_are_refused_naming_the_field(item: dict, problem: str) -> None:
    with pytest.raises(ConfigError, match=r"COURIER_SCHEDULES\[0\]") as caught:
        parse_schedules([{"name": "s", "provider": "cls", **item}])
    assert problem in str(caught.value)


def test_schedule_names_are_unique() -> None:
    with pytest.raises(ConfigError, match="used twice"):
        parse_schedules([{"name": "a", "every_s": 3600}, {"name": "a", "every_s": 60}])
