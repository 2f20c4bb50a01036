"""An HTTP endpoint's ``per_minute``: a burst is sent within it, waiting, never refused or
dropped; an endpoint without one is not held back; the rate is kept in the state store, so
two senders together keep it too."""

from __future__ import annotations

import json
from datetime import timedelta

from shared.config import Settings
from shared.model import DeliveryState, ExportTask
from shared.state.base import TaskStore
from shared.webhooks import notify
from shared.webhooks.delivery import deliver_due
from tests.integration.webhooks.webhook_support import T0, Receiver


def settings_for(secret: str, limited: str, free: str) -> Settings:
    return Settings.from_env({
        "COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none",
        "COURIER_WEBHOOK_SECRETS": secret, "COURIER_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
        "COURIER_WEBHOOK_ENDPOINTS": json.dumps([{"url": limited, "per_minute": 12},
                                                 {"url": free}])})


def test_a_burst_is_sent_within_the_rate_and_nothing_is_refused_or_dropped(
        store: TaskStore, hook_receiver: Receiver, secret: str) -> None:
    # GIVEN an endpoint taking 12 a minute, another without a limit, and 10 events at once
    limited, free = hook_receiver.url + "/limited", hook_receiver.url + "/free"
    settings = settings_for(secret, limited, free)
    for _ in range(10):
        task, _ = store.insert_task(ExportTask(provider="cls", params={}))
        notify.notify(store, settings, task, "export.failed", now=T0)

    # WHEN two senders take turns, a run every 2.5 s of (simulated) time for a minute
    arrived: list[tuple[float, int]] = []  # (seconds after T0, posts to the limited one)
    for step in range(25):
        before = len(hook_receiver.posts("/limited"))
        stats = deliver_due(store, settings, owner=f"sender-{step % 2}",
                            now=T0 + timedelta(seconds=2.5 * step))
        assert stats.failed == 0 and stats.dead == 0
        arrived.append((2.5 * step, len(hook_receiver.posts("/limited")) - before))

    # THEN the free endpoint had all 10 at once; the limited one never more than 12 a minute
    # (one each 5 s) and every one in the end
    assert len(hook_receiver.posts("/free")) == 10 and arrived[0][1] == 1
    for start, _ in arrived:
        in_window = sum(n for at, n in arrived if start <= at < start + 60)
        assert in_window <= 12, f"{in_window} in the minute from {start} s"
    assert [n for _, n in arrived][:20] == [1, 0] * 10
    limited_ones = [d for d in store.list_deliveries(limit=100).items if d.endpoint == limited]
    assert len(limited_ones) == 10
    for d in limited_ones:  # sent once, accepted once: no refused attempt, none dropped
        assert d.state is DeliveryState.DELIVERED
        assert [a["status"] for a in d.attempts] == [200]
