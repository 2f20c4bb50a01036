"""One timer tick: claim the due work, ask providers group by group, move tasks on.

A tick claims work two ways. Submitted exports of a listing group (a CLS topic, a MongoDB
instance, DLC's running queries, … per account: :mod:`shared.groups`) are claimed a whole
group at a time: the tick takes the group's lease, claims its due tasks (up to
:data:`GROUP_CAP`), lists it once and settles them, and holds the group until the tick ends,
so every group is listed by one poller per tick however many pollers run; the others take
other groups. Groups go the one due longest first, each capped, so a big group never keeps a
small one waiting beyond its share. A group's tasks due within :data:`EARLY_S` ride along,
and all its tasks get one time for their next look: they stay together instead of coming
due a moment apart and costing a listing each. A group's results are written together
(:data:`SAVE_BATCH` to a transaction, each a compare-and-set). Everything else (accepted
exports to create, ready ones to hand over, exports a provider lists alone, rows written
before groups) is claimed task by task (up to :data:`MAX_CLAIM`) and grouped after the claim
as before.
Claimed tasks are leased to this tick, so two concurrent ticks never poll the same task in
one lease. Every write is a compare-and-set; losing one means somebody else (a cancel,
another tick after our lease lapsed) moved the task, and we leave it alone. A tick killed
while holding a group loses that group's tick only: the leases lapse and another tick takes
the group.

Deadlines: the tick works until its deadline or until shortly before its leases lapse,
whichever is first. Vendor calls run under that deadline (:func:`call_deadline`): one that
could not finish is not made, and what the tick claimed but did not get to is released as it
was, due at once for the next tick. A group whose listing broke off keeps what it read;
only its tasks not yet seen back off.

Intervals adapt (:func:`next_look`): a task near 100 % is looked at sooner, one pending for
long later, within bounds.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared import exports, groups
from shared.clock import utcnow
from shared.config import Settings
from shared.errors import CourierError, ProviderError, VersionConflictError
from shared.model import ExportTask, TaskState, backoff
from shared.pacing import DEADLINE_CODE, call_deadline
from shared.providers import Providers
from shared.providers.base import PollResult, RemoteStatus
from shared.runtime import metrics
from shared.runtime.context import export_context, export_keys
from shared.state.base import TaskStore
from shared.webhooks import notify, watch

log = logging.getLogger(__name__)

CLAIM_BATCH = 500  # tasks per claim query
MAX_CLAIM = 10_000  # tasks claimed at once; more due than this take another round
GROUP_CAP = 10_000  # tasks of one listing group claimed per tick
GROUP_BATCH = 100  # listing groups looked up at once
EARLY_S = 5.0  # a group's task due this soon rides along on the group's listing
SAVE_BATCH = 500  # a group's polled tasks written in one transaction, up to this many
LEASE_MARGIN_S = 10.0  # stop working this long before the first lease lapses
WAITING_POLL_S = 300.0  # a task waiting on a person is looked at every 5 minutes
REDISPATCH_S = 120.0  # a ready task not picked up by complete is handed over again after this


MIN_LOOK_S = 5.0  # the soonest a pending task is looked at again
MAX_LOOK_S = 300.0  # the latest (unless the poll interval itself is longer)
NEAR_DONE = 90  # progress (%) from which a task is looked at four times as often
LONG_PENDING_S = 600.0  # pending longer than this: the interval grows with the age


def next_look(interval_s: float, progress: int | None, pending_s: float) -> float:
    """Seconds until a pending task is looked at again.

    ``interval_s`` (the poll interval) by default; a quarter of it once the vendor reports
    :data:`NEAR_DONE` % or more (at least :data:`MIN_LOOK_S`); after :data:`LONG_PENDING_S`
    of pending, the interval times the age in those units — 20 minutes pending, twice it —
    up to :data:`MAX_LOOK_S`."""
    if progress is not None and progress >= NEAR_DONE:
        return max(min(MIN_LOOK_S, interval_s), interval_s / 4)
    factor = max(1.0, pending_s / LONG_PENDING_S)
    return min(interval_s * factor, max(interval_s, MAX_LOOK_S))


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
    groups: int = 0  # listing groups claimed whole
    deliveries: int = 0
    stopped_early: bool = False


class Poller:
    def __init__(self, settings: Settings, store: Callable[[], TaskStore], providers: Providers,
                 dispatch: Callable[[str], None], batch: int = CLAIM_BATCH,
                 max_claim: int = MAX_CLAIM, group_cap: int = GROUP_CAP) -> None:
        self.settings = settings
        self.batch = batch
        self.max_claim = max_claim
        self.group_cap = group_cap
        self.store = store
        self.providers = providers
        self.dispatch = dispatch

    def tick(self, *, deadline: float, owner: str, now: datetime | None = None) -> TickStats:
        stats = TickStats()
        store = self.store()
        held: list[str] = []
        try:
            while time.monotonic() < deadline:
                more = self._solo_round(store, owner, now, deadline, stats)
                if stats.stopped_early:  # out of time for what it held: claim nothing more
                    break
                if not self._group_round(store, owner, now, deadline, stats, held) and not more:
                    break
        finally:
            for group in held:  # a group given back now is free for the next tick anywhere
                try:
                    store.release_group(group, owner)
                except Exception:  # noqa: BLE001 - its lease lapses by itself
                    log.warning("listing group %s not released; its lease lapses", group)
        if time.monotonic() < deadline:
            stats.deliveries = notify.deliver_due(store, self.settings, owner=owner,
                                                  deadline=deadline, now=now)
        else:
            stats.stopped_early = True
        log.info("tick done: %s", stats)
        return stats

    def _work_by(self, leased_at: float, deadline: float) -> float:
        """When work on what was claimed at ``leased_at`` stops: the deadline, or shortly
        before the claim's leases lapse."""
        margin = min(LEASE_MARGIN_S, self.settings.lease_s / 4)
        return min(deadline, leased_at + self.settings.lease_s - margin)

    def _solo_round(self, store: TaskStore, owner: str, now: datetime | None, deadline: float,
                    stats: TickStats) -> bool:
        """Claim and work the tasks of no listing group; whether more may be due."""
        leased_at = time.monotonic()
        claimed = self._claim(store, owner, now, deadline)
        if claimed:
            self._claimed(store, claimed, stats, now)
            self._work(store, claimed, self._work_by(leased_at, deadline), stats, now)
        return len(claimed) >= self.max_claim

    def _group_round(self, store: TaskStore, owner: str, now: datetime | None,
                     deadline: float, stats: TickStats, held: list[str]) -> bool:
        """Claim the due listing groups nobody holds, the one due longest first, and work
        each; whether any was claimed. A group is claimed once per tick (``held``)."""
        worked = False
        names = [g for g in store.due_groups(limit=len(held) + GROUP_BATCH, now=now)
                 if g not in held]
        for name in names:
            if stats.stopped_early or time.monotonic() >= deadline:
                stats.stopped_early = True
                break
            leased_at = time.monotonic()
            claimed = store.claim_group(name, limit=self.group_cap,
                                        lease_s=self.settings.lease_s, owner=owner, now=now,
                                        early_s=EARLY_S)
            if not claimed:  # another tick holds it (or took its tasks meanwhile)
                continue
            held.append(name)
            stats.groups += 1
            self._claimed(store, claimed, stats, now)
            self._work(store, claimed, self._work_by(leased_at, deadline), stats, now)
            worked = True
        return worked

    def _claimed(self, store: TaskStore, claimed: list[ExportTask], stats: TickStats,
                 now: datetime | None) -> None:
        if not stats.claimed:  # claims go oldest first: the first holds the most overdue
            self._lag(claimed, now)
        stats.claimed += len(claimed)
        watch.look(store, self.settings, claimed, now)  # stalls and long waits: told

    @staticmethod
    def _lag(claimed: list[ExportTask], now: datetime | None) -> None:
        """PollLagSeconds: how long past its due time the most overdue claimed export waited
        (timers that stopped firing, or ticks too short for the work, make it grow)."""
        at = now or utcnow()
        lags = [(at - t.due_at).total_seconds() for t in claimed if t.due_at is not None]
        metrics.add(metrics.POLL_LAG_SECONDS, max([0.0, *lags]), metrics.SECONDS)

    def _claim(self, store: TaskStore, owner: str, now: datetime | None,
               deadline: float) -> list[ExportTask]:
        """Everything due of no listing group, up to ``max_claim``, in claims of ``batch``."""
        claimed: list[ExportTask] = []
        while len(claimed) < self.max_claim and time.monotonic() < deadline:
            limit = min(self.batch, self.max_claim - len(claimed))
            got = store.claim_due_tasks(limit=limit, lease_s=self.settings.lease_s, owner=owner,
                                        now=now, solo=True)
            claimed += got
            if len(got) < limit:
                break
        return claimed

    # ----------------------------------------------------------------- work
    def _work(self, store: TaskStore, tasks: list[ExportTask], deadline: float,
              stats: TickStats, now: datetime | None) -> None:
        by_group: dict[tuple[str, str, str], list[ExportTask]] = defaultdict(list)
        for task in tasks:
            if time.monotonic() >= deadline:
                stats.stopped_early = True
                self._release(store, task, stats)
                continue
            if task.state is TaskState.ACCEPTED:
                with export_context(task.id, task.provider):
                    self._submit(store, task, stats, now)
            elif task.state is TaskState.SUBMITTED:
                by_group[groups.group_of(self.providers, task)].append(task)
            elif task.state in (TaskState.READY, TaskState.COPYING):
                with export_context(task.id, task.provider):
                    self._hand_over(store, task, stats, now, deadline)
            else:  # terminal tasks are never due; be safe anyway
                task.due_at = None
                self._release(store, task, stats)
        for (provider_name, _account, _key), group in by_group.items():
            if time.monotonic() >= deadline:
                stats.stopped_early = True
                for task in group:
                    self._release(store, task, stats)
                continue
            self._poll_group(store, provider_name, group, deadline, stats, now)

    def _poll_group(self, store: TaskStore, provider_name: str, group: list[ExportTask],
                    deadline: float, stats: TickStats, now: datetime | None) -> None:
        """Poll one group. Whatever goes wrong there (the provider's SDK or credentials gone
        after a redeploy, an unexpected error) backs the group's tasks off; the tick goes on.
        Tasks whose call could not be made before the deadline are released as they were."""
        results: dict[str, PollResult | ProviderError]
        try:
            with call_deadline(deadline), export_context(None, provider_name):
                # one account per group: named accounts' keys carry their name
                results = self.providers.get(provider_name, group[0].account).poll(group)
        except ProviderError as exc:
            results = {t.id: exc for t in group}
        except CourierError as exc:
            log.error("poll of %d %s export(s) failed: %s", len(group), provider_name, exc,
                      extra={"provider": provider_name})
            failure = ProviderError(provider_name, "ProviderUnavailable", exc.message,
                                    retryable=True)
            results = {t.id: failure for t in group}
        except Exception:  # noqa: BLE001 - one bad group must not stop the tick
            log.exception("poll of %d %s export(s) failed unexpectedly", len(group),
                          provider_name, extra={"provider": provider_name})
            failure = ProviderError(provider_name, "PollFailed", "unexpected error while "
                                    "polling; see the function log", retryable=True)
            results = {t.id: failure for t in group}
        now = now or utcnow()  # one time for the group: its next looks stay together
        settled: list[tuple[ExportTask, tuple[str, dict] | None]] = []
        for task in group:
            outcome = results.get(task.id)
            if outcome is None:
                outcome = PollResult(RemoteStatus.PENDING)
            if isinstance(outcome, ProviderError) and outcome.code == DEADLINE_CODE:
                stats.stopped_early = True
                self._release(store, task, stats)
                continue
            stats.polled += 1
            with export_context(task.id, task.provider):
                event = self._apply(task, outcome, now)
                if isinstance(outcome, PollResult) and outcome.resubmit:
                    # at once, under this tick's lease, the way every create is made: the
                    # create-open marker stored before the call (a kill leaves it accepted)
                    saved = self._save(store, task, stats)
                    if saved is not None:
                        self._submit(store, saved, stats, now)
                    continue
            task.release()
            settled.append((task, event))
        # the group's writes in one transaction per SAVE_BATCH, then what follows each
        for (_task, event), saved in zip(settled, self._save_all(store, [t for t, _e in settled],
                                                                  stats)):
            if saved is not None:
                with export_context(saved.id, saved.provider):
                    self._after(store, saved, event, stats, deadline)

    def _apply(self, task: ExportTask, outcome: PollResult | ProviderError,
               now: datetime) -> tuple[str, dict] | None:
        """Move ``task`` on by what the provider said; the event to announce, if any."""
        event: tuple[str, dict] | None = None
        was_waiting = task.stage == "waiting"  # before the provider's own stage is taken
        if isinstance(outcome, ProviderError):
            if outcome.retryable:
                task.attempts += 1
                task.due_at = now + backoff(task.attempts, outcome.retry_after)
                log.warning("export %s: poll failed (%s), retrying later", task.id, outcome.code)
            else:
                task.fail(outcome.detail, code=outcome.code, retryable=False)
                event = ("export.failed", {})
            return event
        task.attempts = 0
        task.remote.update(outcome.remote)
        if outcome.progress is not None:
            task.progress = outcome.progress
        if outcome.stage is not None:
            task.stage = outcome.stage
        if outcome.resubmit:  # more to create (a CLS part re-split, CloudWatch's next
            task.move(TaskState.ACCEPTED)  # group): exports.submit makes it
            task.progress = None
            task.due_at = now
        elif outcome.status is RemoteStatus.READY:
            task.move(TaskState.READY)
            task.stage = None
            task.result.update(outcome.result)
            # handed over after the write; looked at again after REDISPATCH_S if it is lost
            task.due_at = now + timedelta(seconds=REDISPATCH_S)
        elif outcome.status is RemoteStatus.FAILED:
            task.fail(outcome.reason or "the provider reported a failure",
                      code="ProviderFailed", retryable=outcome.retryable)
            event = ("export.failed", {})
        elif outcome.status is RemoteStatus.WAITING:
            task.stage = "waiting"
            task.due_at = now + timedelta(seconds=outcome.next_poll_s or WAITING_POLL_S)
            if not was_waiting:
                event = ("export.waiting", {"reason": outcome.reason})
        else:
            task.due_at = now + timedelta(seconds=outcome.next_poll_s or next_look(
                self.settings.poll_interval_s, task.progress,
                (now - task.created_at).total_seconds()))
        return event

    def _after(self, store: TaskStore, saved: ExportTask, event: tuple[str, dict] | None,
               stats: TickStats, deadline: float) -> None:
        """What follows a stored poll result: the hand-over, the cleanup, the webhook."""
        if saved.state is TaskState.READY:
            stats.ready += 1
            self._dispatch(saved, stats, deadline)  # one write: READY, due after REDISPATCH_S
        elif saved.state is TaskState.FAILED:
            stats.failed += 1
            exports.abandon(self.providers, saved)
        if event is not None:
            notify.notify(store, self.settings, saved, event[0], event[1])

    def _hand_over(self, store: TaskStore, task: ExportTask, stats: TickStats,
                   now: datetime | None, deadline: float) -> None:
        """Give a ready task to the complete function; look again later in case it is lost."""
        task.due_at = (now or utcnow()) + timedelta(seconds=REDISPATCH_S)
        task.release()
        saved = self._save(store, task, stats)
        if saved is not None:
            self._dispatch(saved, stats, deadline)

    def _dispatch(self, saved: ExportTask, stats: TickStats, deadline: float) -> None:
        """Hand ``saved`` over; a completion made inline ends by the tick's ``deadline``."""
        try:
            with call_deadline(deadline):
                self.dispatch(saved.id)
            stats.dispatched += 1
        except Exception:  # noqa: BLE001 - one failed hand-over must not stop the tick
            log.exception("export %s: hand-over to complete failed; will retry", saved.id)

    def _release(self, store: TaskStore, task: ExportTask, stats: TickStats) -> None:
        task.release()
        if self._save(store, task, stats) is not None:
            stats.released += 1

    def _save_all(self, store: TaskStore, tasks: list[ExportTask],
                  stats: TickStats) -> list[ExportTask | None]:
        """:meth:`_save` for each, :data:`SAVE_BATCH` to a transaction."""
        out: list[ExportTask | None] = []
        for i in range(0, len(tasks), SAVE_BATCH):
            batch = tasks[i:i + SAVE_BATCH]
            for task in batch:
                task.poll_group = groups.poll_group(self.providers, task)
            for task, saved in zip(batch, store.update_tasks(batch)):
                if saved is None:
                    stats.conflicts += 1
                    log.info("export %s changed meanwhile; leaving it", task.id,
                             extra=export_keys(task.id, task.provider))
                out.append(saved)
        return out

    def _save(self, store: TaskStore, task: ExportTask, stats: TickStats) -> ExportTask | None:
        task.poll_group = groups.poll_group(self.providers, task)  # a stage may change it
        try:
            return store.update_task(task)
        except VersionConflictError:
            stats.conflicts += 1
            log.info("export %s changed meanwhile; leaving it", task.id,
                     extra=export_keys(task.id, task.provider))
            return None

    def _submit(self, store: TaskStore, task: ExportTask, stats: TickStats,
                now: datetime | None) -> None:
        try:
            exports.submit(store, self.providers, task, now=now,
                           poll_interval_s=self.settings.poll_interval_s)
            stats.submitted += 1
        except VersionConflictError:
            stats.conflicts += 1
