"""Which endpoints get webhook deliveries: one answering 410 or failing for days is disabled
(and recovered); private and link-local targets, names resolving to them (also between the
check and the connect) and redirects are refused; an unreachable receiver is recorded.
Against a real local HTTP receiver, on a real SQLite store, with simulated time (``now=``).
"""

from __future__ import annotations

import logging
import socket
from datetime import timedelta
from typing import Any

import pytest

from shared.config import Settings
from shared.errors import UnsafeTargetError
from shared.model import DeliveryState
from shared.webhooks import endpoints
from tests.integration.webhooks.webhook_support import (
    T0,
    Plan,
    enqueue,
    make_secret,
    other_task,
    run,
)

pytestmark = pytest.mark.timeout(30)


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
