"""Webhook delivery against a real local HTTP receiver, on a real SQLite store: signing,
retries and their schedule, the limits of one pass (test_endpoints.py: which
endpoints get deliveries).

Time is simulated by passing ``now=``; signatures are checked with the reference
``standardwebhooks`` package.
"""

from __future__ import annotations

import time
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from shared.clock import utcnow
from shared.config import Settings
from shared.errors import NotFoundError
from shared.model import DeliveryState, ExportTask
from shared.state.base import TaskStore
from shared.webhooks import delivery as webhooks
from shared.webhooks import endpoints
from tests.integration.webhooks.webhook_support import (
    T0,
    Plan,
    enqueue,
    make_secret,
    run,
)

pytestmark = pytest.mark.timeout(30)


def verify(secret: str, seen: Any) -> Any:
    return Webhook(secret).verify(seen.body, seen.headers)


# ------------------------------------------------------------------- happy path, signing
def test_delivers_signed_standard_webhook(store, settings, secret, task, hook_receiver):
    url = hook_receiver.url + "/hook?token=abc"
    d = enqueue(store, task, url)
    assert d.state is DeliveryState.PENDING and d.due_at == T0
    assert d.payload == {"type": "export.delivered", "timestamp": "2030-01-01T12:00:00Z",
                         "data": {"export_id": task.id, "provider": "cls",
                                  "state": "delivered"}}

    stats = run(store, settings, T0)
    assert (stats.attempted, stats.delivered, stats.failed, stats.dead) == (1, 1, 0, 0)
    (seen,) = hook_receiver.posts()
    assert seen.path == "/hook?token=abc"
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["webhook-id"] == d.id
    assert abs(int(seen.headers["webhook-timestamp"]) - time.time()) < 60
    assert verify(secret, seen) == d.payload

    stored = store.get_delivery(d.id)
    assert stored.state is DeliveryState.DELIVERED and stored.due_at is None
    assert stored.lease_owner is None
    (attempt,) = stored.attempts
    assert attempt["status"] == 200 and attempt["error"] is None
    assert attempt["time"] == "2030-01-01T12:00:00Z" and attempt["latency_ms"] >= 0
    # Nothing more to do.
    assert run(store, settings, T0 + timedelta(days=1)).attempted == 0


def test_enqueue_is_idempotent_per_task_event_endpoint(store, task, hook_receiver):
    urls = [hook_receiver.url + "/a", hook_receiver.url + "/b"]
    data = {"export_id": task.id, "provider": "cls", "state": "delivered"}
    first = webhooks.enqueue_event(store, task, "export.delivered", data, urls, now=T0)
    again = webhooks.enqueue_event(store, task, "export.delivered", data, urls,
                                   now=T0 + timedelta(seconds=3))
    assert len(first) == 2 and [d.id for d in first] == [d.id for d in again]
    assert {d.endpoint for d in first} == set(urls)
    other = webhooks.enqueue_event(store, task, "export.failed", data, urls[:1], now=T0)
    assert other[0].id not in {d.id for d in first}
    assert len(store.list_deliveries(task_id=task.id).items) == 3


def test_rotation_signs_with_every_secret(store, task, hook_receiver):
    old, new = make_secret(), make_secret()
    url = hook_receiver.url + "/rot"
    # During the rotation: newest first, both signatures in one header.
    rotating = Settings(profile="sandbox", auth="none", webhook_secrets=(new, old),
                        allow_private_hosts=("127.0.0.1",))
    enqueue(store, task, url, "export.delivered")
    assert run(store, rotating, T0).delivered == 1
    (seen,) = hook_receiver.posts()
    assert len(seen.headers["webhook-signature"].split(" ")) == 2
    verify(old, seen)  # a receiver that only knows the old secret
    verify(new, seen)  # ... and one that already has the new one

    # After the rotation only the new secret signs: the old one no longer verifies.
    done = Settings(profile="sandbox", auth="none", webhook_secrets=(new,),
                    allow_private_hosts=("127.0.0.1",))
    enqueue(store, task, url, "export.failed")
    assert run(store, done, T0).delivered == 1
    seen2 = hook_receiver.posts()[1]
    verify(new, seen2)
    with pytest.raises(Exception, match="(?i)signature"):
        verify(old, seen2)


