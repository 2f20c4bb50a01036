"""Webhook delivery against a real local HTTP receiver, on a real SQLite store.

Time is simulated by passing ``now=``; signatures are checked with the reference
``standardwebhooks`` package.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from standardwebhooks import Webhook

from shared.clock import utcnow
from shared.config import Settings
from shared.errors import NotFoundError, UnsafeTargetError
from shared.model import DeliveryState, ExportTask, TaskState
from shared.state.base import TaskStore
from shared.webhooks import delivery as webhooks
from shared.webhooks import endpoints
from tests.integration.webhooks.webhook_support import T0, Plan, make_secret

pytestmark = pytest.mark.timeout(30)


def run(store: TaskStore, settings: Settings, now: Any, **kw: Any) -> webhooks.DeliveryStats:
    return webhooks.deliver_due(store, settings, owner="test", now=now, **kw)


def enqueue(store: TaskStore, task: ExportTask, url: str, event: str = "export.delivered",
            now: Any = T0) -> Any:
    data = {"export_id": task.id, "provider": task.provider, "state": task.state.value}
    (d,) = webhooks.enqueue_event(store, task, event, data, [url], now=now)
    return d


def verify(secret: str, seen: Any) -> Any:
    return Webhook(secret).verify(seen.body, seen.headers)


def other_task(store: TaskStore) -> ExportTask:
    stored, _ = store.insert_task(ExportTask(provider="cls", params={},
                                             state=TaskState.FAILED))
    return stored


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

    base = {"COURIER_PROFILE": "sandbox", "COURIER_API_KEYS": "k",
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


# ------------------------------------------------------------------ endpoint disabling
def test_410_disables_endpoint_and_parks_its_pending_deliveries(store, settings, task,
                                                                hook_receiver):
    url = hook_receiver.url + "/gone"
    hook_receiver.respond(410)
    first = enqueue(store, task, url, "export.delivered")
    sibling = enqueue(store, other_task(store), url, "export.failed",
                      now=T0 + timedelta(seconds=1))
    elsewhere = enqueue(store, task, hook_receiver.url + "/fine", "export.delivered",
                        now=T0 + timedelta(seconds=2))

    stats = run(store, settings, T0, limit=1)
    assert stats.attempted == 1 and stats.failed == 1
    assert store.get_delivery(first.id).state is DeliveryState.DISABLED
    parked = store.get_delivery(sibling.id)
    assert parked.state is DeliveryState.DISABLED and parked.due_at is None
    assert parked.attempts == []
    assert store.get_delivery(elsewhere.id).state is DeliveryState.PENDING
    health = endpoints.get_endpoint(store, url)
    assert health is not None and health.disabled and "410" in (health.disabled_reason or "")

    # New events for a disabled endpoint are kept, parked.
    late = enqueue(store, other_task(store), url, "export.delivered")
    assert late.state is DeliveryState.DISABLED
    stats = run(store, settings, T0 + timedelta(seconds=10))
    assert stats.delivered == 1  # only /fine
    assert len(hook_receiver.posts(path="/gone")) == 1

    # Recover: re-enabled, every parked delivery queued again and delivered.
    n = endpoints.recover(store, url, since=T0 - timedelta(hours=1), now=T0 + timedelta(hours=1))
    assert n == 3
    assert not endpoints.get_endpoint(store, url).disabled
    stats = run(store, settings, T0 + timedelta(hours=1))
    assert stats.delivered == 3
    for d in (first, sibling, late):
        assert store.get_delivery(d.id).state is DeliveryState.DELIVERED


def test_recover_only_since_given_time(store, settings, task, hook_receiver):
    url = hook_receiver.url + "/r"
    hook_receiver.default = Plan(500)
    old = enqueue(store, task, url, "export.delivered", now=T0)
    new = enqueue(store, task, url, "export.failed", now=T0 + timedelta(hours=2))
    run(store, settings, T0 + timedelta(hours=2), schedule=(0,))
    assert store.get_delivery(old.id).state is DeliveryState.DEAD
    assert store.get_delivery(new.id).state is DeliveryState.DEAD
    n = endpoints.recover(store, url, since=T0 + timedelta(hours=1),
                         now=T0 + timedelta(hours=3))
    assert n == 1
    assert store.get_delivery(old.id).state is DeliveryState.DEAD
    assert store.get_delivery(new.id).state is DeliveryState.PENDING
    assert endpoints.recover(store, hook_receiver.url + "/other", since=T0) == 0


def test_endpoint_failing_for_five_days_is_disabled(store, settings, task, hook_receiver,
                                                    caplog):
    url = hook_receiver.url + "/sick"
    hook_receiver.default = Plan(500)
    a = enqueue(store, task, url, "export.delivered", now=T0)
    run(store, settings, T0)
    # Still failing four days later: not yet.
    b = enqueue(store, other_task(store), url, "export.failed", now=T0 + timedelta(days=4))
    run(store, settings, T0 + timedelta(days=4))
    assert not endpoints.get_endpoint(store, url).disabled
    assert store.get_delivery(b.id).state is DeliveryState.PENDING

    c = enqueue(store, other_task(store), url, "export.failed",
                now=T0 + timedelta(days=5, hours=1))
    with caplog.at_level(logging.WARNING, logger="shared.webhooks"):
        stats = run(store, settings, T0 + timedelta(days=5, hours=1), limit=1)
    assert stats.attempted == 1
    health = endpoints.get_endpoint(store, url)
    assert health is not None and health.disabled
    assert stats.endpoints_disabled == [endpoints.endpoint_id(url)]
    for d in (a, b, c):
        assert store.get_delivery(d.id).state is DeliveryState.DISABLED
    lines = [r for r in caplog.records if "webhook endpoint disabled" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].metric == "webhook_endpoint_disabled"  # type: ignore[attr-defined]
    assert "/sick" not in lines[0].getMessage()  # no path or query in the log


def test_success_resets_failing_clock(store, settings, task, hook_receiver):
    url = hook_receiver.url + "/wobbly"
    hook_receiver.respond(500, 200, 500)
    enqueue(store, task, url, "export.delivered", now=T0)
    run(store, settings, T0, schedule=(0,))  # fails (and is dead: one-attempt schedule)
    enqueue(store, task, url, "export.failed", now=T0 + timedelta(days=3))
    run(store, settings, T0 + timedelta(days=3), schedule=(0,))  # 200: healthy again
    enqueue(store, task, url, "export.waiting", now=T0 + timedelta(days=6))
    run(store, settings, T0 + timedelta(days=6), schedule=(0,))  # fails; the clock restarted
    health = endpoints.get_endpoint(store, url)
    assert health is not None and not health.disabled
    assert health.failing_since == T0 + timedelta(days=6)


# ------------------------------------------------------------------------------- SSRF
def test_loopback_refused_without_allow_list(store, secret, task, hook_receiver):
    strict = Settings(profile="sandbox", auth="none", webhook_secrets=(secret,))
    d = enqueue(store, task, hook_receiver.url + "/x")
    stats = run(store, strict, T0)
    assert stats.attempted == 1 and stats.failed == 1
    after = store.get_delivery(d.id)
    assert after.attempts[0]["status"] is None
    assert after.attempts[0]["error"].startswith("refused")
    assert hook_receiver.posts() == []


@pytest.mark.parametrize("url", ["http://10.0.0.1/hook", "http://169.254.169.254/latest/",
                                 "http://[::ffff:169.254.169.254]/", "http://100.64.0.7/",
                                 "file:///etc/passwd", "gopher://127.0.0.1/"])
def test_private_targets_never_contacted(store, settings, task, url, monkeypatch):
    def no_network(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("a refused target must not be contacted")

    monkeypatch.setattr(socket, "create_connection", no_network)
    d = enqueue(store, task, url)
    assert run(store, settings, T0).failed == 1
    assert store.get_delivery(d.id).attempts[0]["error"].startswith("refused")


def test_public_name_resolving_to_private_address_refused(store, settings, task, monkeypatch):
    real = socket.getaddrinfo

    def fake(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    d = enqueue(store, task, "https://hooks.example.com/h")
    assert run(store, settings, T0).failed == 1
    assert "non-public" in store.get_delivery(d.id).attempts[0]["error"]


def test_redirect_is_not_followed(store, settings, task, hook_receiver):
    hook_receiver.respond(Plan(302, {"Location": "http://10.0.0.1/internal"}),
                          Plan(307, {"Location": hook_receiver.url + "/internal"}))
    d = enqueue(store, task, hook_receiver.url + "/moved")
    assert run(store, settings, T0).failed == 1
    after = store.get_delivery(d.id)
    assert after.attempts[0]["status"] == 302
    assert "redirect not followed" in after.attempts[0]["error"]
    assert after.state is DeliveryState.PENDING
    run(store, settings, T0 + timedelta(seconds=6))
    assert [r.path for r in hook_receiver.requests] == ["/moved", "/moved"]


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


def test_connection_refused_and_timeout_are_recorded(store, settings, task, monkeypatch):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    d = enqueue(store, task, f"http://127.0.0.1:{port}/nobody")
    assert run(store, settings, T0).failed == 1
    attempt = store.get_delivery(d.id).attempts[0]
    assert attempt["status"] is None
    assert attempt["error"].startswith("connection failed")
    assert str(port) not in attempt["error"]  # no URL in the stored error


def test_dns_rebinding_between_check_and_connect_refused(store, task, hook_receiver,
                                                         monkeypatch):
    """The name is public when checked, loopback when connecting: the socket check refuses."""
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34"])

    def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.example.com":
            ip = next(answers, "127.0.0.1")
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    strict = Settings(profile="sandbox", auth="none", webhook_secrets=(make_secret(),))
    port = hook_receiver.url.rsplit(":", 1)[1]
    d = enqueue(store, task, f"http://rebind.example.com:{port}/hook")
    assert run(store, strict, T0).failed == 1
    attempt = store.get_delivery(d.id).attempts[0]
    assert attempt["status"] is None and "non-public" in attempt["error"]
    assert hook_receiver.requests == []


def test_guarded_session_allows_listed_hosts(hook_receiver):
    from shared import netguard

    with netguard.guarded_session(("127.0.0.1",)) as s:
        assert s.post(hook_receiver.url + "/ok", data=b"{}", timeout=5).status_code == 200
    with netguard.guarded_session() as s, pytest.raises(UnsafeTargetError):
        s.post(hook_receiver.url + "/no", data=b"{}", timeout=5)
    assert [r.path for r in hook_receiver.requests] == ["/ok"]


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
