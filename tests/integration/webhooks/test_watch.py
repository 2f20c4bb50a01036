"""export.stuck and export.waiting reminders, raised by the timer's ticks against the sandbox:
a CLS export the sandbox keeps queuing (stuck after its provider's time, once per stall), a
DMS ticket nobody approves (reminded after the set time, not before, a bounded number of
times, never called stuck). The operator hears them on a sandbox WeCom bot."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from sandbox.chatbots import Bot, ChatBots
from shared import exports
from shared.bundle import Bundle
from shared.clock import from_iso, utcnow
from shared.config import Settings
from shared.model import ExportTask, TaskState
from shared.runtime import metrics
from shared.webhooks import watch

HOUR = timedelta(hours=1)


@pytest.fixture
def sandbox() -> Iterator[Any]:
    """Exports that stay where they are until the test moves the sandbox's clock."""
    from sandbox import Sandbox

    sb = Sandbox(port=0, queue_s=10_000.0, process_s=10_000.0, file_size=4096)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def bots() -> Iterator[ChatBots]:
    cb = ChatBots().start()
    try:
        yield cb
    finally:
        cb.stop()


@pytest.fixture
def ops(bots: ChatBots) -> Bot:
    return bots.add("wecom")


def bundle_of(env: dict[str, str], ops: Bot, **more: str) -> Bundle:
    return Bundle(Settings.from_env({
        **env, "COURIER_CHAT_BOTS": json.dumps({"ops": {"kind": "wecom", "url": ops.url}}),
        "COURIER_OPERATOR_SUBSCRIBERS": "chat:ops",
        "COURIER_PUBLIC_URL": "https://courier.example.com", **more}))


def tick(bundle: Bundle, at: datetime) -> ExportTask:
    bundle.poller.tick(deadline=time.monotonic() + 20, owner="t", now=at)
    (task,) = bundle.store().list_tasks(limit=5).items
    return task


def create(bundle: Bundle, body: dict[str, Any]) -> str:
    return exports.accept(bundle.store(), bundle.providers, body,
                          poll_interval_s=bundle.settings.poll_interval_s).task.id


def of_type(bots: ChatBots, bot: Bot, title: str) -> list[str]:
    return [m.text for m in bots.received(bot) if m.text.startswith(f"**{title}")]


def test_an_export_without_progress_is_stuck_once_per_stall(
        courier_env: dict[str, str], sandbox: Any, bots: ChatBots, ops: Bot,
        receiver: Any) -> None:
    # GIVEN a CLS export the sandbox keeps queuing, and cls's default time (3 h)
    bundle = bundle_of(courier_env, ops)
    metrics.RECORDER.take()
    now_ms = int(time.time() * 1000)
    export_id = create(bundle, {"provider": "cls", "params": {
        "TopicId": "topic-a", "From": now_ms - 3_600_000, "To": now_ms}})
    t0 = utcnow()
    tick(bundle, t0 + timedelta(seconds=5))  # submitted
    task = tick(bundle, t0 + timedelta(minutes=1))  # polled: queuing
    assert (task.state, task.stage) == (TaskState.SUBMITTED, "queuing")
    task = tick(bundle, t0 + timedelta(minutes=2))
    since = from_iso(task.watch["since"])  # when a tick first saw it queuing
    assert since is not None and since <= t0 + timedelta(minutes=2)
    assert watch.stuck_after(bundle.settings, "cls") == 3 * 3600

    # WHEN ticks go on without a change (each claims it: due within 5 minutes of a look)
    tick(bundle, since + 2 * HOUR)
    task = tick(bundle, since + 2 * HOUR + timedelta(minutes=55))
    # looked at then (due again after it), and not stuck before its time
    assert task.due_at is not None and task.due_at > since + 2 * HOUR + timedelta(minutes=55)
    assert of_type(bots, ops, "Export stuck") == []
    # THEN after it, once
    task = tick(bundle, since + 3 * HOUR + timedelta(minutes=5))
    assert task.watch["stuck"] and task.watch["stalls"] == 1
    tick(bundle, since + 4 * HOUR)
    tick(bundle, since + 5 * HOUR)
    (told,) = of_type(bots, ops, "Export stuck")
    assert f"export: `{export_id}`" in told and "where it is: submitted (queuing)" in told
    assert "(stuck after 3 h)" in told and f"courier exports cancel {export_id}" in told
    assert not [r for r in receiver.received if r.event_type == "export.stuck"]

    # WHEN it moves on (processing) and then stalls again; THEN a second, new stall is told
    sandbox.clock.advance(10_001)
    task = tick(bundle, since + 6 * HOUR)
    assert task.stage == "processing"
    task = tick(bundle, since + 6 * HOUR + timedelta(minutes=10))  # first seen processing
    assert not task.watch.get("stuck")  # that stall is over
    again = from_iso(task.watch["since"])
    assert again is not None and again > since + 6 * HOUR
    tick(bundle, again + 2 * HOUR)
    tick(bundle, again + 2 * HOUR + timedelta(minutes=55))
    assert len(of_type(bots, ops, "Export stuck")) == 1
    task = tick(bundle, again + 3 * HOUR + timedelta(minutes=5))
    assert task.watch["stalls"] == 2
    assert len(of_type(bots, ops, "Export stuck")) == 2
    stuck = [d for d in bundle.store().list_deliveries(task_id=export_id, limit=50).items
             if d.event_type == "export.stuck"]
    assert sorted(d.repeat for d in stuck) == [1, 2]
    counted = [(dims, v) for dims, items in metrics.RECORDER.take().items()
               for name, _, v in items if name == metrics.EXPORTS_STUCK]
    assert counted == [((("provider", "cls"),), 1.0)] * 2
    bundle.store().close()


