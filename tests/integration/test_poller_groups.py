"""Listing groups claimed whole across pollers: several pollers on one PostgreSQL or SQLite
store list each group once per tick; a poller that stops dead holding a group loses only that
group's tick; a small group settles while a huge one is due. The provider side is seeded
straight into the sandbox; the Courier side goes through the real pollers, SDK and stores."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared import groups
from shared.bundle import Bundle
from shared.clock import to_iso, utcnow
from shared.config import Settings
from shared.errors import VersionConflictError
from shared.model import ExportTask, TaskState
from shared.state import open_store
from shared.state.records import GROUP
from tests import servers
from tests.integration.test_poller_at_scale import seed_cls

pytestmark = pytest.mark.integration


class Recording:
    """A dispatcher that only counts hand-overs (the copies are not what is tested here)."""

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self._lock = threading.Lock()

    def dispatch(self, export_id: str) -> None:
        with self._lock:
            self.sent[export_id] += 1


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'groups.db'}"
        return
    url = f"{servers.require(servers.postgres_url)}?table={servers.unique_name('grp')}"
    yield url
    store = open_store(url)
    servers.drop_tables(store)
    store.close()


def pollers(courier_env: dict[str, str], url: str, n: int) -> tuple[list[Bundle], Recording]:
    """``n`` pollers, each with its own providers and store connection, as separate
    invocations have; one dispatcher counting what all of them hand over."""
    settings = Settings.from_env({**courier_env, "COURIER_STATE_URL": url})
    sent = Recording()
    return [Bundle(settings, dispatcher=sent) for _ in range(n)], sent


def pending(bundle: Bundle, topic: str, export_ids: list[str]) -> list[ExportTask]:
    """Submitted exports of ``topic`` as ``exports.submit`` stores them: with their group."""
    out = []
    for export_id in export_ids:
        task = ExportTask(provider="cls", params={"TopicId": topic, "From": 1, "To": 2},
                          state=TaskState.SUBMITTED, remote={"ExportId": export_id},
                          due_at=utcnow())
        task.poll_group = groups.poll_group(bundle.providers, task)
        out.append(bundle.store().insert_task(task)[0])
    return out


def tick_together(bundles: list[Bundle], now: Any) -> list[Any]:
    stats: list[Any] = [None] * len(bundles)
    start = threading.Barrier(len(bundles))

    def run(k: int) -> None:
        start.wait()
        stats[k] = bundles[k].poller.tick(deadline=time.monotonic() + 60, owner=f"p{k}",
                                          now=now)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(bundles))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats


def test_several_pollers_list_each_group_once_per_tick(courier_env: dict[str, str],
                                                       sandbox: Any, state_url: str) -> None:
    # GIVEN three pollers on one store and six topics of 150 finished exports each
    bundles, sent = pollers(courier_env, state_url, 3)
    tasks = []
    for k in range(6):
        topic = f"topic-g{k}"
        tasks += pending(bundles[0], topic, seed_cls(sandbox, topic, 150))
    assert {t.poll_group for t in tasks} == {f"cls||cls:topic-g{k}" for k in range(6)}
    # WHEN all three tick at once
    stats = tick_together(bundles, utcnow() + timedelta(seconds=1))
    # THEN each topic was listed once across the three (two pages of 100 each), each group
    # claimed by one of them, every export settled and handed over exactly once
    assert sandbox.calls[("cls", "DescribeExports")] == 6 * math.ceil(150 / 100)
    assert sum(s.groups for s in stats) == 6 and sum(s.claimed for s in stats) == 900
    assert sum(s.ready for s in stats) == 900 and sum(s.conflicts for s in stats) == 0
    assert sent.sent == Counter({t.id: 1 for t in tasks})
    store = bundles[0].store()
    assert all(store.get_task(t.id).state is TaskState.READY for t in tasks)
    for b in bundles:
        b.store().close()


def test_a_poller_stopped_dead_holding_a_group_loses_only_that_groups_tick(
        courier_env: dict[str, str], sandbox: Any, state_url: str) -> None:
    # GIVEN two pollers and two topics; the first poller hangs inside its first listing,
    # holding that topic's group (as a function killed mid-tick would leave it)
    (dead, alive), sent = pollers(courier_env, state_url, 2)
    held = pending(dead, "topic-held", seed_cls(sandbox, "topic-held", 30))
    other = pending(dead, "topic-other", seed_cls(sandbox, "topic-other", 30))
    provider = dead.providers.get("cls")
    original = provider.poll
    inside, wake = threading.Event(), threading.Event()

    def hang(tasks: list[ExportTask]) -> Any:
        inside.set()
        wake.wait(60)
        return original(tasks)

    provider.poll = hang  # type: ignore[method-assign]
    now = utcnow() + timedelta(seconds=1)
    woke: list[Any] = []
    late = threading.Thread(target=lambda: woke.append(dead.poller.tick(
        deadline=time.monotonic() + 120, owner="dead", now=now)))
    late.start()
    try:
        assert inside.wait(30)
        # WHEN the other poller ticks while the lease is live
        first = alive.poller.tick(deadline=time.monotonic() + 60, owner="alive-1", now=now)
        # THEN it takes the other group only; the held one is not listed twice
        assert first.groups == 1 and first.ready == len(other)
        store = alive.store()
        assert all(store.get_task(t.id).state is TaskState.SUBMITTED for t in held)
        # WHEN it ticks again after the dead one's leases lapsed
        later = now + timedelta(seconds=alive.settings.lease_s + 1)
        second = alive.poller.tick(deadline=time.monotonic() + 60, owner="alive-2", now=later)
        # THEN it takes the held group over and settles all of it: nothing lost
        assert second.groups == 1 and second.ready == len(held)
    finally:
        wake.set()
        late.join(60)
    # ... and the dead poller's late answers change nothing: nothing is made twice
    assert woke[0].conflicts == len(held) and woke[0].ready == 0
    assert all(alive.store().get_task(t.id).state is TaskState.READY for t in held + other)
    # (the other topic's ready ones were handed over again at ``later``, REDISPATCH_S after
    # the first time, as any ready export not picked up is)
    assert all(sent.sent[t.id] == 1 for t in held)
    stale = held[0]
    stale.progress = 99
    with pytest.raises(VersionConflictError):
        dead.store().update_task(stale)
    for b in (dead, alive):
        b.store().close()


KILLED_TICK = """
import json, os, signal, sys
from shared.bundle import Bundle
from shared.clock import from_iso
from shared.config import Settings

