"""SIGKILLs during a chaos run, and how long the exports a killed process held took to move
again.

Every kill notes the exports the process held at that moment: those under a lease it wrote
(its poll ticks' claims, its copies) and, for a complete process, the event it was running.
Recovery of one export is the time from the kill to the first write anybody makes to it
afterwards (its version moves; a dead process writes nothing). About half the kills wait for a
copy of a big file to be under way — some parts journaled, not all — and kill its process.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bench.chaos.fleet import Fleet, Proc
from shared.clock import utcnow
from shared.errors import NotFoundError
from shared.model import TaskState

LIVE = (TaskState.ACCEPTED, TaskState.SUBMITTED, TaskState.READY, TaskState.COPYING)


@dataclass
class Held:
    export_id: str
    version: int
    killed_at: float
    mid_copy: bool
    recovered_s: float | None = None


@dataclass
class KillLog:
    kills: int = 0
    mid_copy: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    held: list[Held] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=dict)  # export -> mid-copy kills it took


class Killer:
    def __init__(self, fleet: Fleet, store: Any, total: int, over_s: float,
                 rng: random.Random, big: set[str]) -> None:
        self.fleet = fleet
        self.store = store
        self.total = total
        self.over_s = over_s
        self.rng = rng
        self.big = big  # export ids with files of several parts
        self.log = KillLog()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, name="chaos-kill", daemon=True),
                         threading.Thread(target=self._watch, name="chaos-recovery",
                                          daemon=True)]

    def start(self) -> Killer:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(10)

    @property
    def done(self) -> bool:
        return self.log.kills >= self.total

    def pending_recoveries(self) -> int:
        with self._lock:
            return sum(1 for h in self.log.held if h.recovered_s is None)

    # ------------------------------------------------------------------- kills
    def _run(self) -> None:
        gap = self.over_s / max(self.total, 1)
        while self.log.kills < self.total and not self._stop.is_set():
            if self._stop.wait(self.rng.uniform(0.5, 1.5) * gap):
                return
            target = None
            if self.rng.random() < 0.5:
                target = self._copy_under_way(deadline=time.monotonic() + gap)
            if target is None:
                alive = self.fleet.alive()
                if not alive:
                    continue
                target = (self.rng.choice(alive), None)
            self.kill(*target)

    def _copy_under_way(self, deadline: float) -> tuple[Proc, str] | None:
        """A process copying a big file, some of its parts journaled (waits until
        ``deadline`` for one)."""
        while time.monotonic() < deadline and not self._stop.is_set():
            for export_id in list(self.big):
                try:
                    task = self.store.get_task(export_id)
                except NotFoundError:
                    continue
                upload_id = task.destination.get("upload_id")
                if task.state is not TaskState.COPYING or not upload_id or not task.lease_owner:
                    continue
                if not self.store.list_parts(export_id, upload_id):
                    continue
                for proc in self.fleet.alive():
                    if proc.current == export_id or task.lease_owner.startswith(proc.owners):
                        return proc, export_id
            time.sleep(0.1)
        return None

    def kill(self, proc: Proc, copying: str | None) -> None:
        killed_at = time.monotonic()
        self.fleet.kill(proc)
        held = self._held(proc, killed_at)  # before a replacement can write anything
        self.fleet.spawn(proc.kind)
        with self._lock:
            self.log.kills += 1
            self.log.by_kind[proc.kind] = self.log.by_kind.get(proc.kind, 0) + 1
            if any(h.mid_copy for h in held) or copying:
                self.log.mid_copy += 1
            for h in held:
                if h.mid_copy:
                    self.log.hits[h.export_id] = self.log.hits.get(h.export_id, 0) + 1
            self.log.held += held

    def _held(self, proc: Proc, killed_at: float) -> list[Held]:
        now = utcnow()
        ids: dict[str, Any] = {}
        if proc.current:
            try:
                ids[proc.current] = self.store.get_task(proc.current)
            except NotFoundError:
                pass
        for state in LIVE:
            cursor = None
            while True:
                page = self.store.list_tasks(state=state, limit=500, cursor=cursor)
                for task in page.items:
                    if (task.lease_owner and task.lease_owner.startswith(proc.owners)
                            and task.lease_until and task.lease_until > now):
                        ids[task.id] = task
                cursor = page.next_cursor
                if not cursor:
                    break
        held = []
        for export_id, task in ids.items():
            if task.state.terminal:
                continue
            upload_id = task.destination.get("upload_id")
            mid_copy = bool(task.state is TaskState.COPYING and upload_id
                            and self.store.list_parts(export_id, upload_id))
            held.append(Held(export_id, task.version, killed_at, mid_copy))
        return held

    # ---------------------------------------------------------------- recovery
    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                waiting = [h for h in self.log.held if h.recovered_s is None]
            for h in waiting:
                try:
                    task = self.store.get_task(h.export_id)
                except NotFoundError:
                    continue
                if task.version != h.version:
                    h.recovered_s = time.monotonic() - h.killed_at

    def recovery_max_s(self, end: float) -> float:
        """The longest recovery; one never seen counts until ``end`` (monotonic)."""
        with self._lock:
            times = [h.recovered_s if h.recovered_s is not None else end - h.killed_at
                     for h in self.log.held]
        return max(times, default=0.0)
