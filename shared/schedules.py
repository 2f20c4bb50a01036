"""Scheduled creation: a timer creates the exports its schedules describe, window by window.

A schedule (``COURIER_SCHEDULES``, a JSON list; the forms are in :mod:`shared.windows`)::

    {"name": "cls-hourly", "provider": "cls", "every_s": 3600,
     "params": {"TopicId": "topic-…", "From": "${window_start_ms}", "To": "${window_end_ms}"},
     "subscribers": ["https://…"]}

Each schedule keeps the end of the last window it made in the state table. A firing makes
every window that ended since, oldest first (at most ``catch_up`` per firing), so a timer
that did not fire for a while (an incident, a redeploy, a disabled trigger) loses nothing.
The window's end is part of the idempotency key: a trigger delivered twice, two firings at
once, or a backfill over windows already made create each export once.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from shared import exports
from shared.clock import from_iso, to_iso, utcnow
from shared.config import Settings
from shared.errors import ConfigError, CourierError, ValidationError, VersionConflictError
from shared.packaged import converter_missing
from shared.providers import REGISTRY, Providers
from shared.runtime.events import TimerTrigger
from shared.state.base import TaskStore
from shared.state.records import Record
from shared.windows import Schedule, parse_schedules

log = logging.getLogger(__name__)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
SCHEDULE_KIND = "schedule"  # one record per schedule: the end of the last window made


def window(at: datetime, every_s: int) -> tuple[datetime, datetime]:
    """The UTC-aligned ``every_s`` window that ended at or before ``at``."""
    epoch = int(at.timestamp())
    end = datetime.fromtimestamp(epoch - epoch % every_s, tz=timezone.utc)
    return end - timedelta(seconds=every_s), end


def fill(value: Any, start: datetime, end: datetime) -> Any:
    """Replace ``${window_start_ms}``-style placeholders (numbers stay numbers)."""
    if isinstance(value, dict):
        return {k: fill(v, start, end) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, start, end) for v in value]
    if isinstance(value, str):
        numbers = {"${window_start_ms}": int(start.timestamp() * 1000),
                   "${window_end_ms}": int(end.timestamp() * 1000),
                   "${window_start_s}": int(start.timestamp()),
                   "${window_end_s}": int(end.timestamp())}
        if value in numbers:
            return numbers[value]
        return (value.replace("${window_start}", start.strftime(TIME_FORMAT))
                .replace("${window_end}", end.strftime(TIME_FORMAT)))
    return value


def fire(store: TaskStore, providers: Providers, settings: Settings,
         trigger: TimerTrigger, now: datetime | None = None) -> list[dict[str, Any]]:
    """Create the windows of the schedule(s) this trigger names (all when it names none):
    every window that ended since the schedule's last one, oldest first, at most
    ``catch_up`` of them (the rest at the next firing)."""
    wanted = str(trigger.message or "").strip() or None
    schedules = [s for s in parse_schedules(settings.schedules) if wanted in (None, s.name)]
    if wanted and not schedules:
        raise ConfigError(f"timer {trigger.name!r} names schedule {wanted!r}, which is not in "
                          "COURIER_SCHEDULES")
    try:
        at = from_iso(str(trigger.time)) if trigger.time else None
    except (ValueError, OverflowError) as exc:
        raise ValidationError("Time", "is not an ISO 8601 time") from exc
    at = at or now or utcnow()
    outcomes: list[dict[str, Any]] = []
    for schedule in schedules:
        ends = due_windows(store, schedule, at)
        for end in ends:
            outcome = create_window(store, providers, settings, schedule, end)
            outcomes.append(outcome)
            if "error" in outcome:
                break  # kept as the next window to make: nothing after it is skipped
            remember(store, schedule.name, end)
    return outcomes


def problems(settings: Settings, providers: Providers, *, params: bool = True,
             now: datetime | None = None) -> list[tuple[str, str | None]]:
    """``(schedule name, why it cannot fire or None)`` for every schedule: its provider is
    registered and has credentials; with ``params``, also in this package, and its params,
    filled in for the latest window, pass the provider's checks (that imports the provider's
    SDK: a cold start leaves it to ``courier doctor``). No call leaves the process."""
    out: list[tuple[str, str | None]] = []
    at = now or utcnow()
    for i, schedule in enumerate(parse_schedules(settings.schedules)):
        where = f"COURIER_SCHEDULES[{i}]"
        entry = REGISTRY.get(schedule.provider) if isinstance(schedule.provider, str) else None
        if entry is None:
            out.append((schedule.name, f"{where}.provider: unknown provider "
                                       f"{str(schedule.provider)[:40]!r} (expected one of: "
                                       f"{', '.join(sorted(REGISTRY))})"))
            continue
        named = settings.account(schedule.account) if schedule.account else None
        if schedule.account and named is None:
            out.append((schedule.name, f"{where}.account: {schedule.account!r} is not a "
                                       "configured account (COURIER_ACCOUNTS)"))
            continue
        if named is not None and named.vendor != entry.credentials:
            out.append((schedule.name, f"{where}.account: {schedule.account!r} is an "
                                       f"account of {named.vendor}; provider "
                                       f"{schedule.provider!r} needs one of {entry.credentials}"))
            continue
        if named is None and getattr(settings, entry.credentials) is None:
            out.append((schedule.name, f"{where}.provider: {schedule.provider!r} needs "
                                       f"{entry.credentials} credentials, which are not set"))
            continue
        out.append((schedule.name, _format_problem(schedule, where, settings) or (
            _params_problem(schedule, where, providers, at) if params else None)))
    return out


def _format_problem(schedule: Schedule, where: str, settings: Settings) -> str | None:
    if schedule.format != "parquet":
        return None
    named = schedule.destination if settings.named_destination(
        schedule.destination or "") else None  # an unknown one is refused on its own
    if not (settings.delivery(named).unpack if schedule.unpack is None else schedule.unpack):
        off = f"destination {named!r} does not unpack" if named else "COURIER_UNPACK is off"
        return (f"{where}.format: parquet converts the members of an unpacked archive; set "
                f'"unpack": true ({off})')
    missing = converter_missing()
    return f"{where}.format: {missing}" if missing else None


def _params_problem(schedule: Schedule, where: str, providers: Providers,
                    at: datetime) -> str | None:
    start, end = schedule.window(schedule.last_end(at) or at)
    try:
        providers.get(schedule.provider, schedule.account).validate(
            fill(schedule.params, start, end))
    except ValidationError as exc:
        field = exc.field.removeprefix("params.")  # the provider's own path
        return f"{where}.params.{field}: {exc.detail}" if exc.field.startswith("params") \
            else f"{where}.provider: {exc.detail}"
    except CourierError as exc:
        return f"{where}: {exc.message}"
    return None


def due_windows(store: TaskStore, schedule: Schedule, at: datetime) -> list[datetime]:
    """Ends of the windows to create now: those after the last one made, oldest first,
    bounded by ``catch_up``; the latest one alone when none was made yet (or none is new:
    a trigger delivered twice then finds the export it made)."""
    latest = schedule.last_end(at)
    if latest is None:
        return []
    rec = store.get_record(SCHEDULE_KIND, schedule.name)
    last = from_iso(rec.data.get("last_end")) if rec and rec.data.get("last_end") else None
    if last is None or last >= latest:
        return [latest]
    missed = list(itertools.islice(schedule.ends(last, at), schedule.catch_up))
    if len(missed) == schedule.catch_up and missed[-1] < latest:
        log.warning("schedule %s is %s behind; catching up %d windows per firing",
                    schedule.name, latest - missed[-1], schedule.catch_up)
    return missed


def create_window(store: TaskStore, providers: Providers, settings: Settings,
                  schedule: Schedule, end: datetime) -> dict[str, Any]:
    """The export of one window, made once (the window end is in its idempotency key)."""
    start, end = schedule.window(end)
    body = {"provider": schedule.provider, "params": fill(schedule.params, start, end),
            "subscribers": schedule.subscribers}
    if schedule.unpack is not None:
        body["unpack"] = schedule.unpack
    if schedule.destination is not None:
        body["destination"] = schedule.destination
    if schedule.account is not None:
        body["account"] = schedule.account
    if schedule.format is not None:
        body["format"] = schedule.format
    key = f"schedule:{schedule.name}:{end.isoformat()}"
    made_for = {"start": to_iso(start), "end": to_iso(end), "tz": schedule.tz.key}
    try:
        accepted = exports.accept(store, providers, body, idempotency_key=key,
                                  owner=f"schedule:{schedule.name}",
                                  poll_interval_s=settings.poll_interval_s, window=made_for)
    except CourierError as exc:
        log.error("schedule %s, window ending %s: %s", schedule.name, to_iso(end), exc)
        return {"schedule": schedule.name, "window_end": to_iso(end), "error": str(exc)}
    return {"schedule": schedule.name, "window_end": to_iso(end),
            "export_id": accepted.task.id, "created": accepted.created,
            "state": accepted.task.state.value}


def remember(store: TaskStore, name: str, end: datetime) -> None:
    """Record ``end`` as the schedule's last window, unless a later one is recorded."""
    for _ in range(5):
        rec = store.get_record(SCHEDULE_KIND, name)
        now = utcnow()
        if rec is None:
            new = Record(kind=SCHEDULE_KIND, id=name, key=None, state="active", ref=None,
                         version=0, due_at=None, lease_owner=None, lease_until=None,
                         created_at=now, updated_at=now, data={"last_end": to_iso(end)})
            if store.put_record(new)[1]:
                return
            continue
        last = from_iso(rec.data.get("last_end")) if rec.data.get("last_end") else None
        if last is not None and last >= end:
            return
        try:
            store.update_record(replace(rec, data={**rec.data, "last_end": to_iso(end)}))
            return
        except VersionConflictError:
            continue
    log.warning("schedule %s: could not record its last window (busy); the next firing "
                "finds the exports it already made", name)


def backfill(store: TaskStore, providers: Providers, settings: Settings, name: str,
             start: datetime, end: datetime, *, limit: int = 1000) -> list[dict[str, Any]]:
    """Create every window of schedule ``name`` that ends in ``(start, end]``, oldest first,
    idempotently (a window already made is found, not made again)."""
    found = [s for s in parse_schedules(settings.schedules) if s.name == name]
    if not found:
        raise ValidationError("schedule", f"no schedule named {name!r} in COURIER_SCHEDULES")
    if end <= start:
        raise ValidationError("to", "must be after from")
    ends = list(itertools.islice(found[0].ends(start, end), limit + 1))
    if len(ends) > limit:
        raise ValidationError("from", f"the range holds more than {limit} windows; "
                              "backfill it in parts")
    return [create_window(store, providers, settings, found[0], e) for e in ends]