# -------------------------------------------------------------------------- retries
def test_fails_twice_then_succeeds_with_same_webhook_id(store, settings, secret, task,
                                                        hook_receiver):
    hook_receiver.respond(500, 502, 200)
    d = enqueue(store, task, hook_receiver.url + "/flaky")

    s1 = run(store, settings, T0)
    assert (s1.attempted, s1.failed, s1.delivered) == (1, 1, 0)
    after1 = store.get_delivery(d.id)
    assert after1.state is DeliveryState.PENDING
    assert T0 + timedelta(seconds=4.5) <= after1.due_at <= T0 + timedelta(seconds=5.5)
    assert after1.attempts[0]["status"] == 500 and after1.attempts[0]["error"] == "HTTP 500"

    # Not due yet.
    assert run(store, settings, T0 + timedelta(seconds=4)).attempted == 0
    t2 = T0 + timedelta(seconds=6)
    assert run(store, settings, t2).failed == 1
    after2 = store.get_delivery(d.id)
    assert t2 + timedelta(seconds=270) <= after2.due_at <= t2 + timedelta(seconds=330)

    t3 = t2 + timedelta(seconds=331)
    assert run(store, settings, t3).delivered == 1
    final = store.get_delivery(d.id)
    assert final.state is DeliveryState.DELIVERED
    assert [a["status"] for a in final.attempts] == [500, 502, 200]

    posts = hook_receiver.posts()
    assert len(posts) == 3
    assert {p.headers["webhook-id"] for p in posts} == {d.id}
    for p in posts:
        assert verify(secret, p)["type"] == "export.delivered"
    # Endpoint health went failing, then healthy again.
    health = endpoints.get_endpoint(store, d.endpoint)
    assert health is not None and health.state == endpoints.ENDPOINT_OK
    assert health.failing_since is None and health.consecutive_failures == 0


def test_429_retry_after_seconds_is_honoured(store, settings, task, hook_receiver):
    hook_receiver.respond(Plan(429, {"Retry-After": "120"}))
    d = enqueue(store, task, hook_receiver.url + "/busy")
    run(store, settings, T0)
    after = store.get_delivery(d.id)
    assert after.due_at == T0 + timedelta(seconds=120)  # not the 5 s of the schedule
    assert after.attempts[0]["status"] == 429
    assert run(store, settings, T0 + timedelta(seconds=119)).attempted == 0
    assert run(store, settings, T0 + timedelta(seconds=120)).delivered == 1


def test_503_retry_after_http_date_is_honoured(store, settings, task, hook_receiver):
    now = utcnow().replace(microsecond=0)
    later = now + timedelta(hours=1)
    hook_receiver.respond(Plan(503, {"Retry-After": format_datetime(later, usegmt=True)}))
    d = enqueue(store, task, hook_receiver.url + "/maint", now=now)
    run(store, settings, now)
    assert store.get_delivery(d.id).due_at == later


def test_dead_after_whole_schedule_then_resend_keeps_webhook_id(store, settings, secret, task,
                                                               hook_receiver):
    hook_receiver.default = Plan(500)
    d = enqueue(store, task, hook_receiver.url + "/down")
    now = T0
    for i in range(len(webhooks.RETRY_SCHEDULE_S)):
        stats = run(store, settings, now)
        assert stats.attempted == 1, f"attempt {i + 1}"
        current = store.get_delivery(d.id)
        if current.due_at is None:
            break
        gap = (current.due_at - now).total_seconds()
        expected = webhooks.RETRY_SCHEDULE_S[i + 1]
        assert expected * 0.9 - 0.01 <= gap <= expected * 1.1 + 0.01
        now = current.due_at
    dead = store.get_delivery(d.id)
    assert dead.state is DeliveryState.DEAD and dead.due_at is None
    assert len(dead.attempts) == len(webhooks.RETRY_SCHEDULE_S) == 8
    assert all(a["status"] == 500 for a in dead.attempts)
    assert run(store, settings, now + timedelta(days=3)).attempted == 0

    # Resend: same webhook-id, due now, a fresh schedule; the old log is kept.
    hook_receiver.default = Plan(200)
    resend_at = now + timedelta(days=3)
    again = endpoints.resend(store, d.id, now=resend_at)
    assert again.id == d.id and again.state is DeliveryState.PENDING
    assert again.due_at == resend_at
    assert again.attempts[-1]["action"] == "resend"
    assert run(store, settings, resend_at).delivered == 1
    last = hook_receiver.posts()[-1]
    assert last.headers["webhook-id"] == d.id
    verify(secret, last)
    assert len(hook_receiver.posts()) == 9

    with pytest.raises(NotFoundError):
        endpoints.resend(store, "msg_missing")


