"""Glue between task state changes and webhook deliveries (``shared.webhooks.delivery``).

Subscribers of an event are the export's own (from its create request) plus the deployment's
default endpoints. Event payloads carry what a subscriber acts on and nothing secret.

Every export that was accepted ends in exactly one of ``export.delivered``, ``export.failed``
(refused at create or when the timer submits it, failed at the provider, copy failed for good;
with the reason) or ``export.cancelled``, once per retry round; a duplicate event for one
export, endpoint and round is a no-op (the delivery key).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from shared.config import Settings
from shared.model import ExportTask
from shared.runtime import metrics
from shared.runtime.context import export_keys
from shared.setting_values import DEFAULT_ACCOUNT
from shared.state.base import TaskStore
from shared.webhooks import delivery

log = logging.getLogger(__name__)


def endpoints_for(task: ExportTask, settings: Settings, event_type: str) -> list[str]:
    """The export's own subscribers, the default ones, and the filtered default ones whose
    ``events`` / ``providers`` / ``accounts`` lists (when given) include this event, provider
    and account (``"default"``: the deployment's own, an export naming none)."""
    urls = [*task.subscribers, *settings.webhook_urls]
    account = task.account or DEFAULT_ACCOUNT
    for endpoint in settings.webhook_endpoints:
        events, providers = endpoint.get("events"), endpoint.get("providers")
        accounts = endpoint.get("accounts")
        if (events is None or event_type in events) and (
                providers is None or task.provider in providers) and (
                accounts is None or account in accounts):
            urls.append(endpoint["url"])
    seen: list[str] = []
    for url in urls:
        if url not in seen:
            seen.append(url)
    return seen


def unknown_providers(settings: Settings, known: Iterable[str]) -> list[str]:
    """Problems naming a ``providers`` entry of COURIER_WEBHOOK_ENDPOINTS not registered."""
    names = set(known)
    return [f"COURIER_WEBHOOK_ENDPOINTS[{i}].providers: unknown provider {p!r} (expected one "
            f"of: {', '.join(sorted(names))})"
            for i, e in enumerate(settings.webhook_endpoints)
            for p in e.get("providers") or () if p not in names]


def event_data(task: ExportTask, event_type: str, extra: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"export_id": task.id, "provider": task.provider,
                            "state": task.state.value}
    if task.round:  # after a retry: which round this event belongs to
        data["round"] = task.round
    if task.account:  # a named account (none: the deployment's own)
        data["account"] = task.account
    if event_type == "export.delivered":
        data.update({k: task.destination.get(k) for k in ("uri", "key", "size", "md5")})
        copy = task.destination.get("copy") or {}
        for k in ("duration_s", "throughput_mb_s"):
            if copy.get(k) is not None:
                data[k] = copy[k]
        if task.result.get("file_name"):
            data["file_name"] = task.result["file_name"]
        if task.destination.get("protection"):  # the write options, checked on each object
            data["protection"] = task.destination["protection"]
        if task.destination_name:  # a named destination (absent: the deployment's own)
            data["destination"] = task.destination_name
    elif event_type == "export.failed":
        error = task.error or {}
        data.update({"reason": error.get("reason"), "code": error.get("code"),
                     "retryable": bool(error.get("retryable"))})
    elif event_type == "export.cancelled":
        data["reason"] = "cancelled through the API"
    data.update({k: v for k, v in extra.items() if v is not None})
    return data


def notify(store: TaskStore, settings: Settings, task: ExportTask, event_type: str,
           extra: dict[str, Any] | None = None, now: datetime | None = None) -> int:
    """Queue ``event_type`` for every subscriber; returns how many deliveries were queued.
    Every event is counted (``ExportsDelivered`` / ``Failed`` / ``Waiting``)."""
    if event_type in metrics.EVENT_METRICS:
        metrics.add(metrics.EVENT_METRICS[event_type], provider=task.provider)
    endpoints = endpoints_for(task, settings, event_type)
    if not endpoints:
        return 0
    queued = delivery.enqueue_event(store, task, event_type,
                                    event_data(task, event_type, extra or {}), endpoints,
                                    now=now)
    log.info("export %s: %s queued for %d endpoint(s)", task.id, event_type, len(queued),
             extra=export_keys(task.id, task.provider))
    return len(queued)


def deliver_due(store: TaskStore, settings: Settings, *, owner: str, deadline: float,
                now: datetime | None = None) -> int:
    """Attempt every due delivery (first tries and retries); returns attempts made."""
    stats = delivery.deliver_due(store, settings, owner=owner, now=now, deadline=deadline)
    return stats.attempted