def test_a_ticket_waiting_for_approval_is_reminded_not_stuck(
        courier_env: dict[str, str], sandbox: Any, bots: ChatBots, ops: Bot,
        receiver: Any) -> None:
    # GIVEN a DMS ticket nobody approves, reminders every 24 h (the default), at most 2
    bundle = bundle_of(courier_env, ops, COURIER_WAITING_REMINDERS="2")
    export_id = create(bundle, {"provider": "dms", "params": {
        "Tid": 1, "DbId": 1234, "InstanceId": 77, "Comment": "monthly orders",
        "ExeSQL": "SELECT * FROM orders WHERE month = 11"}})
    t0 = utcnow()
    metrics.RECORDER.take()
    for minutes in (0.1, 1, 2, 3, 4):
        sandbox.clock.advance(10_001)  # its pre-check passes; it waits for the approver
        task = tick(bundle, t0 + timedelta(minutes=minutes))
    assert (task.state, task.stage) == (TaskState.SUBMITTED, "waiting")
    # the wait is announced (and counted) once, not on every look at the ticket
    counted = [v for items in metrics.RECORDER.take().values()
               for name, _, v in items if name == metrics.EXPORTS_WAITING]
    assert counted == [1.0]
    since = from_iso(task.watch["since"])
    assert since is not None

    def waiting_events() -> list[dict[str, Any]]:
        return [r.payload["data"] for r in receiver.delivered()
                if r.event_type == "export.waiting"]

    assert [d.get("reminder") for d in waiting_events()] == [None]  # the wait's first word
    # WHEN a day goes by; THEN nothing until the day is full
    tick(bundle, since + 23 * HOUR)
    tick(bundle, since + 24 * HOUR - timedelta(seconds=5))
    assert of_type(bots, ops, "Export still waiting") == []
    tick(bundle, since + 24 * HOUR + timedelta(seconds=1))
    tick(bundle, since + 30 * HOUR)
    tick(bundle, since + 48 * HOUR + timedelta(seconds=1))
    tick(bundle, since + 72 * HOUR + timedelta(seconds=1))  # past the bound: no third
    tick(bundle, since + 96 * HOUR + timedelta(seconds=1))

    # THEN reminder 1 and 2, to the export's subscriber and the operator, and never stuck
    reminders = [d for d in waiting_events() if d.get("reminder")]
    assert [d["reminder"] for d in reminders] == [1, 2]
    assert all(d["export_id"] == export_id and "approved" in d["what_to_do"]
               for d in reminders)
    first, second = of_type(bots, ops, "Export still waiting")
    assert first.startswith("**Export still waiting (reminder 1)**")
    assert second.startswith("**Export still waiting (reminder 2)**")
    assert "reason: still waiting for approval in DMS" in first
    assert of_type(bots, ops, "Export stuck") == []
    bundle.store().close()


def test_an_export_whose_create_keeps_failing_is_stuck_with_the_error(
        courier_env: dict[str, str], sandbox: Any, bots: ChatBots, ops: Bot) -> None:
    # GIVEN CLS creates that keep failing (retryable), and an hour for cls
    sandbox.faults.add(service="cls", action="CreateExport", kind="error",
                       code="InternalError", times=1000)
    bundle = bundle_of(courier_env, ops, COURIER_STUCK_AFTER_S="10800,cls=3600")
    now_ms = int(time.time() * 1000)
    export_id = create(bundle, {"provider": "cls", "params": {
        "TopicId": "topic-a", "From": now_ms - 3_600_000, "To": now_ms}})
    t0 = utcnow()
    # WHEN the timer retries it (backed off at most 15 minutes) for 80 minutes
    for minutes in range(1, 81, 16):
        task = tick(bundle, t0 + timedelta(minutes=minutes))
        assert task.state is TaskState.ACCEPTED and task.error and task.error["retryable"]
    # THEN it is told stuck once, in its accepted state, with the error the timer keeps meeting
    (told,) = of_type(bots, ops, "Export stuck")
    assert f"export: `{export_id}`" in told and "where it is: accepted" in told
    assert "(stuck after 1 h)" in told and "last error: " in told and "InternalError" in told
    bundle.store().close()
