"""Exports that stopped moving: ``export.stuck``, and ``export.waiting`` told again.

Once per tick the timer hands :func:`look` the exports it claimed (every export still under
way is claimed now and then: a pending one every few minutes at most, a ready one every
:data:`~shared.poller.REDISPATCH_S`); nothing more is read. Each export keeps in
``task.watch`` the mark of its progress last seen (state, stage, progress, retry round, bytes
copied) and since when it has not changed; the tick's own save of the task writes it.

* **Stuck**: no change of the mark for :func:`stuck_after` (per provider, from
  ``COURIER_STUCK_AFTER_S`` or :data:`STUCK_AFTER_S`) raises ``export.stuck`` to the operator
  subscribers, once per stall: the delivery is keyed by the stall's number, so a tick that
  raises it twice (its save lost) queues it once. Any change of the mark ends the stall.
  Not stuck: an export waiting on a person (stage ``waiting``: a DMS ticket before its
  approval) or in line behind another (stage ``queued``: its queue's holder is the one told).
* **Waiting**: an export still waiting on a person ``COURIER_WAITING_REMIND_AFTER_S`` after
  its wait began raises ``export.waiting`` again with ``reminder: n`` to its subscribers and
  the operator's, every such interval, at most ``COURIER_WAITING_REMINDERS`` times; a wait
  found late is told once, with the number it has reached.

The mark is seen only when the tick claims the export, so "since" is when a tick first saw
it unchanged: late by at most one look.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from shared.clock import from_iso, to_iso, utcnow
from shared.config import Settings
from shared.model import ExportTask
from shared.runtime import metrics
from shared.runtime.context import export_keys
from shared.state.base import TaskStore
from shared.webhooks import delivery, notify, operator

log = logging.getLogger(__name__)

HOUR = 3600.0
# No progress for this long, per provider: how long each may sit still while it is fine (a
# CLS export queues behind the topic's others, a DLC query or a CloudWatch Logs task of a
# long window runs for hours without a progress figure); MongoDB and TCSS report progress.
STUCK_AFTER_S: dict[str, float] = {"cls": 3 * HOUR, "mongodb": 2 * HOUR, "tcss": 2 * HOUR,
                                   "dlc": 6 * HOUR, "dms": 3 * HOUR, "cloudwatch": 6 * HOUR}
DEFAULT_STUCK_AFTER_S = 3 * HOUR  # a provider not listed above
WAITING = "waiting"  # the poller's stage for an export waiting on a person
NOT_STUCK = (WAITING, "queued")


def stuck_after(settings: Settings, provider: str) -> float | None:
    """Seconds without progress after which an export of ``provider`` is stuck (None: off)."""
    given = dict(settings.notices.stuck_after_s)
    seconds = given.get(provider, given.get("*", STUCK_AFTER_S.get(provider,
                                                                    DEFAULT_STUCK_AFTER_S)))
    return seconds or None


def unknown_providers(settings: Settings, known: Iterable[str]) -> list[str]:
    """Problems naming a provider of ``COURIER_STUCK_AFTER_S`` that is not registered."""
    names = set(known)
    return [f"COURIER_STUCK_AFTER_S: unknown provider {p!r} (expected one of: "
            f"{', '.join(sorted(names))})"
            for p, _ in settings.notices.stuck_after_s if p != "*" and p not in names]


def mark(task: ExportTask) -> str:
    """What counts as progress: any change of this is some."""
    copy = task.destination.get("copy") or {}
    return json.dumps([task.state.value, task.stage, task.progress, task.round,
                       copy.get("bytes_done")], separators=(",", ":"))


def look(store: TaskStore, settings: Settings, tasks: Iterable[ExportTask],
         now: datetime | None = None) -> int:
    """Note each claimed export's progress; raise what is due. Returns events raised."""
    at = now or utcnow()
    raised = 0
    for task in tasks:
        try:
            raised += _look(store, settings, task, at)
        except Exception:  # noqa: BLE001 - a notice must never stop the tick
            log.exception("export %s: looking for a stall failed", task.id,
                          extra=export_keys(task.id, task.provider))
    return raised


def _look(store: TaskStore, settings: Settings, task: ExportTask, now: datetime) -> int:
    if task.state.terminal:
        return 0
    seen, current = task.watch, mark(task)
    since = from_iso(seen.get("since"))
    if seen.get("mark") != current or since is None:
        task.watch = {"mark": current, "since": to_iso(now),
                      "stalls": int(seen.get("stalls") or 0)}
        return 0
    still = now - since
    if task.stage == WAITING:
        return _remind(store, settings, task, since, still, now)
    limit = stuck_after(settings, task.provider)
    if task.stage in NOT_STUCK or seen.get("stuck") or limit is None or (
            still < timedelta(seconds=limit)):
        return 0
    seen["stalls"] = stall = int(seen.get("stalls") or 0) + 1
    seen["stuck"] = True
    metrics.add(metrics.EXPORTS_STUCK, provider=task.provider)
    log.warning("export %s: no progress since %s (%s, stage %s); export.stuck raised",
                task.id, to_iso(since), task.state.value, task.stage,
                extra=export_keys(task.id, task.provider))
    return int(operator.export_stuck(store, settings, task, since, stall, limit, now) > 0)


def _remind(store: TaskStore, settings: Settings, task: ExportTask, since: datetime,
            still: timedelta, now: datetime) -> int:
    every, bound = settings.notices.remind_after_s, settings.notices.reminders
    if not every or not bound:
        return 0
    n = min(int(still.total_seconds() // every), bound)
    if n <= int(task.watch.get("reminded") or 0):
        return 0
    task.watch["reminded"] = n
    urls = notify.endpoints_for(task, settings, "export.waiting")
    urls += [u for u in settings.operator_subscribers if u not in urls]
    data = notify.event_data(task, "export.waiting", waiting_data(task, since, n))
    queued = delivery.enqueue_event(store, task, "export.waiting", data, urls, now=now,
                                    repeat=n)
    log.info("export %s: waiting since %s; reminder %d queued for %d endpoint(s)", task.id,
             to_iso(since), n, len(queued), extra=export_keys(task.id, task.provider))
    return 1


def waiting_data(task: ExportTask, since: datetime, reminder: int) -> dict[str, Any]:
    order = task.remote.get("OrderId") if task.provider == "dms" else None
    return {"reason": "still waiting for approval in DMS" if order is not None
            else "still waiting on a person", "reminder": reminder,
            "waiting_since": to_iso(since), "account": task.account,
            "what_to_do": (f"have DMS ticket {order} approved (or rejected) by its approver; "
                           "the export goes on by itself once it is" if order is not None
                           else "have the provider's request decided; the export goes on "
                           "by itself"),
            "order_id": order}
