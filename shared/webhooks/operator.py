"""Events the operator must hear, sent to ``COURIER_OPERATOR_SUBSCRIBERS`` (URLs or chat bots).

* ``endpoint.disabled`` — an endpoint was disabled (410 Gone, or failing for too long); sent
  to every operator subscriber but that endpoint itself;
* ``endpoint.recovered`` — a disabled endpoint, re-enabled, took its first delivery again;
* ``delivery.dead_lettered`` — a delivery used up its retry schedule; not raised for operator
  events themselves, so a broken operator channel cannot feed on itself;
* ``export.stuck`` — an export made no progress for its provider's time
  (:mod:`shared.webhooks.watch` finds it; ``export.waiting`` reminders are raised there too,
  to the export's subscribers and the operator's).

They travel as any webhook does (one delivery per subscriber, signed, retried, listed); the
delivery's ``task_id`` names what the event is about (``endpoint_…``, the dead ``msg_…`` or
the stuck ``exp_…``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from shared import netguard
from shared.clock import to_iso
from shared.config import Settings
from shared.model import DeliveryState, ExportTask, WebhookDelivery
from shared.state.base import TaskStore
from shared.webhooks.endpoints import endpoint_id, get_endpoint

log = logging.getLogger(__name__)

ENDPOINT_DISABLED = "endpoint.disabled"
ENDPOINT_RECOVERED = "endpoint.recovered"
DEAD_LETTERED = "delivery.dead_lettered"
EXPORT_STUCK = "export.stuck"
OPERATOR_EVENTS = (ENDPOINT_DISABLED, ENDPOINT_RECOVERED, DEAD_LETTERED, EXPORT_STUCK)


def shown(url: str) -> str:
    """An endpoint as an operator may see it: ``chat:<name>``, or the URL without secrets."""
    return netguard.redact_url(url)


def endpoint_disabled(store: TaskStore, settings: Settings, url: str, reason: str,
                      now: datetime) -> int:
    data = {"endpoint": shown(url), "endpoint_id": endpoint_id(url), "reason": reason,
            "disabled_at": to_iso(now),
            "what_to_do": "Fix the receiver, then re-enable it and send what it missed: "
                          "courier endpoints recover <endpoint> --since <time>"}
    return _raise(store, settings, ENDPOINT_DISABLED, f"endpoint_{endpoint_id(url)[:24]}",
                  int(now.timestamp()), data, url, now)


def endpoint_recovered(store: TaskStore, settings: Settings, url: str,
                       re_enabled_at: datetime, now: datetime) -> int:
    data = {"endpoint": shown(url), "endpoint_id": endpoint_id(url),
            "re_enabled_at": to_iso(re_enabled_at), "recovered_at": to_iso(now)}
    return _raise(store, settings, ENDPOINT_RECOVERED, f"endpoint_{endpoint_id(url)[:24]}",
                  int(now.timestamp()), data, url, now)


def dead_lettered(store: TaskStore, settings: Settings, dead: WebhookDelivery,
                  error: str | None, now: datetime) -> int:
    if dead.event_type in OPERATOR_EVENTS:
        return 0
    data = {"delivery_id": dead.id, "export_id": dead.task_id, "event_type": dead.event_type,
            "endpoint": shown(dead.endpoint), "attempts": len(dead.attempts),
            "last_error": error,
            "what_to_do": "Check the receiver, then send it again: "
                          f"courier deliveries resend {dead.id}"}
    return _raise(store, settings, DEAD_LETTERED, dead.id, len(dead.attempts), data,
                  dead.endpoint, now)


def export_stuck(store: TaskStore, settings: Settings, task: ExportTask, since: datetime,
                 stall: int, after_s: float, now: datetime) -> int:
    """``export.stuck`` for the ``stall``-th stall of ``task`` (one delivery per stall)."""
    error = task.error or {}
    data = {"export_id": task.id, "provider": task.provider, "state": task.state.value,
            "stage": task.stage, "progress": task.progress, "account": task.account,
            "stalled_since": to_iso(since), "stuck_after_s": int(after_s), "stall": stall,
            "last_error": error.get("reason"),
            "what_to_do": f"See where it is: courier exports get {task.id} (and the "
                          "provider's console). If the provider lost it, cancel it "
                          f"(courier exports cancel {task.id}) and create it again; if it "
                          "is only slow, raise COURIER_STUCK_AFTER_S for "
                          f"{task.provider}"}
    if task.round:
        data["round"] = task.round
    data = {k: v for k, v in data.items() if v is not None}
    return _raise(store, settings, EXPORT_STUCK, task.id, task.round, data, "", now,
                  repeat=stall)


def _raise(store: TaskStore, settings: Settings, event_type: str, about: str, round_: int,
           data: dict[str, Any], exclude: str, now: datetime, repeat: int = 0) -> int:
    payload = {"type": event_type, "timestamp": to_iso(now), "data": data}
    queued = 0
    for url in settings.operator_subscribers:
        if url == exclude:
            continue
        health = get_endpoint(store, url)
        off = health is not None and health.disabled
        delivery = WebhookDelivery(
            task_id=about, endpoint=url, event_type=event_type, payload=payload, round=round_,
            repeat=repeat,
            state=DeliveryState.DISABLED if off else DeliveryState.PENDING,
            due_at=None if off else now, created_at=now, updated_at=now)
        _, created = store.insert_delivery(delivery)
        queued += int(created)
    if queued:
        log.info("%s (%s) queued for %d operator subscriber(s)", event_type, about, queued)
    return queued
