"""Scheduled creation: a cron trigger creates the exports its schedule describes.

A schedule (``COURIER_SCHEDULES``, a JSON list) looks like::

    {"name": "cls-hourly", "provider": "cls", "every_s": 3600,
     "params": {"TopicId": "topic-…", "From": "${window_start_ms}", "To": "${window_end_ms}"},
     "subscribers": ["https://…"]}

Each firing covers the window ``[end - every_s, end)`` where ``end`` is the trigger time
rounded down to ``every_s``. The window is part of the idempotency key, so a trigger
delivered twice (triggers are at-least-once) creates one export.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from shared import exports
from shared.clock import from_iso, utcnow
from shared.config import Settings
from shared.errors import ConfigError, CourierError
from shared.providers import Providers
from shared.runtime.events import TimerTrigger
from shared.state.base import TaskStore

log = logging.getLogger(__name__)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def window(at: datetime, every_s: int) -> tuple[datetime, datetime]:
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
    """Create the exports of the schedule(s) this trigger names (all when it names none)."""
    wanted = (trigger.message or "").strip() or None
    schedules = [s for s in settings.schedules if wanted in (None, s.get("name"))]
    if wanted and not schedules:
        raise ConfigError(f"timer {trigger.name!r} names schedule {wanted!r}, which is not in "
                          "COURIER_SCHEDULES")
    at = from_iso(trigger.time) if trigger.time else None
    at = at or now or utcnow()
    outcomes: list[dict[str, Any]] = []
    for schedule in schedules:
        name = str(schedule.get("name") or "")
        every = int(schedule.get("every_s") or 3600)
        start, end = window(at, every)
        body = {"provider": schedule.get("provider"),
                "params": fill(schedule.get("params") or {}, start, end),
                "subscribers": schedule.get("subscribers") or []}
        key = f"schedule:{name}:{end.isoformat()}"
        try:
            accepted = exports.accept(store, providers, body, idempotency_key=key,
                                      owner=f"schedule:{name}",
                                      poll_interval_s=settings.poll_interval_s)
        except CourierError as exc:
            log.error("schedule %s: %s", name, exc)
            outcomes.append({"schedule": name, "error": str(exc)})
            continue
        outcomes.append({"schedule": name, "export_id": accepted.task.id,
                         "created": accepted.created, "state": accepted.task.state.value})
    return outcomes
