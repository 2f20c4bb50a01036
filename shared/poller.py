"""One timer tick: claim the due work, ask providers in batches, move tasks on.

Claimed tasks are leased to this tick, so two concurrent ticks never poll the same task in
one lease. Tasks of one provider and group (a CLS topic, a MongoDB instance) are polled with
one call. Every write is a compare-and-set; losing one means somebody else (a cancel, another
tick after our lease lapsed) moved the task, and we leave it alone. The tick stops taking new
work at its deadline and gives back what it claimed but did not touch.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import exports
from shared.clock import utcnow
from shared.config import Settings
from shared.errors import CourierError, ProviderError, VersionConflictError
from shared.model import ExportTask, TaskState, backoff
from shared.providers import Providers
from shared.providers.base import PollResult, RemoteStatus
from shared.state.base import TaskStore
from shared.webhooks import notify

log = logging.getLogger(__name__)

CLAIM_BATCH = 100
WAITING_POLL_S = 300.0  # a task waiting on a person is looked at every 5 minutes
REDISPATCH_S = 120.0  # a ready task not picked up by complete is handed over again after this


@dataclass
class TickStats:
    claimed: int = 0
    submitted: int = 0
    polled: int = 0
    ready: int = 0
    failed: int = 0
    dispatched: int = 0
    released: int = 0
    conflicts: int = 0
    deliveries: int = 0
    stopped_early: bool = False


class Poller:
    def __init__(self, settings: Settings, store: Callable[[], TaskStore], providers: Providers,
                 dispatch: Callable[[str], None], batch: int = CLAIM_BATCH) -> None:
        self.settings = settings
        self.batch = batch
        self.store = store
        self.providers = providers
        self.dispatch = dispatch

    def tick(self, *, deadline: float, owner: str, now: datetime | None = None) -> TickStats:
        stats = TickStats()
        store = self.store()
        while time.monotonic() < deadline:
            claimed = store.claim_due_tasks(limit=self.batch, lease_s=self.settings.lease_s,
                                            owner=owner, now=now)
            stats.claimed += len(claimed)
            if not claimed:
                break
            self._work(store, claimed, deadline, stats, now)
            if len(claimed) < self.batch:
                break
        if time.monotonic() < deadline:
            stats.deliveries = notify.deliver_due(store, self.settings, owner=owner,
                                                  deadline=deadline, now=now)
        else:
            stats.stopped_early = True
        log.info("tick done: %s", stats)
        return stats

    # ----------------------------------------------------------------- work
    def _work(self, store: TaskStore, tasks: list[ExportTask], deadline: float,
              stats: TickStats, now: datetime | None) -> None:
        groups: dict[tuple[str, str], list[ExportTask]] = defaultdict(list)
        for task in tasks:
            if time.monotonic() >= deadline:
                stats.stopped_early = True
                self._release(store, task, stats)
                continue
            if task.state is TaskState.ACCEPTED:
                self._submit(store, task, stats, now)
            elif task.state is TaskState.SUBMITTED:
                groups[(task.provider, self._group_key(task))].append(task)
            elif task.state in (TaskState.READY, TaskState.COPYING):
                self._hand_over(store, task, stats, now)
            else:  # terminal tasks are never due; be safe anyway
                task.due_at = None
                self._release(store, task, stats)
        for (provider_name, _key), group in groups.items():
            if time.monotonic() >= deadline:
                stats.stopped_early = True
                for task in group:
                    self._release(store, task, stats)
                continue
            self._poll_group(store, provider_name, group, stats, now)

    def _group_key(self, task: ExportTask) -> str:
        try:
            return self.providers.get(task.provider).group_key(task)
        except Exception:  # noqa: BLE001 - _poll_group reports it, once for the group
            return ""

    def _poll_group(self, store: TaskStore, provider_name: str, group: list[ExportTask],
                    stats: TickStats, now: datetime | None) -> None:
        """Poll one group. Whatever goes wrong there (the provider's SDK or credentials gone
        after a redeploy, an unexpected error) backs the group's tasks off; the tick goes on."""
        results: dict[str, PollResult | ProviderError]
        try:
            results = self.providers.get(provider_name).poll(group)
        except ProviderError as exc:
            results = {t.id: exc for t in group}
        except CourierError as exc:
            log.error("poll of %d %s export(s) failed: %s", len(group), provider_name, exc)
            failure = ProviderError(provider_name, "ProviderUnavailable", exc.message,
                                    retryable=True)
            results = {t.id: failure for t in group}
        except Exception:  # noqa: BLE001 - one bad group must not stop the tick
            log.exception("poll of %d %s export(s) failed unexpectedly", len(group),
                          provider_name)
            failure = ProviderError(provider_name, "PollFailed", "unexpected error while "
                                    "polling; see the function log", retryable=True)
            results = {t.id: failure for t in group}
        stats.polled += len(group)
        for task in group:
            outcome = results.get(task.id)
            if outcome is None:
                outcome = PollResult(RemoteStatus.PENDING)
            self._apply(store, task, outcome, stats, now)

    def _apply(self, store: TaskStore, task: ExportTask, outcome: PollResult | ProviderError,
               stats: TickStats, now: datetime | None) -> None:
        now = now or utcnow()
        interval = timedelta(seconds=self.settings.poll_interval_s)
        event: tuple[str, dict] | None = None
        if isinstance(outcome, ProviderError):
            if outcome.retryable:
                task.attempts += 1
                task.due_at = now + backoff(task.attempts, outcome.retry_after)
                log.warning("export %s: poll failed (%s), retrying later", task.id, outcome.code)
            else:
                task.fail(outcome.detail, code=outcome.code, retryable=False)
                event = ("export.failed", {})
        else:
            task.attempts = 0
            task.remote.update(outcome.remote)
            if outcome.progress is not None:
                task.progress = outcome.progress
            if outcome.stage is not None:
                task.stage = outcome.stage
            if outcome.status is RemoteStatus.READY:
                task.move(TaskState.READY)
                task.stage = None
                task.result.update(outcome.result)
                task.due_at = now
            elif outcome.status is RemoteStatus.FAILED:
                task.fail(outcome.reason or "the provider reported a failure",
                          code="ProviderFailed", retryable=outcome.retryable)
                event = ("export.failed", {})
            elif outcome.status is RemoteStatus.WAITING:
                first = task.stage != "waiting"
                task.stage = "waiting"
                task.due_at = now + timedelta(seconds=outcome.next_poll_s or WAITING_POLL_S)
                if first:
                    event = ("export.waiting", {"reason": outcome.reason})
            else:
                task.due_at = now + (timedelta(seconds=outcome.next_poll_s)
                                     if outcome.next_poll_s else interval)
        task.release()
        saved = self._save(store, task, stats)
        if saved is None:
            return
        if saved.state is TaskState.READY:
            stats.ready += 1
            self._hand_over(store, saved, stats, now)
        elif saved.state is TaskState.FAILED:
            stats.failed += 1
        if event is not None:
            notify.notify(store, self.settings, saved, event[0], event[1])

    def _hand_over(self, store: TaskStore, task: ExportTask, stats: TickStats,
                   now: datetime | None) -> None:
        """Give a ready task to the complete function; look again later in case it is lost."""
        task.due_at = (now or utcnow()) + timedelta(seconds=REDISPATCH_S)
        task.release()
        saved = self._save(store, task, stats)
        if saved is None:
            return
        try:
            self.dispatch(saved.id)
            stats.dispatched += 1
        except Exception:  # noqa: BLE001 - one failed hand-over must not stop the tick
            log.exception("export %s: hand-over to complete failed; will retry", saved.id)

    def _release(self, store: TaskStore, task: ExportTask, stats: TickStats) -> None:
        task.release()
        if self._save(store, task, stats) is not None:
            stats.released += 1

    def _save(self, store: TaskStore, task: ExportTask, stats: TickStats) -> ExportTask | None:
        try:
            return store.update_task(task)
        except VersionConflictError:
            stats.conflicts += 1
            log.info("export %s changed meanwhile; leaving it", task.id)
            return None

    def _submit(self, store: TaskStore, task: ExportTask, stats: TickStats,
                now: datetime | None) -> None:
        try:
            exports.submit(store, self.providers, task, now=now,
                           poll_interval_s=self.settings.poll_interval_s)
            stats.submitted += 1
        except VersionConflictError:
            stats.conflicts += 1