def test_schedule_is_overridable(store, settings, task, hook_receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "RETRY_SCHEDULE_S", (0, 1))
    hook_receiver.default = Plan(500)
    d = enqueue(store, task, hook_receiver.url + "/short")
    run(store, settings, T0)
    run(store, settings, T0 + timedelta(seconds=2))
    assert store.get_delivery(d.id).state is DeliveryState.DEAD
    # Or per call.
    d2 = enqueue(store, task, hook_receiver.url + "/short", event="export.failed")
    run(store, settings, T0, schedule=(0,))
    assert store.get_delivery(d2.id).state is DeliveryState.DEAD


def test_schedule_and_disable_window_come_from_the_environment(store, secret, task,
                                                               hook_receiver):
    from shared.config import ConfigError

    base = {"COURIER_PROFILE": "sandbox", "COURIER_API_KEYS": "k" * 32,
            "COURIER_WEBHOOK_SECRETS": secret, "COURIER_ALLOW_PRIVATE_HOSTS": "127.0.0.1"}
    configured = Settings.from_env({**base, "COURIER_WEBHOOK_RETRY_S": "0, 30, 30",
                                    "COURIER_WEBHOOK_DISABLE_AFTER_S": "60"})
    assert configured.webhook_retry_s == (0.0, 30.0, 30.0)
    hook_receiver.default = Plan(500)
    url = hook_receiver.url + "/flaky"
    d = enqueue(store, task, url)
    run(store, configured, T0)
    due = store.get_delivery(d.id).due_at
    assert timedelta(seconds=26) <= due - T0 <= timedelta(seconds=34)  # 30 s, ±10 % jitter
    run(store, configured, T0 + timedelta(seconds=40))
    health = endpoints.get_endpoint(store, url)
    assert health is not None and not health.disabled  # failing for 40 s: not yet
    run(store, configured, T0 + timedelta(seconds=80))
    assert endpoints.get_endpoint(store, url).disabled  # failing for 80 s > 60 s
    assert len(hook_receiver.posts(path="/flaky")) == 3

    for bad, problem in (("0,soon", "item 2"), ("", None), ("-5", "0 to 604800"),
                         (",".join(["1"] * 21), "1 to 20")):
        if problem is None:
            unset = Settings.from_env({**base, "COURIER_WEBHOOK_RETRY_S": bad})
            assert unset.webhook_retry_s is None
            continue
        with pytest.raises(ConfigError, match=problem):
            Settings.from_env({**base, "COURIER_WEBHOOK_RETRY_S": bad})
    with pytest.raises(ConfigError, match="COURIER_WEBHOOK_DISABLE_AFTER_S"):
        Settings.from_env({**base, "COURIER_WEBHOOK_DISABLE_AFTER_S": "10"})


# ----------------------------------------------------------------------------- limits
def test_deadline_stops_new_attempts(store, settings, task, hook_receiver):
    ds = [enqueue(store, task, hook_receiver.url + f"/{i}") for i in range(3)]
    stats = run(store, settings, T0, deadline=time.monotonic() - 1)
    assert stats.attempted == 0
    # Nothing is left leased: everything is still due at once.
    for d in ds:
        after = store.get_delivery(d.id)
        assert after.lease_owner is None and after.state is DeliveryState.PENDING
    assert run(store, settings, T0, limit=2).attempted == 2
    assert run(store, settings, T0).attempted == 1


def test_two_workers_never_send_one_delivery_twice(tmp_path, settings, hook_receiver):
    import threading
    from collections import Counter

    from shared.state import open_store

    url = f"sqlite:///{tmp_path}/shared.db"
    seed = open_store(url)
    tasks = [seed.insert_task(ExportTask(provider="cls", params={}))[0] for _ in range(12)]
    for i, t in enumerate(tasks):
        enqueue(seed, t, hook_receiver.url + f"/w{i % 3}")
    stores = [open_store(url) for _ in range(2)]
    errors: list[BaseException] = []

    def worker(st: TaskStore, name: str) -> None:
        try:
            webhooks.deliver_due(st, settings, owner=name, now=T0)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(st, f"w{i}"))
               for i, st in enumerate(stores)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=20)
    assert not errors
    ids = Counter(p.headers["webhook-id"] for p in hook_receiver.posts())
    assert len(ids) == 12 and set(ids.values()) == {1}
    assert all(d.state is DeliveryState.DELIVERED
               for d in seed.list_deliveries(limit=50).items)
    for st in (seed, *stores):
        st.close()
