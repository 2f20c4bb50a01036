"""A rate for an HTTP endpoint: its ``per_minute`` in ``COURIER_WEBHOOK_ENDPOINTS``.

The endpoint's slots come from a token bucket in the state store (:mod:`shared.state.bucket`,
the one the chat bots draw from), so every container together sends it at most
``per_minute`` messages a minute, spaced evenly. A delivery that finds no slot free now is
due again when the next one should be, untouched: no attempt is counted, nothing is dropped.
(A chat bot's rate is the bot's own ``per_minute``: :mod:`shared.webhooks.chat.sender`.)
Webhook platforms do the same: Svix throttles an endpoint to a steady rate
(https://docs.svix.com/throttling), Convoy limits one to a number per duration
(https://www.getconvoy.io/docs/glossary/rate-limiting-endpoints).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from shared.config import Settings
from shared.errors import VersionConflictError
from shared.model import WebhookDelivery
from shared.state.base import TaskStore
from shared.state.bucket import BucketPolicy
from shared.webhooks.endpoints import endpoint_id

log = logging.getLogger(__name__)


def per_minute(settings: Settings, url: str) -> float | None:
    """The endpoint's rate (the lowest, if it is listed more than once); None: unlimited."""
    rates = [float(e["per_minute"]) for e in settings.webhook_endpoints
             if e.get("url") == url and e.get("per_minute")]
    return min(rates) if rates else None


def bucket_of(url: str) -> str:
    return f"hook|{endpoint_id(url)[:32]}"


def policy(rate_per_minute: float) -> BucketPolicy:
    rate = rate_per_minute / 60.0
    return BucketPolicy(ceiling=rate, floor=rate, factor=1.0, recover_per_s=rate)


def hold(store: TaskStore, settings: Settings, d: WebhookDelivery, now: datetime) -> bool:
    """True when ``d`` must wait for its endpoint's next slot (and it now does: due then,
    its lease given back); False when it may go now (the slot is taken)."""
    rate = per_minute(settings, d.endpoint)
    if rate is None:
        return False
    now_s = now.timestamp()
    if store.take_slots(bucket_of(d.endpoint), want=1, latest=now_s, now=now_s,
                        policy=policy(rate)):
        return False
    d.release()
    d.due_at = now + timedelta(seconds=60.0 / rate)
    try:
        store.update_delivery(d)
    except VersionConflictError:
        log.debug("delivery %s changed while waiting for its endpoint's rate", d.id)
    return True
