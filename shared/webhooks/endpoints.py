"""Webhook endpoint health and the operator's actions on deliveries.

Endpoint health lives in state records of kind ``"endpoint"`` (id: SHA-256 of the URL):
healthy, failing (since when, how many failures in a row) or suspended (disabled, with the
reason). Disabling parks the endpoint's pending deliveries as ``disabled`` — kept, never
dropped. :func:`resend` queues one delivery again with its ``webhook-id``; :func:`recover`
re-enables an endpoint and queues again what it missed since a time.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from shared import netguard
from shared.clock import from_iso, to_iso, utcnow
from shared.errors import VersionConflictError
from shared.model import DeliveryState, WebhookDelivery
from shared.runtime.context import export_keys
from shared.state.base import TaskStore
from shared.state.records import Record

log = logging.getLogger(__name__)

ENDPOINT_KIND = "endpoint"
# Endpoint record states. Not "disabled": some backends expire records in finished states.
ENDPOINT_OK = "healthy"
ENDPOINT_FAILING = "failing"
ENDPOINT_OFF = "suspended"


@dataclass
class EndpointHealth:
    url: str
    state: str = ENDPOINT_OK
    failing_since: datetime | None = None
    consecutive_failures: int = 0
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    re_enabled_at: datetime | None = None  # re-enabled, and not yet delivered to since

    @property
    def id(self) -> str:
        return endpoint_id(self.url)

    @property
    def disabled(self) -> bool:
        return self.state == ENDPOINT_OFF


def endpoint_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def _health_from_record(rec: Record) -> EndpointHealth:
    d = rec.data
    return EndpointHealth(
        url=d.get("url", ""),
        state=rec.state,
        failing_since=from_iso(d.get("failing_since")),
        consecutive_failures=int(d.get("consecutive_failures") or 0),
        last_success_at=from_iso(d.get("last_success_at")),
        last_failure_at=from_iso(d.get("last_failure_at")),
        disabled_at=from_iso(d.get("disabled_at")),
        disabled_reason=d.get("disabled_reason"),
        re_enabled_at=from_iso(d.get("re_enabled_at")),
    )


def _health_data(h: EndpointHealth) -> dict[str, Any]:
    return {
        "url": h.url,
        "failing_since": to_iso(h.failing_since),
        "consecutive_failures": h.consecutive_failures,
        "last_success_at": to_iso(h.last_success_at),
        "last_failure_at": to_iso(h.last_failure_at),
        "disabled_at": to_iso(h.disabled_at),
        "disabled_reason": h.disabled_reason,
        "re_enabled_at": to_iso(h.re_enabled_at),
    }


def get_endpoint(store: TaskStore, url: str) -> EndpointHealth | None:
    rec = store.get_record(ENDPOINT_KIND, endpoint_id(url))
    return _health_from_record(rec) if rec else None


def failing_endpoints(store: TaskStore, limit: int = 50) -> list[EndpointHealth]:
    """Up to ``limit`` endpoints that are failing or suspended (suspended first)."""
    out: list[EndpointHealth] = []
    for state in (ENDPOINT_OFF, ENDPOINT_FAILING):
        if len(out) < limit:
            page = store.list_records(ENDPOINT_KIND, state=state, limit=limit - len(out))
            out += [_health_from_record(r) for r in page.items]
    return out


def mutate_endpoint(store: TaskStore, url: str, change: Callable[[EndpointHealth], None],
                     now: datetime) -> EndpointHealth:
    """Apply ``change`` to the endpoint's health record (created if missing), CAS-retried."""
    for _ in range(8):
        rec = store.get_record(ENDPOINT_KIND, endpoint_id(url))
        health = _health_from_record(rec) if rec else EndpointHealth(url=url)
        change(health)
        if rec is None:
            new = Record(kind=ENDPOINT_KIND, id=endpoint_id(url), key=None, state=health.state,
                         ref=None, version=0, due_at=None, lease_owner=None, lease_until=None,
                         created_at=now, updated_at=now, data=_health_data(health))
            _, created = store.put_record(new)
            if created:
                return health
            continue
        try:
            store.update_record(replace(rec, state=health.state, data=_health_data(health)))
            return health
        except VersionConflictError:
            continue
    raise VersionConflictError(f"endpoint {endpoint_id(url)[:12]}: too many concurrent writes")


def log_disabled(url: str, reason: str) -> None:
    log.warning("webhook endpoint disabled: %s (%s)", netguard.redact_url(url), reason,
                extra={"metric": "webhook_endpoint_disabled", "metric_value": 1,
                       "endpoint_id": endpoint_id(url), "reason": reason})