env = json.loads(os.environ["KILLED_TICK_ENV"])
bundle = Bundle(Settings.from_env(env))
provider = bundle.providers.get("cls")
provider.poll = lambda tasks: os.kill(os.getpid(), signal.SIGKILL)  # dies mid-listing
now = from_iso(os.environ["KILLED_TICK_NOW"])
bundle.poller.tick(deadline=1e12, owner="killed", now=now)
"""


def test_a_poller_killed_holding_a_group_loses_only_that_groups_tick(
        courier_env: dict[str, str], sandbox: Any, state_url: str) -> None:
    # GIVEN one topic of 40 pending exports
    (alive,), sent = pollers(courier_env, state_url, 1)
    tasks = pending(alive, "topic-kill", seed_cls(sandbox, "topic-kill", 40))
    now = utcnow() + timedelta(seconds=1)
    # WHEN a poller in another process claims the group and is killed (SIGKILL: no cleanup
    # runs) in the middle of its listing
    child = subprocess.run(
        [sys.executable, "-c", KILLED_TICK], timeout=120, capture_output=True, text=True,
        env={**os.environ, "KILLED_TICK_NOW": str(to_iso(now)), "KILLED_TICK_ENV": json.dumps(
            {**courier_env, "COURIER_STATE_URL": state_url})})
    assert child.returncode == -9, child.stderr
    # THEN the group and its exports stay leased to the dead poller ...
    store = alive.store()
    [name] = {str(t.poll_group) for t in tasks}
    lease = store.get_record(GROUP, name)
    assert lease is not None and lease.lease_owner == "killed"
    assert {store.get_task(t.id).lease_owner for t in tasks} == {"killed"}
    # ... so a tick while the lease is live leaves the group alone (no second listing)
    assert alive.poller.tick(deadline=time.monotonic() + 60, owner="a1", now=now).groups == 0
    assert ("cls", "DescribeExports") not in sandbox.calls
    # WHEN the lease has lapsed, the next tick takes the group and settles all of it
    later = now + timedelta(seconds=alive.settings.lease_s + 1)
    stats = alive.poller.tick(deadline=time.monotonic() + 60, owner="a2", now=later)
    assert stats.groups == 1 and stats.ready == len(tasks)
    assert sandbox.calls[("cls", "DescribeExports")] == 1
    # THEN nothing was lost and nothing made twice
    assert all(store.get_task(t.id).state is TaskState.READY for t in tasks)
    assert sent.sent == Counter({t.id: 1 for t in tasks})
    store.close()


def test_a_small_group_settles_while_a_huge_one_is_due(courier_env: dict[str, str],
                                                       sandbox: Any, tmp_path: Path) -> None:
    # GIVEN a huge topic due for longer than a small one, and a cap of 100 tasks a group a tick
    (bundle,), _sent = pollers(courier_env, f"sqlite:///{tmp_path / 'fair.db'}", 1)
    bundle.poller.group_cap = 100
    huge = pending(bundle, "topic-huge", seed_cls(sandbox, "topic-huge", 400))
    time.sleep(0.01)
    small = pending(bundle, "topic-small", seed_cls(sandbox, "topic-small", 3))
    # WHEN one tick runs
    stats = bundle.poller.tick(deadline=time.monotonic() + 60, owner="t",
                               now=utcnow() + timedelta(seconds=1))
    # THEN the small topic is settled although the huge one still has 300 due
    store = bundle.store()
    assert all(store.get_task(t.id).state is TaskState.READY for t in small)
    waiting = [t for t in huge if store.get_task(t.id).state is TaskState.SUBMITTED]
    assert len(waiting) == 300 and stats.groups == 2 and stats.ready == 103
    # ... and the huge one goes on with its next share on the next tick
    bundle.poller.tick(deadline=time.monotonic() + 60, owner="t2",
                       now=utcnow() + timedelta(seconds=2))
    assert sum(store.get_task(t.id).state is TaskState.SUBMITTED for t in huge) == 200
    store.close()
