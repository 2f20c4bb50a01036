"""The timer tick against the sandbox and a real SQLite file shared by two pollers."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from shared.bundle import Bundle
from shared.clock import utcnow
from shared.config import Settings
from shared.model import TaskState
from shared.poller import REDISPATCH_S


def create_many(bundle: Bundle, n: int, topics: int = 3) -> list[str]:
    from shared import exports

    now = int(time.time() * 1000)
    ids = []
    for i in range(n):
        body = {"provider": "cls", "params": {"TopicId": f"topic-{i % topics}",
                                              "From": now - 60_000, "To": now}}
        ids.append(exports.accept(bundle.store(), bundle.providers, body,
                                   poll_interval_s=bundle.settings.poll_interval_s).task.id)
    return ids


def test_two_racing_pollers_poll_each_task_once_per_lease(courier_env: dict[str, str],
                                                          sandbox: Any) -> None:
    # GIVEN two pollers (separate connections to one state file) and 30 due exports
    first = Bundle(Settings.from_env(courier_env))
    second = Bundle(Settings.from_env(courier_env))
    ids = create_many(first, 30)
    for b in (first, second):  # many small claim rounds, so the two interleave
        b.poller.batch = b.poller.max_claim = 4
    polled: Counter[str] = Counter()
    lock = threading.Lock()
    for b in (first, second):
        provider = b.providers.get("cls")
        original = provider.poll

        def counting(tasks: list, _orig: Any = original) -> Any:
            with lock:
                polled.update(t.id for t in tasks)
            time.sleep(0.05)  # widen the window in which the other poller could interfere
            return _orig(tasks)

        provider.poll = counting  # type: ignore[method-assign]
    later = utcnow() + timedelta(seconds=5)  # every export is due

    # WHEN both tick at the same moment
    barrier = threading.Barrier(2)
    stats = []

    def run(b: Bundle, owner: str) -> None:
        barrier.wait()
        stats.append(b.poller.tick(deadline=time.monotonic() + 20, owner=owner, now=later))

    threads = [threading.Thread(target=run, args=(b, f"poller-{i}"))
               for i, b in enumerate((first, second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    # THEN every export was polled exactly once, by one of them
    assert set(polled) == set(ids)
    assert max(polled.values()) == 1
    assert sum(s.claimed for s in stats) == 30
    assert all(s.claimed > 0 for s in stats)  # both really took part
    first.store().close()
    second.store().close()


def test_throttled_poll_backs_off_then_succeeds(bundle: Bundle, sandbox: Any) -> None:
    [export_id] = create_many(bundle, 1)
    sandbox.faults.add(service="cls", action="DescribeExports", kind="error",
                       code="RequestLimitExceeded", times=1)
    now = utcnow() + timedelta(seconds=5)
    bundle.poller.tick(deadline=time.monotonic() + 10, owner="t1", now=now)
    task = bundle.store().get_task(export_id)
    assert task.state is TaskState.SUBMITTED
    assert task.attempts == 1
    assert task.due_at is not None and task.due_at > now  # backed off
    sandbox.clock.advance(60)
    bundle.poller.tick(deadline=time.monotonic() + 10, owner="t2",
                       now=task.due_at + timedelta(seconds=1))
    task = bundle.store().get_task(export_id)
    assert task.attempts == 0
    assert task.state is TaskState.DELIVERED


def test_create_failure_is_kept_and_submitted_later(bundle: Bundle, sandbox: Any) -> None:
    sandbox.faults.add(service="cls", action="CreateExport", kind="error",
                       code="InternalError", times=1)
    [export_id] = create_many(bundle, 1)
    task = bundle.store().get_task(export_id)
    assert task.state is TaskState.ACCEPTED  # nothing accepted is lost
    assert task.error and task.error["retryable"]
    assert task.due_at is not None
    bundle.poller.tick(deadline=time.monotonic() + 10, owner="t",
                       now=task.due_at + timedelta(seconds=1))
    task = bundle.store().get_task(export_id)
    assert task.state is TaskState.SUBMITTED
    assert task.remote["ExportId"]
    assert sandbox.calls[("cls", "CreateExport")] == 2


def test_tick_stops_at_its_deadline_and_gives_work_back(bundle: Bundle) -> None:
    # GIVEN exports on three topics, and a provider whose first listing outlasts the budget
    ids = create_many(bundle, 6, topics=3)
    provider = bundle.providers.get("cls")
    original = provider.poll
    polled: list[str] = []

    def slow(tasks: list) -> Any:
        polled.extend(t.id for t in tasks)
        time.sleep(0.6)
        return original(tasks)

    provider.poll = slow  # type: ignore[method-assign]
    # WHEN the tick has only half a second
    stats = bundle.poller.tick(deadline=time.monotonic() + 0.5, owner="short",
                               now=utcnow() + timedelta(seconds=5))
    # THEN it claimed and polled one topic (groups are claimed one at a time: the other two
    # were never taken), left the rest unpolled, and skipped the webhooks
    assert stats.claimed == 2 and stats.groups == 1
    assert stats.stopped_early
    assert len(polled) == 2
    untouched = [bundle.store().get_task(i) for i in ids if i not in polled]
    assert len(untouched) == 4
    assert all(t.lease_owner is None and t.state is TaskState.SUBMITTED for t in untouched)


def test_one_bad_group_does_not_stop_the_tick(bundle: Bundle, sandbox: Any) -> None:
    # GIVEN exports on two topics, and a provider that breaks on one topic's group in a way
    # no provider error describes (a bug, an SDK missing after a redeploy)
    ids = create_many(bundle, 4, topics=2)
    provider = bundle.providers.get("cls")
    original = provider.poll

    def breaks_on_topic_0(tasks: list) -> Any:
        if tasks[0].params["TopicId"] == "topic-0":
            raise RuntimeError("boom")
        return original(tasks)

    provider.poll = breaks_on_topic_0  # type: ignore[method-assign]
    now = utcnow() + timedelta(seconds=5)
    sandbox.clock.advance(60)  # every export is finished at the provider
    # WHEN one tick runs
    stats = bundle.poller.tick(deadline=time.monotonic() + 20, owner="t", now=now)
    tasks = [bundle.store().get_task(i) for i in ids]
    broken = [t for t in tasks if t.params["TopicId"] == "topic-0"]
    fine = [t for t in tasks if t.params["TopicId"] == "topic-1"]
    # THEN the broken group backed off, kept and released; the other group went on
    assert stats.claimed == 4 and not stats.stopped_early
    assert len(broken) == len(fine) == 2
    assert all(t.state is TaskState.SUBMITTED and t.attempts == 1 and t.lease_owner is None
               and t.due_at is not None and t.due_at > now for t in broken)
    assert all(t.state is TaskState.DELIVERED for t in fine)


def test_a_provider_without_credentials_backs_off_its_group(courier_env: dict[str, str],
                                                            sandbox: Any) -> None:
    # GIVEN exports made by a deployment with Tencent keys, polled by one without them
    made = Bundle(Settings.from_env(courier_env))
    ids = create_many(made, 2, topics=1)
    made.store().close()
    env = {k: v for k, v in courier_env.items() if not k.startswith("TENCENTCLOUD_SECRET")}
    broken = Bundle(Settings.from_env(env))
    try:
        now = utcnow() + timedelta(seconds=5)
        stats = broken.poller.tick(deadline=time.monotonic() + 20, owner="t", now=now)
        assert stats.claimed == 2
        for export_id in ids:
            task = broken.store().get_task(export_id)
            assert task.state is TaskState.SUBMITTED and task.lease_owner is None
            assert task.attempts == 1 and task.due_at is not None and task.due_at > now
    finally:
        broken.store().close()


def test_a_task_found_ready_is_written_once_and_handed_over(courier_env: dict[str, str],
                                                           sandbox: Any) -> None:
    # GIVEN an export finished at CLS, and a complete function that is handed tasks only
    handed: list[str] = []

    class Recording:
        def dispatch(self, export_id: str) -> None:
            handed.append(export_id)

    bundle = Bundle(Settings.from_env(courier_env), dispatcher=Recording())
    [export_id] = create_many(bundle, 1)
    sandbox.clock.advance(60)
    store = bundle.store()
    writes: list[TaskState] = []
    original, original_many = store.update_task, store.update_tasks

    def counting(task: Any) -> Any:
        writes.append(task.state)
        return original(task)

    def counting_many(tasks: list[Any]) -> Any:  # a group's writes, one transaction
        writes.extend(t.state for t in tasks)
        return original_many(tasks)

    store.update_task = counting  # type: ignore[method-assign]
    store.update_tasks = counting_many  # type: ignore[method-assign]
    now = utcnow() + timedelta(seconds=5)
    # WHEN a tick finds it ready
    stats = bundle.poller.tick(deadline=time.monotonic() + 10, owner="t", now=now)
    # THEN one write made it READY, due again only once a lost hand-over may be retried
    assert stats.ready == 1 and handed == [export_id]
    assert writes == [TaskState.READY]
    task = store.get_task(export_id)
    assert task.state is TaskState.READY
    # (the store keeps milliseconds)
    assert task.due_at is not None
    assert task.due_at >= now + timedelta(seconds=REDISPATCH_S, milliseconds=-1)
    store.close()


def test_a_tick_reports_how_overdue_its_oldest_export_was(bundle: Bundle, sandbox: Any) -> None:
    from shared.runtime import metrics

    create_many(bundle, 3)
    metrics.RECORDER.take()  # what accepting counted
    # WHEN the timer comes 95 s after the exports were due (they are due one poll interval
    # after acceptance)
    due = max(t.due_at for t in bundle.store().list_tasks().items if t.due_at)
    bundle.poller.tick(deadline=time.monotonic() + 20, owner="p", now=due + timedelta(seconds=95))
    lags = [v for items in metrics.RECORDER.take().values()
            for name, unit, v in items if name == metrics.POLL_LAG_SECONDS]
    # THEN one lag per tick, the oldest export's, in seconds
    assert len(lags) == 1 and 95 <= lags[0] < 100
    # and a tick that claims nothing reports no lag (nothing waited)
    bundle.poller.tick(deadline=time.monotonic() + 5, owner="p", now=due)
    assert not any(name == metrics.POLL_LAG_SECONDS for items in metrics.RECORDER.take().values()
                   for name, _, _ in items)
