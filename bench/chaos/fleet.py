"""The bundle's processes in a chaos run, and the platform around them.

:class:`Fleet` starts poll and complete processes (:mod:`bench.chaos.worker`), plays the
platform for asynchronous invocations (it takes the events the poller's SCF ``Invoke`` queued
at the sandbox and hands each to an idle complete process; the event of a process that dies
is handed out again, as the platforms retry a failed asynchronous invocation), and SIGKILLs a
process on demand, starting a fresh one in its place as the next invocation would.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench.chaos.world import COMPLETE_FUNCTION, World

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Proc:
    kind: str  # "poll" | "complete"
    name: str
    popen: subprocess.Popen[str]
    current: str | None = None  # the export a complete process is working on
    event: dict[str, Any] | None = None
    ready: threading.Event = field(default_factory=threading.Event)

    @property
    def owners(self) -> tuple[str, ...]:
        """Lease owners this process writes (``complete:inline`` when it completes inline)."""
        if self.kind == "poll":
            return (f"poll:{self.name}-", "complete:inline")
        return (f"complete:{self.name}-",)


class Fleet:
    def __init__(self, world: World, env: dict[str, str], log: IO[str]) -> None:
        self.world = world
        self.env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
        self.log = log
        self.procs: list[Proc] = []
        self.pending: collections.deque[dict[str, Any]] = collections.deque()
        self.handler_errors = 0
        self.redelivered = 0
        self._serial = 0
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._router = threading.Thread(target=self._route, name="chaos-platform", daemon=True)

    def start(self) -> Fleet:
        config = self.world.config
        for _ in range(config.polls):
            self.spawn("poll")
        for _ in range(config.completes):
            self.spawn("complete")
        self._router.start()
        return self

    def spawn(self, kind: str) -> Proc:
        with self._lock:
            self._serial += 1
            name = f"{kind[0]}{self._serial}"
        popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.chaos.worker", kind, name], cwd=ROOT, env=self.env,
            stdin=subprocess.PIPE if kind == "complete" else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=self.log, text=True, bufsize=1)
        proc = Proc(kind, name, popen)
        if kind == "poll":
            proc.ready.set()
        threading.Thread(target=self._read, args=(proc,), daemon=True,
                         name=f"chaos-read-{name}").start()
        with self._lock:
            self.procs.append(proc)
        return proc

    def alive(self, kind: str | None = None) -> list[Proc]:
        with self._lock:
            return [p for p in self.procs if p.popen.poll() is None
                    and (kind is None or p.kind == kind)]

    def kill(self, proc: Proc) -> None:
        """SIGKILL ``proc`` and wait for it; its event goes back to the platform's queue.
        (:meth:`spawn` its replacement.)"""
        try:
            proc.popen.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.popen.wait(10)
        with self._lock:
            self.procs.remove(proc)
            if proc.event is not None:
                self.pending.appendleft(proc.event)
                self.redelivered += 1

    def stop(self) -> None:
        self._stop.set()
        self._router.join(5)
        for proc in list(self.procs):
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGKILL)
            proc.popen.wait(10)

    # ------------------------------------------------------------- the platform
    def _read(self, proc: Proc) -> None:
        assert proc.popen.stdout is not None
        for line in proc.popen.stdout:
            word, _, arg = line.strip().partition(" ")
            with self._lock:
                if word == "ready":
                    proc.ready.set()
                elif word in ("done", "error"):
                    proc.current = proc.event = None
                    proc.ready.set()
                if word == "error":
                    self.handler_errors += 1
                    print(f"chaos: {proc.name} handler error on {arg}", file=self.log)

    def _route(self) -> None:
        scf = self.world.sb.scf
        while not self._stop.is_set():
            while (event := scf.take_event(COMPLETE_FUNCTION)) is not None:
                with self._lock:
                    self.pending.append(event)
            with self._lock:
                idle = [p for p in self.procs if p.kind == "complete" and p.ready.is_set()
                        and p.event is None and p.popen.poll() is None]
                while idle and self.pending:
                    proc, event = idle.pop(), self.pending.popleft()
                    proc.event, proc.current = event, str(event.get("export_id"))
                    proc.ready.clear()
                    try:
                        assert proc.popen.stdin is not None
                        proc.popen.stdin.write(_line(event))
                        proc.popen.stdin.flush()
                    except (BrokenPipeError, OSError):
                        self.pending.appendleft(event)
                        proc.event = proc.current = None
            time.sleep(0.05)


def _line(event: dict[str, Any]) -> str:
    import json

    return json.dumps(event) + "\n"
