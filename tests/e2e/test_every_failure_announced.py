"""Every accepted export ends in an event: each path from ``accepted`` to ``failed`` or
``cancelled`` sends the matching webhook exactly once, with the reason.

The walk goes through the real pieces: ``exports.accept`` (the create route's call), the
timer's ``tick``, the completer, and ``exports.cancel``, against the sandbox's CLS.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from shared import exports
from shared.bundle import Bundle
from shared.clock import utcnow
from shared.model import TaskState
from tests.e2e.helpers import cls_body


def accept(bundle: Bundle, topic: str = "topic-app") -> Any:
    return exports.accept(bundle.store(), bundle.providers, cls_body(topic),
                          poll_interval_s=bundle.settings.poll_interval_s).task


def ticks(bundle: Bundle, n: int = 3, step_s: float = 20.0) -> None:
    for i in range(1, n + 1):
        bundle.poller.tick(deadline=time.monotonic() + 20, owner=f"t{i}",
                           now=utcnow() + timedelta(seconds=step_s * i))


def events_of(bundle: Bundle, export_id: str) -> list[tuple[str, dict[str, Any]]]:
    page = bundle.store().list_deliveries(task_id=export_id, limit=200)
    return sorted((d.event_type, d.payload["data"]) for d in page.items)


def refused_at_create(bundle: Bundle, sandbox: Any) -> str:
    sandbox.missing_topics.add("topic-gone")
    task = accept(bundle, "topic-gone")
    assert task.state is TaskState.FAILED
    return task.id


def refused_when_the_timer_submits(bundle: Bundle, sandbox: Any) -> str:
    sandbox.faults.add(service="cls", action="CreateExport", code="InternalError", times=1)
    task = accept(bundle, "topic-later")
    assert task.state is TaskState.ACCEPTED  # retryable: the timer submits it
    sandbox.missing_topics.add("topic-later")
    ticks(bundle, 2, step_s=120)
    return task.id


def failed_at_the_provider(bundle: Bundle, sandbox: Any) -> str:
    sandbox.fail_exports("topic-broken")
    task = accept(bundle, "topic-broken")
    sandbox.clock.advance(10)
    ticks(bundle, 3)
    return task.id


def copy_failed_for_good(bundle: Bundle, sandbox: Any) -> str:
    sandbox.faults.add(service="files", action="Download", kind="http_status", status=404,
                       code="NoSuchKey", times=None)
    task = accept(bundle, "topic-copy")
    for _ in range(8):  # poll to ready, then the copy is tried until it gives up
        sandbox.clock.advance(10)
        ticks(bundle, 1, step_s=1000)
        if bundle.store().get_task(task.id).state.terminal:
            break
        ready = bundle.store().get_task(task.id)
        if ready.state is TaskState.READY:
            bundle.completer.complete(task.id, owner="test")
    return task.id


def cancelled(bundle: Bundle, sandbox: Any) -> str:
    task = accept(bundle, "topic-cancel")
    exports.cancel(bundle.store(), bundle.providers, task.id)
    exports.cancel(bundle.store(), bundle.providers, task.id)  # twice: still one event
    return task.id


WALK: list[tuple[str, Callable[[Bundle, Any], str], TaskState, str, str]] = [
    # id, how, end state, event, words in the reason
    ("refused-at-create", refused_at_create, TaskState.FAILED, "export.failed", "topic"),
    ("refused-when-timer-submits", refused_when_the_timer_submits, TaskState.FAILED,
     "export.failed", "topic"),
    ("failed-at-provider", failed_at_the_provider, TaskState.FAILED, "export.failed", ""),
    ("copy-failed-for-good", copy_failed_for_good, TaskState.FAILED, "export.failed",
     "copy failed"),
    ("cancelled", cancelled, TaskState.CANCELLED, "export.cancelled", "cancelled"),
]


@pytest.mark.parametrize(("how", "end", "event", "words"), [w[1:] for w in WALK],
                         ids=[w[0] for w in WALK])
def test_each_way_to_an_end_sends_its_event_once(bundle: Bundle, sandbox: Any, how: Any,
                                                 end: TaskState, event: str, words: str) -> None:
    export_id = how(bundle, sandbox)
    task = bundle.store().get_task(export_id)
    assert task.state is end, task.error
    ticks(bundle, 2, step_s=2000)  # later ticks send nothing more
    sent = events_of(bundle, export_id)
    assert [e for e, _ in sent] == [event], sent
    data = sent[0][1]
    assert data["export_id"] == export_id and data["state"] == end.value
    assert data["reason"] and words.lower() in data["reason"].lower()
    if event == "export.failed":
        assert data["reason"] == task.error["reason"] and "retryable" in data


def test_every_way_into_failed_or_cancelled_is_walked() -> None:
    # the state machine's edges into failed/cancelled from a live state, each covered above
    from shared.model import TERMINAL_STATES, TRANSITIONS

    edges = {(a.value, b.value) for a, bs in TRANSITIONS.items() if a not in TERMINAL_STATES
             for b in bs if b in (TaskState.FAILED, TaskState.CANCELLED)}
    assert edges == {("accepted", "failed"), ("accepted", "cancelled"),
                     ("submitted", "failed"), ("submitted", "cancelled"),
                     ("ready", "failed"), ("ready", "cancelled"), ("copying", "failed")}
    # accepted->failed: refused at create / by the timer; submitted->failed: at the provider;
    # copying->failed: copy failed for good; *->cancelled: cancel (ready->failed is the
    # completer's refusal before copying, which goes through the same _copy_failed)
    assert {w[0] for w in WALK} == {"refused-at-create", "refused-when-timer-submits",
                                    "failed-at-provider", "copy-failed-for-good", "cancelled"}


def test_a_second_failure_after_a_retry_is_announced_again(bundle: Bundle, sandbox: Any,
                                                           receiver: Any) -> None:
    # GIVEN an export that failed at the provider and whose export.failed was delivered
    export_id = failed_at_the_provider(bundle, sandbox)
    ticks(bundle, 1, step_s=100)
    assert [r.payload["type"] for r in receiver.delivered()] == ["export.failed"]
    # WHEN it is retried through the API and fails again
    exports.retry(bundle.store(), export_id)
    ticks(bundle, 1, step_s=200)  # the timer submits it again
    sandbox.clock.advance(10)
    ticks(bundle, 3, step_s=300)
    task = bundle.store().get_task(export_id)
    assert task.state is TaskState.FAILED and exports.public_view(task)["round"] == 1
    # and the failure of this round is announced twice more (a replayed notify)
    from shared.webhooks import notify

    notify.notify(bundle.store(), bundle.settings, task, "export.failed")
    ticks(bundle, 2, step_s=400)
    # THEN a second export.failed arrives, once, with its own webhook-id
    got = [r for r in receiver.delivered() if r.payload["data"]["export_id"] == export_id]
    assert [r.payload["type"] for r in got] == ["export.failed", "export.failed"]
    assert [r.payload["data"].get("round") for r in got] == [None, 1]
    assert len({r.webhook_id for r in got}) == 2 and all(r.verified for r in got)
    kept = bundle.store().list_deliveries(task_id=export_id, limit=200).items
    assert sorted(d.event_type for d in kept) == ["export.failed"] * 2


def test_deliveries_keyed_before_rounds_keep_their_key() -> None:
    from shared.model import WebhookDelivery

    first = WebhookDelivery(task_id="exp_1", endpoint="https://h.example/x",
                            event_type="export.failed", payload={})
    again = WebhookDelivery(task_id="exp_1", endpoint="https://h.example/x",
                            event_type="export.failed", payload={}, round=2)
    assert first.key == "exp_1|export.failed|https://h.example/x"
    assert again.key != first.key and again.key.startswith(first.key)
