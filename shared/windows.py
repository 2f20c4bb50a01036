"""Schedules and their time windows: ``every_s`` or a 5-field cron expression, in a time zone.

A schedule (one item of ``COURIER_SCHEDULES``)::

    {"name": "cls-nightly", "provider": "cls", "cron": "0 0 * * *", "timezone": "Asia/Shanghai",
     "params": {"TopicId": "…", "From": "${window_start_ms}", "To": "${window_end_ms}"}}

A schedule fires at the ends of its windows: with ``every_s``, at the local times that are a
whole number of ``every_s`` after local midnight of 1970-01-01 (so 86400 means local
midnight); with ``cron``, at the times the expression names (minute hour day-of-month month
day-of-week; ``*``, lists, ranges and ``/steps``; month and weekday names; Sunday is 0 or 7;
when both day fields are restricted, either may match, as in cron). A window runs from the
fire time before to this one. Time zones are IANA names (default UTC).

Nothing here touches the state table: :mod:`shared.schedules` decides which windows to make.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import ConfigError
from shared.keys import window_fits
from shared.model import FORMATS

SETTING = "COURIER_SCHEDULES"
DEFAULT_CATCH_UP = 24  # windows one firing creates at most; the rest at the next firing
MAX_SEARCH_DAYS = 366 * 5  # a cron expression that never fires within this is refused
FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12),
          ("weekday", 0, 7))
NAMES = {
    "month": ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
              "DEC"],
    "weekday": ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
}
KNOWN_KEYS = {"name", "provider", "params", "subscribers", "every_s", "cron", "timezone",
              "catch_up", "unpack", "destination", "account", "format"}


@dataclass(frozen=True)
class Cron:
    """A parsed 5-field cron expression."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day-of-month is "*"
    any_weekday: bool  # day-of-week is "*"

    @classmethod
    def parse(cls, text: str) -> Cron:
        parts = str(text).split()
        if len(parts) != 5:
            raise ValueError("a cron expression has 5 fields: minute hour day month weekday")
        sets = [_field(part, name, low, high) for part, (name, low, high) in zip(parts, FIELDS)]
        weekdays = frozenset(d % 7 for d in sets[4])
        return cls(text, sets[0], sets[1], sets[2], sets[3], weekdays,
                   parts[2] == "*", parts[4] == "*")

    def day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = (day.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return by_day and by_weekday
        return by_day or by_weekday


def _field(part: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for item in part.split(","):
        body, _, step_text = item.partition("/")
        step = _number(step_text, name) if step_text else 1
        if step < 1:
            raise ValueError(f"{name}: step must be at least 1")
        if body == "*":
            first, last = low, high
        elif "-" in body:
            a, _, b = body.partition("-")
            first, last = _number(a, name), _number(b, name)
        else:
            first = _number(body, name)
            last = high if step_text else first
        if not low <= first <= last <= high:
            raise ValueError(f"{name}: {item!r} is outside {low}-{high}")
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _number(text: str, name: str) -> int:
    if text.isdigit():
        return int(text)
    names = NAMES.get(name)
    if names and text.upper() in names:
        return names.index(text.upper()) + (1 if name == "month" else 0)
    raise ValueError(f"{name}: {text!r} is not a number")


@dataclass(frozen=True)
class Schedule:
    name: str
    provider: Any
    params: dict[str, Any]
    subscribers: list[Any]
    tz: ZoneInfo
    every_s: int | None = None
    cron: Cron | None = None
    catch_up: int = DEFAULT_CATCH_UP
    unpack: bool | None = None  # None: the destination's setting (COURIER_UNPACK)
    destination: str | None = None  # a named destination (COURIER_DESTINATIONS); None: default
    account: str | None = None  # a named account (COURIER_ACCOUNTS); None: the deployment's
    format: str | None = None  # gzip | parquet; None: the destination's (COURIER_FORMAT)
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # ---------------------------------------------------------------- fire times
    def ends(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """Fire times ``t`` with ``after < t <= until``, oldest first (UTC)."""
        t = self.next_end(after)
        while t is not None and t <= until:
            yield t
            t = self.next_end(t)

    def next_end(self, after: datetime) -> datetime | None:
        """The first fire time strictly after ``after``."""
        if self.every_s is not None:
            local = after.astimezone(self.tz)
            offset = local.utcoffset() or timedelta(0)
            wall = int(after.timestamp() + offset.total_seconds())
            nxt = wall - wall % self.every_s + self.every_s
            candidate = datetime.fromtimestamp(nxt - offset.total_seconds(), tz=timezone.utc)
            return candidate if candidate > after else candidate + timedelta(
                seconds=self.every_s)
        assert self.cron is not None
        local = after.astimezone(self.tz)
        day = local.date()
        for _ in range(MAX_SEARCH_DAYS):
            if self.cron.day_matches(day):
                for hour in sorted(self.cron.hours):
                    for minute in sorted(self.cron.minutes):
                        at = datetime.combine(day, time(hour, minute), tzinfo=self.tz)
                        utc = at.astimezone(timezone.utc)
                        if utc > after:
                            return utc
            day += timedelta(days=1)
        return None

    def last_end(self, at: datetime) -> datetime | None:
        """The latest fire time at or before ``at``."""
        step = timedelta(seconds=self.every_s) if self.every_s else timedelta(days=1)
        probe = at - step
        for _ in range(MAX_SEARCH_DAYS):
            ends = list(self.ends(probe, at))
            if ends:
                return ends[-1]
            probe -= step
        return None

    def window(self, end: datetime) -> tuple[datetime, datetime]:
        """The window that ends at the fire time ``end``."""
        if self.every_s is not None:
            return end - timedelta(seconds=self.every_s), end
        start = self.last_end(end - timedelta(seconds=1))
        return (start or end - timedelta(days=1)), end


def parse_schedules(items: Any) -> list[Schedule]:
    """Every schedule checked; ConfigError naming ``COURIER_SCHEDULES[i].field``."""
    out: list[Schedule] = []
    names: set[str] = set()
    for i, item in enumerate(items or ()):
        where = f"{SETTING}[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be a JSON object")
        unknown = set(item) - KNOWN_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown field {sorted(unknown)[0]!r}")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{where}.name: required, a non-empty string")
        if name in names:
            raise ConfigError(f"{where}.name: {name!r} is used twice")
        names.add(name)
        every, cron_text = item.get("every_s"), item.get("cron")
        if every is not None and cron_text is not None:
            raise ConfigError(f"{where}: give every_s or cron, not both")
        if every is None and cron_text is None:
            every = 3600  # hourly, the default since schedules began
        cron = None
        if every is not None and (isinstance(every, bool) or not isinstance(every, int)
                                  or not 60 <= every <= 31 * 86400):
            raise ConfigError(f"{where}.every_s: a whole number of seconds, 60 to 2678400")
        if cron_text is not None:
            try:
                cron = Cron.parse(cron_text)
            except ValueError as exc:
                raise ConfigError(f"{where}.cron: {exc}") from None
        tz_name = item.get("timezone", "UTC")
        try:
            tz = ZoneInfo(str(tz_name))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{where}.timezone: {tz_name!r} is not an IANA time zone "
                              "(e.g. Asia/Shanghai)") from None
        catch_up = item.get("catch_up", DEFAULT_CATCH_UP)
        if isinstance(catch_up, bool) or not isinstance(catch_up, int) or not 1 <= catch_up <= 1000:
            raise ConfigError(f"{where}.catch_up: a whole number, 1 to 1000")
        if not isinstance(item.get("params", {}), dict):
            raise ConfigError(f"{where}.params: must be a JSON object")
        if not isinstance(item.get("unpack", False), bool):
            raise ConfigError(f"{where}.unpack: must be true or false")
        destination = item.get("destination")
        if destination is not None and (not isinstance(destination, str) or not destination):
            raise ConfigError(f"{where}.destination: must be the name of a destination of "
                              "COURIER_DESTINATIONS")
        account = item.get("account")
        if account is not None and (not isinstance(account, str) or not account):
            raise ConfigError(f"{where}.account: must be the name of an account of "
                              "COURIER_ACCOUNTS")
        if item.get("format", "gzip") not in FORMATS:
            raise ConfigError(f"{where}.format: must be 'gzip' or 'parquet'")
        if not isinstance(item.get("subscribers", []), list):
            raise ConfigError(f"{where}.subscribers: must be a list of URLs")
        schedule = Schedule(name=name, provider=item.get("provider"),
                            params=dict(item.get("params") or {}),
                            subscribers=list(item.get("subscribers") or []), tz=tz,
                            every_s=every, cron=cron, catch_up=catch_up,
                            unpack=item.get("unpack"), destination=destination,
                            account=account, format=item.get("format"), raw=item)
        if cron is not None and schedule.next_end(datetime(2026, 1, 1, tzinfo=timezone.utc)) \
                is None:
            raise ConfigError(f"{where}.cron: {cron_text!r} never fires")
        out.append(schedule)
    return out


def check_schedules(schedules: list[Schedule],
                    template_of: Callable[[str | None], tuple[str, str] | None]) -> None:
    """Each schedule's destination exists, and its windows each fit in one partition of that
    destination's key template (:func:`shared.keys.window_fits`; two days of windows are
    looked at). ``template_of(name)``: (the setting holding the template, the template) of
    destination ``name`` (None: the deployment's own), None for an unknown one."""
    for i, schedule in enumerate(schedules):
        found = template_of(schedule.destination)
        if found is None:
            raise ConfigError(f"{SETTING}[{i}].destination: {schedule.destination!r} is not "
                              "a configured destination (COURIER_DESTINATIONS)")
        setting, template = found
        end = schedule.next_end(datetime(2026, 1, 1, tzinfo=timezone.utc))
        for _ in range(48 if end is not None else 0):
            assert end is not None
            start, end = schedule.window(end)
            problem = window_fits(template, start, end, schedule.tz)
            if problem:
                raise ConfigError(f"{setting}: schedule {schedule.name!r}: {problem}")
            end = schedule.next_end(end)
            if end is None:
                break