def disable_endpoint(store: TaskStore, url: str, reason: str,
                     now: datetime | None = None) -> int:
    """Disable ``url`` and park its pending deliveries as ``disabled``; returns how many."""
    now = now or utcnow()

    def change(h: EndpointHealth) -> None:
        h.state, h.disabled_at, h.disabled_reason = ENDPOINT_OFF, now, reason

    mutate_endpoint(store, url, change, now)
    log_disabled(url, reason)
    return park_pending(store, url, now)


def park(store: TaskStore, d: WebhookDelivery, now: datetime) -> bool:
    """Set one delivery aside as ``disabled`` (kept, to be recovered); False if it changed."""
    d.state, d.due_at = DeliveryState.DISABLED, None
    d.release()
    d.updated_at = now
    try:
        store.update_delivery(d)
        return True
    except VersionConflictError:
        # Someone holds or changed it; the claim path parks it when it comes round.
        log.debug("delivery %s changed while parking; left for the next run", d.id)
        return False


def park_pending(store: TaskStore, url: str, now: datetime) -> int:
    """Park every pending delivery to ``url``; returns how many."""
    return sum(park(store, d, now) for d in scan(store, (DeliveryState.PENDING,))
               if d.endpoint == url)


def scan(store: TaskStore, states: Iterable[DeliveryState],
          task_id: str | None = None) -> Iterable[WebhookDelivery]:
    for state in states:
        cursor: str | None = None
        while True:
            page = store.list_deliveries(task_id=task_id, state=state, limit=200, cursor=cursor)
            yield from page.items
            cursor = page.next_cursor
            if not cursor:
                break


def attempts_in_round(delivery: WebhookDelivery) -> int:
    """Attempts since the delivery was queued or last resent/recovered (a chat platform's
    throttle, or a ride in another delivery's digest, is not an attempt)."""
    n = 0
    for entry in reversed(delivery.attempts):
        if "action" in entry:
            break
        n += 0 if entry.get("throttled") or entry.get("digest") else 1
    return n


def _restart(store: TaskStore, delivery: WebhookDelivery, action: str,
             now: datetime) -> WebhookDelivery:
    delivery.attempts.append({"time": to_iso(now), "action": action})
    delivery.state, delivery.due_at = DeliveryState.PENDING, now
    delivery.release()
    return store.update_delivery(delivery)


def resend(store: TaskStore, delivery_id: str, now: datetime | None = None) -> WebhookDelivery:
    """Queue a delivery again, due now, with its webhook-id and a fresh retry schedule."""
    now = now or utcnow()
    for _ in range(5):
        delivery = store.get_delivery(delivery_id)  # NotFoundError for an unknown id
        try:
            restarted = _restart(store, delivery, "resend", now)
        except VersionConflictError:
            continue
        log.info("delivery %s resent (%s for %s)", delivery_id, delivery.event_type,
                 delivery.task_id, extra=export_keys(delivery.task_id))
        return restarted
    raise VersionConflictError(f"delivery {delivery_id} kept changing; try again")


def enable_endpoint(store: TaskStore, url: str, now: datetime | None = None) -> EndpointHealth:
    now = now or utcnow()

    def change(h: EndpointHealth) -> None:
        if h.state == ENDPOINT_OFF:
            h.re_enabled_at = now  # its first delivery raises endpoint.recovered
        h.state, h.failing_since, h.consecutive_failures = ENDPOINT_OK, None, 0
        h.disabled_at, h.disabled_reason = None, None

    return mutate_endpoint(store, url, change, now)


def recover(store: TaskStore, endpoint: str, since: datetime,
            now: datetime | None = None) -> int:
    """Re-enable ``endpoint`` and queue again its undelivered deliveries created since ``since``.

    Dead and disabled deliveries, and pending ones that already failed, become due now with a
    fresh retry schedule. Returns how many were queued.
    """
    now = now or utcnow()
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    enable_endpoint(store, endpoint, now)
    count = 0
    states = (DeliveryState.DEAD, DeliveryState.DISABLED, DeliveryState.PENDING)
    for d in list(scan(store, states)):
        if d.endpoint != endpoint or d.created_at < since:
            continue
        if d.state is DeliveryState.PENDING and attempts_in_round(d) == 0:
            continue  # not failed yet: already on its way
        try:
            _restart(store, d, "recover", now)
            count += 1
        except VersionConflictError:
            log.info("delivery %s changed during recover; skipped", d.id)
    log.info("endpoint %s recovered: %d deliveries queued again", netguard.redact_url(endpoint),
             count)
    return count
