"""``bench_poll.py``'s exports arriving over time, and how long after its finish each settled.

``spread-first-look``: every export is stored accepted (not due yet) before the start; a
feeder thread then hands each over, at its create time in sandbox time, to
:func:`shared.exports.submitted`, the code that ends every ``exports.submit``: it stores the
export submitted and sets its first look from the live state store
(:func:`shared.groups.first_look`: with its group's look already due within one poll
interval, else one interval after its create), while the pollers run. The vendor's create
call itself is not made (the sandbox holds the export already, created at that time):
10,000 creates would take 500 s at the vendor's 20 a second.

:func:`latency`: for every export settled ready, the seconds from its finish at the sandbox
to the write that stored it ready (its ``updated_at``).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from shared.model import ExportTask, TaskState
from shared.state import open_store


def accepted(provider: str, specs: list[dict[str, Any]]) -> list[ExportTask]:
    """The exports as stored once accepted, not due: the feeder submits them."""
    tasks = []
    for spec in specs:
        created = datetime.fromtimestamp(spec["created"], timezone.utc)
        tasks.append(ExportTask(provider=provider, params=spec["params"],
                                state=TaskState.ACCEPTED, created_at=created,
                                updated_at=created, due_at=None, account=spec.get("account")))
    return tasks


class Feeder(threading.Thread):
    """Submits each of ``pairs`` (a task, its spec) once sandbox time reaches its create."""

    def __init__(self, url: str, pairs: list[tuple[ExportTask, dict[str, Any]]],
                 settings: Any, providers: Any, clock: Any,
                 on_error: Callable[[], None] = lambda: None) -> None:
        super().__init__(name="bench-feeder", daemon=True)
        self.url = url
        self.pairs = sorted(pairs, key=lambda pair: pair[1]["created"])
        self.settings = settings
        self.providers = providers
        self.clock = clock
        self.on_error = on_error
        self.fed = 0
        self.error: BaseException | None = None
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        from shared import exports
        from shared.clock import utcnow
        from shared.providers.base import Submission

        store = open_store(self.url)
        try:
            for task, spec in self.pairs:
                while (wait := spec["created"] - self.clock.now()) > 0:
                    if self._stopped.wait(min(0.05, wait)):
                        return
                stored = store.get_task(task.id)
                exports.submitted(store, self.providers,
                                  self.providers.get(stored.provider, stored.account), stored,
                                  Submission(remote=dict(spec["remote"]),
                                             stage=spec.get("stage")),
                                  now=utcnow(), poll_interval_s=self.settings.poll_interval_s)
                self.fed += 1
        except Exception as exc:  # noqa: BLE001 - reported by the case
            self.error = exc
            self.on_error()
        finally:
            store.close()


def latency(url: str, finish_by_id: dict[str, float]) -> tuple[float, float]:
    """(mean, 95th percentile) seconds from finish to the ready write, over the ready ones."""
    store = open_store(url)
    try:
        lags = []
        for task_id, finish in finish_by_id.items():
            task = store.get_task(task_id)
            if task.state is TaskState.READY:  # ready is its last write: none after it here
                lags.append(max(0.0, task.updated_at.timestamp() - finish))
    finally:
        store.close()
    if not lags:
        return math.nan, math.nan
    lags.sort()
    return sum(lags) / len(lags), lags[min(len(lags) - 1, int(0.95 * len(lags)))]
