"""Outgoing webhooks: queue events, deliver them signed (Standard Webhooks), retry, give up.

Every event becomes one :class:`~shared.model.WebhookDelivery` per endpoint, stored through the
``TaskStore`` and keyed by ``task|event|endpoint`` (plus the export's retry round after a
``POST /exports/{id}/retry``) so a repeated event is a no-op. A timer calls
:func:`deliver_due`, which claims due deliveries under a lease and POSTs each one:

* headers ``webhook-id`` (the delivery id, the same on every retry), ``webhook-timestamp``
  (Unix seconds of the send), ``webhook-signature`` (``v1,<base64 HMAC-SHA256>`` for every
  configured secret, newest first, space-separated during a rotation), ``content-type``;
* 2xx is success; anything else (3xx included: redirects are never followed) is a failure and
  the delivery is rescheduled on :data:`RETRY_SCHEDULE_S` (or ``COURIER_WEBHOOK_RETRY_S``)
  with ±10 % jitter, or later if a 429/503 answer carries ``Retry-After``; after the last
  attempt the delivery is ``dead`` (kept, with its attempt log, and can be resent);
* 410 Gone disables the endpoint at once; an endpoint that has failed continuously for longer
  than :data:`DISABLE_AFTER` (or ``COURIER_WEBHOOK_DISABLE_AFTER_S``) is disabled too. A
  disabled endpoint's pending deliveries become
  ``disabled`` (kept); :func:`recover` brings them back and re-enables the endpoint.

Endpoint health and the operator's actions live in :mod:`shared.webhooks.endpoints`, the
signatures in :mod:`shared.webhooks.signing`. The URL is checked by
:func:`shared.netguard.check_url` right before every attempt, and the connection where it
lands by the guarded session. Each attempt ends by its deadline: :data:`REQUEST_TIMEOUT_S`
from its start, or the run's ``deadline`` if that comes first, however slowly the subscriber
answers (:func:`shared.cutoff.cut_off_at`); an attempt cut off is logged as such and retried
on the schedule like any failure.

``delivery.attempts`` is the delivery's log. An attempt entry has ``time``, ``status`` (None
when no HTTP answer came), ``latency_ms`` and ``error``; an operator action (``resend``,
``recover``) adds an entry with ``time`` and ``action`` and starts a fresh retry schedule.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared import cutoff, netguard
from shared.clock import to_iso, utcnow
from shared.config import Settings
from shared.errors import UnsafeTargetError, VersionConflictError
from shared.model import DeliveryState, ExportTask, WebhookDelivery
from shared.runtime import metrics
from shared.runtime.context import export_context, export_keys
from shared.state.base import TaskStore
from shared.webhooks import endpoints, operator, pace, signing
from shared.webhooks.chat.sender import ChatSender, is_chat
from shared.webhooks.endpoints import ENDPOINT_FAILING, ENDPOINT_OFF, ENDPOINT_OK, EndpointHealth
from shared.webhooks.outcome import Outcome, jittered, parse_retry_after

if TYPE_CHECKING:  # imported where deliveries are sent: the HTTP API's cold start skips it
    import requests

log = logging.getLogger(__name__)

# Delay before each attempt, in seconds: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
RETRY_SCHEDULE_S: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
REQUEST_TIMEOUT_S = 15.0
DISABLE_AFTER = timedelta(days=5)  # continuous failure for longer than this disables
CLAIM_BATCH = 3  # deliveries claimed per lease: a killed sender holds few, briefly


@dataclass
class DeliveryStats:
    attempted: int = 0  # HTTP attempts made (or refused by the SSRF guard)
    delivered: int = 0
    failed: int = 0  # attempts that did not get a 2xx (including the ones that went dead)
    dead: int = 0  # deliveries that used up their schedule in this run
    disabled: int = 0  # deliveries parked because their endpoint is disabled
    released: int = 0  # claimed but not attempted (deadline reached); due again at once
    endpoints_disabled: list[str] = field(default_factory=list)  # endpoint ids


# ---------------------------------------------------------------------------- enqueue
def enqueue_event(store: TaskStore, task: ExportTask, event_type: str, data: dict[str, Any],
                  urls: Iterable[str], now: datetime | None = None, repeat: int = 0
                  ) -> list[WebhookDelivery]:
    """One delivery per endpoint, due now; a delivery that already exists is returned as is.
    ``repeat``: the n-th time the event is told again (a reminder), a delivery of its own."""
    now = now or utcnow()
    payload = {"type": event_type, "timestamp": to_iso(now), "data": data}
    out: list[WebhookDelivery] = []
    for url in urls:
        if not isinstance(url, str) or not url.strip():
            continue
        health = endpoints.get_endpoint(store, url)
        off = health is not None and health.disabled
        delivery = WebhookDelivery(
            task_id=task.id, endpoint=url, event_type=event_type, payload=payload,
            round=task.round, repeat=repeat,
            state=DeliveryState.DISABLED if off else DeliveryState.PENDING,
            due_at=None if off else now, created_at=now, updated_at=now)
        stored, created = store.insert_delivery(delivery)
        if created and off:
            log.info("delivery %s parked: endpoint %s is disabled", stored.id,
                     netguard.redact_url(url), extra=export_keys(task.id, task.provider))
        out.append(stored)
    return out


# ---------------------------------------------------------------------------- deliver
def _post(session: requests.Session, settings: Settings, delivery: WebhookDelivery,
          now: datetime, deadline: float | None = None) -> Outcome:
    started = time.monotonic()
    until = started + REQUEST_TIMEOUT_S
    if deadline is not None:
        until = max(started, min(until, deadline))
    with cutoff.cut_off_at(until):
        return _send(session, settings, delivery, now, started, until)


def _send(session: requests.Session, settings: Settings, delivery: WebhookDelivery,
          now: datetime, started: float, until: float) -> Outcome:
    """One attempt, inside its cut-off (see :func:`_post`)."""

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        netguard.check_url(delivery.endpoint, allow_hosts=settings.allow_private_hosts)
    except UnsafeTargetError as exc:
        return Outcome(None, elapsed(), f"refused: {exc.message}")
    body = signing.encode_body(delivery.payload)
    # The signed timestamp is the real send time (receivers check it against their clock).
    headers = signing.build_headers(settings.webhook_secrets, delivery.id, int(time.time()), body)
    import requests

    timeout = max(0.1, until - time.monotonic())
    try:
        resp = session.post(delivery.endpoint, data=body, headers=headers,
                            timeout=timeout, allow_redirects=False, stream=True)
    except UnsafeTargetError as exc:  # the connection went somewhere else than checked
        return Outcome(None, elapsed(), f"refused: {exc.message}")
    except requests.RequestException as exc:
        if cutoff.cut_off() or isinstance(exc, requests.Timeout):
            return _timed_out(started, until)
        # The exception text names the URL (and its query): say what happened in words.
        return Outcome(None, elapsed(), f"connection failed: {netguard.failure_words(exc)}")
    if cutoff.cut_off():  # the answer may have been cut short: it counts as none
        resp.close()
        return _timed_out(started, until)
    try:
        status = resp.status_code
        retry_at = None
        if status in (429, 503):
            retry_at = parse_retry_after(resp.headers.get("retry-after"), now)
    finally:
        resp.close()
    error = None
    if 300 <= status < 400:
        error = f"redirect not followed (HTTP {status})"
    elif not 200 <= status < 300:
        error = f"HTTP {status}"
    return Outcome(status, elapsed(), error, retry_at)


def _timed_out(started: float, until: float) -> Outcome:
    return Outcome(None, int((time.monotonic() - started) * 1000),
                    f"timeout: no complete answer within {until - started:.1f} s")


def _release(store: TaskStore, delivery: WebhookDelivery) -> bool:
    delivery.release()
    try:
        store.update_delivery(delivery)
        return True
    except VersionConflictError:
        return False


class _Run:
    """One ``deliver_due`` pass: shared state for its attempts."""

    def __init__(self, store: TaskStore, settings: Settings, session: requests.Session,
                 schedule: Sequence[float], disable_after: timedelta, fixed_now: datetime | None,
                 stats: DeliveryStats, deadline: float | None = None) -> None:
        self.store = store
        self.settings = settings
        self.session = session
        self.schedule = schedule
        self.disable_after = disable_after
        self.fixed_now = fixed_now
        self.stats = stats
        self.deadline = deadline  # time.monotonic(): no attempt runs past it
        self.health: dict[str, EndpointHealth | None] = {}
        self.chats = ChatSender(store, settings, session, deadline)

    def now(self) -> datetime:
        return self.fixed_now or utcnow()

    def endpoint(self, url: str) -> EndpointHealth | None:
        if url not in self.health:
            self.health[url] = endpoints.get_endpoint(self.store, url)
        return self.health[url]

    def park(self, d: WebhookDelivery) -> None:
        if endpoints.park(self.store, d, self.now()):
            self.stats.disabled += 1

    def attempt(self, d: WebhookDelivery) -> None:
        health = self.endpoint(d.endpoint)
        if health is not None and health.disabled:
            self.park(d)
            return
        now = self.now()
        if is_chat(d.endpoint):
            sent = self.chats.send(d, now)
            if sent is None:  # no message free for the bot yet: it waits for one
                return
            outcome = sent
        elif pace.hold(self.store, self.settings, d, now):  # over its per_minute: waits
            return
        else:
            outcome = _post(self.session, self.settings, d, now, self.deadline)
        self.stats.attempted += 1
        d.attempts.append({"time": to_iso(now), "status": outcome.status,
                           "latency_ms": outcome.latency_ms, "error": outcome.error,
                           **({"throttled": True} if outcome.throttled else {})})
        d.release()
        newly_disabled: str | None = None
        dead = False
        if outcome.ok:
            d.state, d.due_at = DeliveryState.DELIVERED, None
            self.stats.delivered += 1
            self._healthy(d.endpoint, now)
        elif outcome.throttled:  # busy, not broken: wait as the platform says
            d.due_at = outcome.retry_at or now
            log.info("delivery %s: %s; next at %s", d.id, outcome.error, to_iso(d.due_at))
        else:
            self.stats.failed += 1
            if outcome.status == 410:
                newly_disabled = "endpoint answered 410 Gone"
                d.state, d.due_at = DeliveryState.DISABLED, None
                self.stats.disabled += 1
            else:
                newly_disabled = self._failing(d.endpoint, now)
                n = endpoints.attempts_in_round(d)
                if newly_disabled:
                    d.state, d.due_at = DeliveryState.DISABLED, None
                    self.stats.disabled += 1
                elif n >= len(self.schedule):
                    d.state, d.due_at, dead = DeliveryState.DEAD, None, True
                    self.stats.dead += 1
                    log.warning("webhook delivery %s (%s for %s) is dead after %d attempts; "
                                "last error: %s", d.id, d.event_type, d.task_id, n,
                                outcome.error)
                else:
                    due = now + timedelta(seconds=max(0.0, jittered(self.schedule[n])))
                    if outcome.retry_at is not None and outcome.retry_at > due:
                        due = outcome.retry_at
                    d.due_at = due
                    log.info("webhook delivery %s attempt %d failed (%s); next at %s",
                             d.id, n, outcome.error, to_iso(due))
        try:
            self.store.update_delivery(d)
        except VersionConflictError:
            # Resent or recovered while we were sending: that newer state wins.
            log.info("delivery %s changed during its attempt; result not recorded", d.id)
        if newly_disabled:
            self._disable(d.endpoint, newly_disabled, now)
        if dead:
            operator.dead_lettered(self.store, self.settings, d, outcome.error, now)

    def _healthy(self, url: str, now: datetime) -> None:
        health = self.endpoint(url)
        if health is None or (health.state == ENDPOINT_OK and health.failing_since is None
                              and health.re_enabled_at is None):
            return  # nothing to record: no write per successful delivery
        back: list[datetime] = []

        def change(h: EndpointHealth) -> None:
            back.clear()
            if h.state != ENDPOINT_OFF:
                h.state = ENDPOINT_OK
                if h.re_enabled_at is not None:
                    back.append(h.re_enabled_at)
                h.re_enabled_at = None
            h.failing_since, h.consecutive_failures, h.last_success_at = None, 0, now

        self.health[url] = endpoints.mutate_endpoint(self.store, url, change, now)
        if back:
            operator.endpoint_recovered(self.store, self.settings, url, back[0], now)

    def _failing(self, url: str, now: datetime) -> str | None:
        """Record a failure; returns a reason if the endpoint must now be disabled."""
        verdict: list[str] = []

        def change(h: EndpointHealth) -> None:
            verdict.clear()
            if h.state == ENDPOINT_OFF:
                return
            h.state = ENDPOINT_FAILING
            h.failing_since = h.failing_since or now
            h.consecutive_failures += 1
            h.last_failure_at = now
            if now - h.failing_since > self.disable_after:
                verdict.append(f"failing continuously since {to_iso(h.failing_since)}")

        self.health[url] = endpoints.mutate_endpoint(self.store, url, change, now)
        return verdict[0] if verdict else None

    def _disable(self, url: str, reason: str, now: datetime) -> None:
        self.stats.disabled += endpoints.disable_endpoint(self.store, url, reason, now)
        self.health[url] = endpoints.get_endpoint(self.store, url)
        self.stats.endpoints_disabled.append(endpoints.endpoint_id(url))
        operator.endpoint_disabled(self.store, self.settings, url, reason, now)


def deliver_due(store: TaskStore, settings: Settings, *, owner: str,
                now: datetime | None = None, deadline: float | None = None, limit: int = 100,
                session: requests.Session | None = None,
                schedule: Sequence[float] | None = None,
                disable_after: timedelta | None = None) -> DeliveryStats:
    """Attempt up to ``limit`` due deliveries; stop starting attempts at ``deadline``, and
    cut off an attempt still running then.

    ``deadline`` is a ``time.monotonic()`` value. ``now`` fixes the clock (tests, replays);
    by default each attempt uses the current time.
    """
    stats = DeliveryStats()
    if schedule is None:
        schedule = settings.webhook_retry_s or RETRY_SCHEDULE_S
    if disable_after is None and settings.webhook_disable_after_s is not None:
        disable_after = timedelta(seconds=settings.webhook_disable_after_s)
    sched = tuple(schedule)
    if not sched:
        raise ValueError("retry schedule must have at least one entry")
    own_session = session is None
    sess = session or netguard.guarded_session(settings.allow_private_hosts)
    run = _Run(store, settings, sess, sched,
               disable_after if disable_after is not None else DISABLE_AFTER, now, stats,
               deadline)
    seen: set[str] = set()

    def out_of_time() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    try:
        while len(seen) < limit and not out_of_time():
            batch_size = min(CLAIM_BATCH, limit - len(seen))
            # long enough for the batch's attempts at their timeout, and no longer: a
            # delivery claimed by a sender that dies is sent by the next run
            lease_s = REQUEST_TIMEOUT_S * batch_size + 15
            batch = store.claim_due_deliveries(limit=batch_size, lease_s=lease_s, owner=owner,
                                               now=run.now())
            if not batch:
                break
            fresh = 0
            for d in batch:
                if d.id in seen or out_of_time():
                    stats.released += int(_release(store, d))
                    continue
                seen.add(d.id)
                fresh += 1
                # its lines keyed by the export (and provider, as its event data says)
                with export_context(d.task_id, (d.payload.get("data") or {}).get("provider")):
                    try:
                        run.attempt(d)
                    except Exception:  # noqa: BLE001 - one bad delivery must not stop the run
                        log.exception("delivery %s: unexpected error; released", d.id)
                        try:
                            _release(store, store.get_delivery(d.id))
                        except Exception:  # noqa: BLE001
                            log.exception("delivery %s: could not release the lease", d.id)
            if not fresh:
                break
    finally:
        if own_session:
            sess.close()
    for name, value in ((metrics.WEBHOOK_ATTEMPTS, stats.attempted),
                        (metrics.WEBHOOK_FAILURES, stats.failed),
                        (metrics.WEBHOOK_DEAD_LETTERS, stats.dead),
                        (metrics.ENDPOINTS_DISABLED, len(stats.endpoints_disabled))):
        if value:
            metrics.add(name, value)
    if stats.attempted or stats.disabled:
        log.info("webhooks: %d attempted, %d delivered, %d failed, %d dead, %d disabled",
                 stats.attempted, stats.delivered, stats.failed, stats.dead, stats.disabled)
    return stats
