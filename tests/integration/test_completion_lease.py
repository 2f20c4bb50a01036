"""The copy's lease: short, renewed while the copy runs, handed on soon after a kill."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from shared import completion, copy_journal
from shared.bundle import Bundle
from shared.clock import utcnow
from shared.model import TaskState
from tests.integration.test_poller import create_many


def ready_export(bundle: Bundle, sandbox: Any) -> str:
    """One CLS export, finished at the provider and marked ready (not yet copied)."""
    [export_id] = create_many(bundle, 1)
    sandbox.clock.advance(60)
    provider = bundle.providers.get("cls")
    task = bundle.store().get_task(export_id)
    outcome = provider.poll([task])[task.id]
    assert not isinstance(outcome, Exception) and outcome.result
    task.move(TaskState.READY)
    task.result.update(outcome.result)
    bundle.store().update_task(task)
    return export_id


def test_the_lease_is_renewed_while_the_copy_runs(bundle: Bundle, sandbox: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a copy that takes longer than its (shortened) lease
    monkeypatch.setattr(completion, "COPY_LEASE_S", 0.6)
    import shared.storage.copy as copy_module

    original = copy_module.copy_source
    seen: list[Any] = []
    during: list[Any] = []
    export_id = ready_export(bundle, sandbox)

    def slow_copy(*args: Any, **kwargs: Any) -> Any:
        for _ in range(6):
            time.sleep(0.25)
            seen.append(bundle.store().get_task(export_id).lease_until)
        during.append(bundle.completer.complete(export_id, owner="complete:second"))
        return original(*args, **kwargs)

    monkeypatch.setattr(copy_module, "copy_source", slow_copy)
    # WHEN it is completed
    task = bundle.completer.complete(export_id, owner="complete:first")
    # THEN the lease moved forward during the copy, a second invocation left it alone,
    # and the export was delivered once
    assert task.state is TaskState.DELIVERED and task.lease_owner is None
    assert len(set(seen)) >= 3 and seen == sorted(seen)
    assert during[0].state is TaskState.COPYING and during[0].lease_owner == "complete:first"


def test_a_killed_copy_is_handed_on_after_a_short_lease(bundle: Bundle, sandbox: Any,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    # GIVEN a copy whose invocation dies in the middle (nothing after it runs)
    import shared.storage.copy as copy_module

    export_id = ready_export(bundle, sandbox)
    original = copy_module.copy_source

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise SystemExit("killed")

    monkeypatch.setattr(copy_module, "copy_source", killed)
    started = utcnow()
    with pytest.raises(SystemExit):
        bundle.completer.complete(export_id, owner="complete:dies", budget_s=900)
    left = bundle.store().get_task(export_id)
    # THEN its lease lapses within about a minute, whatever the function's timeout was,
    # and the timer looks at the export as soon as it does
    assert left.state is TaskState.COPYING and left.lease_until is not None
    assert left.lease_until - started <= timedelta(seconds=completion.COPY_LEASE_S + 5)
    assert left.due_at == left.lease_until
    # AND the next tick after it lapses completes the export
    monkeypatch.setattr(copy_module, "copy_source", original)
    bundle.poller.tick(deadline=time.monotonic() + 20, owner="t",
                       now=left.lease_until + timedelta(seconds=1))
    assert bundle.store().get_task(export_id).state is TaskState.DELIVERED


def test_heartbeat_stops_with_the_copy() -> None:
    renewed = threading.Event()

    class Journal:
        task = type("T", (), {"id": "exp_x"})()

        def renew(self, lease_s: float) -> None:
            renewed.set()

    beat = copy_journal.Heartbeat(Journal(), 0.09)  # type: ignore[arg-type]
    assert renewed.wait(5)
    beat.stop()
    assert not beat._thread.is_alive()


def test_copy_progress_is_recorded_with_the_lease_and_kept(bundle: Bundle, sandbox: Any,
                                                           receiver: Any) -> None:
    from shared.exports import public_view
    from shared.model import PartRecord

    export_id = ready_export(bundle, sandbox)
    store = bundle.store()
    journal = copy_journal.TaskJournal(store, store.get_task(export_id))
    journal.started("upload-1")
    for n in range(1, 4):
        journal.part_done(PartRecord(n, f"etag{n}", (n - 1) * 1000, n * 1000))
    journal.renew(60)
    copy = public_view(store.get_task(export_id))["destination"]["copy"]
    assert (copy["bytes_done"], copy["parts_done"]) == (3000, 3)
    assert copy["bytes_total"] == store.get_task(export_id).result.get("size")
    # a finished copy keeps its duration and throughput, and export.delivered carries them
    fresh = ready_export(bundle, sandbox)
    task = bundle.completer.complete(fresh, owner="complete:t")
    done = public_view(task)["destination"]["copy"]
    assert done["bytes_done"] == done["bytes_total"] == task.destination["size"]
    assert done["duration_s"] > 0 and done["throughput_mb_s"] >= 0
    [delivery] = [d for d in store.list_deliveries(task_id=fresh).items
                  if d.event_type == "export.delivered"]
    assert delivery.payload["data"]["duration_s"] == done["duration_s"]
