"""Chat bots as subscribers, against the sandbox's WeCom, DingTalk and Feishu/Lark bots over
real HTTP: signed messages accepted, a wrong secret refused until the endpoint is disabled
(and the operator told), bursts within the bots' limits, the platforms' throttles sat out."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from sandbox.chatbots import Bot, ChatBots
from shared.config import Settings
from shared.model import DeliveryState, ExportTask, TaskState
from shared.setting_values import ChatBot
from shared.state.base import TaskStore
from shared.webhooks import notify
from shared.webhooks.chat import dingtalk, feishu
from tests.integration.webhooks.webhook_support import T0, Receiver, run

KINDS = ["wecom", "dingtalk", "feishu", "lark"]
SECRET = "SEC0123456789abcdef0123456789abcdef"  # noqa: S105 - a sandbox bot's secret


@pytest.fixture
def bots() -> Iterator[ChatBots]:
    cb = ChatBots().start()
    try:
        yield cb
    finally:
        cb.stop()


def bot_of(bots: ChatBots, kind: str) -> Bot:
    return bots.add(kind, None if kind == "wecom" else SECRET)


def setting(name: str, bot: Bot, secret: str | None = None, url: str | None = None
            ) -> ChatBot:
    return ChatBot(name, bot.kind, url or bot.url, secret or bot.secret)


def settings_for(*chat: ChatBot, operators: tuple[str, ...] = (), **kw: Any) -> Settings:
    return Settings(profile="sandbox", auth="none", allow_private_hosts=("127.0.0.1",),
                    chat_bots=chat, webhook_endpoints=({"url": "chat:team"},),
                    operator_subscribers=operators, public_url="https://courier.example.com",
                    **kw)


def export(store: TaskStore, state: TaskState = TaskState.DELIVERED, **kw: Any) -> ExportTask:
    task = ExportTask(provider="cls", params={"TopicId": "t-1", "From": 1_780_000_000_000,
                                              "To": 1_780_003_600_000}, state=state,
                      destination={"uri": "s3://bucket/cls/k.csv.gz", "key": "cls/k.csv.gz",
                                   "size": 1_572_864, "md5": "0" * 32}, **kw)
    stored, _ = store.insert_task(task)
    return stored


def deliveries(store: TaskStore, endpoint: str = "chat:team") -> list[Any]:
    return [d for d in store.list_deliveries(limit=500).items if d.endpoint == endpoint]


@pytest.mark.parametrize("kind", KINDS)
def test_delivered_and_failed_exports_arrive_signed(store: TaskStore, bots: ChatBots,
                                                    kind: str) -> None:
    bot = bot_of(bots, kind)
    settings = settings_for(setting("team", bot))
    ok = export(store)
    bad = export(store, TaskState.FAILED,
                 error={"reason": "TopicId t-1 not found", "code": "ResourceNotFound.Topic",
                        "retryable": False})
    notify.notify(store, settings, ok, "export.delivered", now=T0)
    run(store, settings, T0)
    notify.notify(store, settings, bad, "export.failed", now=T0 + timedelta(seconds=10))
    run(store, settings, T0 + timedelta(seconds=10))

    assert bots.refusals(bot) == []
    first, second = bots.received(bot)
    assert first.text.splitlines()[0] == "**Export delivered**"
    for part in (ok.id, "provider: cls", "1.5 MB", "2026-05-28 20:26 UTC", "s3://bucket/cls",
                 "https://courier.example.com/ui"):
        assert part in first.text
    assert "**Export failed**" in second.text
    assert "reason: TopicId t-1 not found" in second.text
    assert "what to do: fix the cause" in second.text
    assert all(d.state is DeliveryState.DELIVERED for d in deliveries(store))


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_secret_disables_the_bot_and_tells_the_operator(
        store: TaskStore, bots: ChatBots, kind: str) -> None:
    bot, ops = bot_of(bots, kind), bots.add("wecom")
    wrong = (setting("team", bot, url=bot.url.replace(bot.token, "0" * 32)) if kind == "wecom"
             else setting("team", bot, secret="SECwrong"))
    settings = settings_for(wrong, setting("ops", ops), operators=("chat:team", "chat:ops"),
                            webhook_retry_s=(0,) + (10.0,) * 9, webhook_disable_after_s=60)
    notify.notify(store, settings, export(store), "export.delivered", now=T0)
    stats = None
    for step in range(9):
        stats = run(store, settings, T0 + timedelta(seconds=11 * step))
        if stats.endpoints_disabled:
            break
    assert stats is not None and stats.endpoints_disabled
    (d,) = deliveries(store)
    assert d.state is DeliveryState.DISABLED
    assert "refused the message" in d.attempts[0]["error"]
    run(store, settings, T0 + timedelta(seconds=120))
    refused = {r.code for r in bots.refused}
    assert refused == ({93000} if kind == "wecom" else {310000} if kind == "dingtalk"
                       else {19021})
    (told,) = bots.received(ops)
    assert told.text.startswith("**Endpoint disabled**")
    assert "endpoint: chat:team" in told.text and "courier endpoints recover" in told.text


@pytest.mark.parametrize("kind", KINDS)
def test_a_burst_of_100_becomes_digests_within_the_limit(store: TaskStore, bots: ChatBots,
                                                         kind: str) -> None:
    bot = bot_of(bots, kind)
    settings = settings_for(setting("team", bot))
    for _ in range(100):
        notify.notify(store, settings, export(store), "export.delivered", now=T0)
    first = run(store, settings, T0)
    soon = T0 + timedelta(seconds=0.3)
    for _ in range(20):  # more arrive a moment later: the bot's next slot is not free yet
        notify.notify(store, settings, export(store), "export.delivered", now=soon)
    early = run(store, settings, soon)
    later = run(store, settings, T0 + timedelta(seconds=5))

    assert bots.refusals(bot) == []
    assert first.attempted == 1 and early.attempted == 0 and later.attempted == 1
    one, two = bots.received(bot)
    assert one.text.startswith("**100 exports delivered in the last minute:**")
    assert "- … and 60 more" in one.text
    assert two.text.startswith("**20 exports delivered in the last minute:**")
    assert len(one.text.encode()) <= 4096
    states = {d.state for d in deliveries(store)}
    assert states == {DeliveryState.DELIVERED} and len(deliveries(store)) == 120


def flood(bots: ChatBots, bot: Bot, n: int) -> None:
    """Another sender on the same bot, sending ``n`` messages within a (sandbox) minute."""
    for _ in range(n):
        bots.clock.advance(0.25)  # within Feishu's 5 a second, not its 100 a minute
        url, body = bot.url, {"msgtype": "markdown", "markdown": {"content": "x", "title": "x",
                                                                   "text": "x"}}
        if bot.kind == "dingtalk":
            ts = int(time.time() * 1000)
            url += f"&timestamp={ts}&sign={dingtalk.sign(SECRET, ts)}"
        elif bot.kind in ("feishu", "lark"):
            ts = int(time.time())
            body = {"timestamp": str(ts), "sign": feishu.sign(SECRET, ts), "msg_type": "text",
                    "content": {"text": "x"}}
        requests.post(url, data=json.dumps(body), timeout=5)


@pytest.mark.parametrize("kind,wait_s", [("wecom", 60), ("dingtalk", 600), ("feishu", 30),
                                         ("lark", 30)])
def test_a_throttled_bot_is_waited_out(store: TaskStore, bots: ChatBots, kind: str,
                                       wait_s: int) -> None:
    bot = bot_of(bots, kind)
    settings = settings_for(setting("team", bot))
    flood(bots, bot, 101 if kind in ("feishu", "lark") else 21)
    assert bots.refusals(bot)  # the platform now refuses this bot
    task = export(store)
    notify.notify(store, settings, task, "export.delivered", now=T0)
    stats = run(store, settings, T0)
    (d,) = deliveries(store)
    assert stats.attempted == 1 and stats.failed == 0 and d.state is DeliveryState.PENDING
    assert d.attempts[-1]["throttled"] and d.due_at == T0 + timedelta(seconds=wait_s)
    assert run(store, settings, T0 + timedelta(seconds=wait_s - 1)).attempted == 0

    bots.clock.advance(max(wait_s, 60) + 1)  # the platform's block is over
    stats = run(store, settings, T0 + timedelta(seconds=wait_s + 1))
    assert stats.delivered == 1
    assert task.id in bots.received(bot)[-1].text
    (d,) = deliveries(store)
    assert d.state is DeliveryState.DELIVERED


def test_a_dead_delivery_is_told_to_the_operator_bot(store: TaskStore, bots: ChatBots) -> None:
    ops = bots.add("dingtalk", SECRET)
    rx = Receiver().start()
    try:
        rx.default.status = 500
        settings = Settings(profile="sandbox", auth="none", allow_private_hosts=("127.0.0.1",),
                            chat_bots=(setting("ops", ops),), webhook_urls=(rx.url + "/h",),
                            operator_subscribers=("chat:ops",), webhook_retry_s=(0,))
        task = export(store)
        notify.notify(store, settings, task, "export.delivered", now=T0)
        run(store, settings, T0)
        run(store, settings, T0 + timedelta(seconds=5))
    finally:
        rx.stop()
    (told,) = bots.received(ops)
    assert told.title == "Delivery dead-lettered"
    assert f"export id: {task.id}" in told.text and "last error: HTTP 500" in told.text
    assert "courier deliveries resend msg_" in told.text


def test_a_long_message_is_cut_not_refused(store: TaskStore, bots: ChatBots) -> None:
    bot = bots.add("wecom")
    settings = settings_for(setting("team", bot))
    task = export(store, TaskState.FAILED, error={"reason": "line\n" * 2000, "code": "X",
                                                  "retryable": True})
    notify.notify(store, settings, task, "export.failed", now=T0)
    assert run(store, settings, T0).delivered == 1
    (got,) = bots.received(bot)
    assert len(got.text.encode()) <= 4096 and got.text.endswith("see the status page for "
                                                                "the rest)")


def test_a_bot_at_a_private_address_is_refused(store: TaskStore, bots: ChatBots) -> None:
    bot = bots.add("wecom")
    settings = settings_for(setting("team", bot)).__class__(
        profile="sandbox", auth="none", chat_bots=(setting("team", bot),),
        webhook_endpoints=({"url": "chat:team"},))
    notify.notify(store, settings, export(store), "export.delivered", now=T0)
    run(store, settings, T0)
    (d,) = deliveries(store)
    assert d.attempts[0]["error"].startswith("refused:") and bots.received(bot) == []


def test_a_gone_endpoint_is_disabled_then_recovered_and_the_operator_hears_both(
        store: TaskStore, bots: ChatBots) -> None:
    from shared.webhooks import endpoints

    ops = bots.add("feishu", SECRET)
    rx = Receiver().start()
    try:
        hook = rx.url + "/h"
        settings = Settings(profile="sandbox", auth="none", allow_private_hosts=("127.0.0.1",),
                            chat_bots=(setting("ops", ops),), webhook_urls=(hook,),
                            operator_subscribers=("chat:ops", hook))
        rx.respond(410)
        notify.notify(store, settings, export(store), "export.delivered", now=T0)
        assert run(store, settings, T0).endpoints_disabled
        run(store, settings, T0 + timedelta(seconds=5))
        endpoints.recover(store, hook, since=T0, now=T0 + timedelta(seconds=10))
        run(store, settings, T0 + timedelta(seconds=10))
        run(store, settings, T0 + timedelta(seconds=15))
    finally:
        rx.stop()
    disabled, recovered = bots.received(ops)
    assert disabled.title == "Endpoint disabled" and "endpoint answered 410 Gone" in disabled.text
    assert recovered.title == "Endpoint recovered" and rx.url in recovered.text
    # the operator's HTTP channel is the endpoint itself: it hears neither about itself
    assert not [p for p in rx.posts() if b"endpoint." in p.body]
