"""Real exports in several states, made through the pipeline against the sandbox: what the
CLI, status-page and metrics tests look at."""

from __future__ import annotations

import time
from typing import Any

from shared import exports
from shared.copy_journal import TaskJournal
from shared.model import TaskState

TERMINAL = ("delivered", "failed", "cancelled")


def cls_export(bundle: Any, topic: str = "topic-app", **extra: Any) -> str:
    now = int(time.time() * 1000)
    body = {"provider": "cls", "params": {"TopicId": topic, "From": now - 60_000, "To": now},
            **extra}
    return exports.accept(bundle.store(), bundle.providers, body,
                          poll_interval_s=bundle.settings.poll_interval_s).task.id


def run_until_ended(bundle: Any, sandbox: Any, ids: list[str], limit_s: float = 20) -> None:
    """Timer ticks (the poll function's work, with inline completion) until ``ids`` end."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        sandbox.clock.advance(30)
        bundle.poller.tick(deadline=time.monotonic() + 15, owner="poll:test")
        states = [bundle.store().get_task(i).state.value for i in ids]
        if all(s in TERMINAL for s in states):
            return
        time.sleep(0.2)
    raise AssertionError(f"exports did not end in {limit_s}s: {states}")


def copying_export(bundle: Any, sandbox: Any, fraction: float = 0.5) -> str:
    """An export ready at the provider whose copy is under way: ``fraction`` of its bytes
    recorded by the completion's own journal, its lease held (so no tick touches it)."""
    export_id = cls_export(bundle, "topic-big")
    sandbox.clock.advance(60)
    store = bundle.store()
    task = store.get_task(export_id)
    outcome = bundle.providers.get("cls").poll([task])[task.id]
    assert not isinstance(outcome, Exception) and outcome.result
    task.move(TaskState.READY)
    task.result.update(outcome.result)
    task = store.update_task(task)
    task.move(TaskState.COPYING)
    task.lease_owner = "complete:elsewhere"
    journal = TaskJournal(store, store.update_task(task))
    journal.bytes_done = int((task.result.get("size") or 0) * fraction)
    journal.parts_done = 1
    journal.renew(600)
    return export_id


def several_states(bundle: Any, sandbox: Any) -> dict[str, str]:
    """One export each: delivered, failed, copying (half done), submitted."""
    sandbox.fail_next_export()
    failed = cls_export(bundle, "topic-broken")
    delivered = cls_export(bundle, "topic-app")
    run_until_ended(bundle, sandbox, [failed, delivered])
    copying = copying_export(bundle, sandbox)
    submitted = cls_export(bundle, "topic-later")
    return {"delivered": delivered, "failed": failed, "copying": copying,
            "submitted": submitted}
