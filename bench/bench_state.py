"""State store claims under contention: 4 claimer processes draining N due tasks, per backend.

    python bench/bench_state.py [--backends sqlite,postgresql,mysql,dynamodb] [--tasks N]
                                [--batch 25] [--workers 4]

For each backend, N due tasks are seeded into a fresh table, then ``--workers`` processes
(spawned, each with its own store and connection) start together and call
``claim_due_tasks(limit=batch)`` until nothing is left. ``claims_per_s`` is tasks claimed per
second of wall time, from the start signal to the last claimer's last call; ``p95_claim_ms``
is the 95th percentile latency of the calls that claimed something.

The baseline, measured in the same run on the same backend with the same N and batch, is one
claimer process alone: ``baseline`` is its claims per second and ``ratio = claims_per_s /
baseline`` — above 1 the backend spreads the work, below 1 contention costs more than the
extra claimers bring. Every run also checks that each task was claimed exactly once.

PostgreSQL and MariaDB must run on 127.0.0.1 (``bash .ci/services.sh``); DynamoDB is moto's
server on a free local port, so its numbers measure the emulator, not the service (and it
gets fewer tasks by default to keep the whole run under a minute).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
DEFAULT_TASKS = {"sqlite": 10000, "postgresql": 2000, "mysql": 2000, "dynamodb": 400}


def claimer(url: str, owner: str, batch: int, start: Any, results: Any) -> None:
    from shared.state import open_store

    ids: list[str] = []
    latencies: list[float] = []
    error = None
    end = time.monotonic()
    try:
        store = open_store(url)
        try:
            now = T0 + timedelta(seconds=60)
            start.wait(60)
            while True:
                began = time.monotonic()
                got = store.claim_due_tasks(limit=batch, lease_s=600, owner=owner, now=now)
                end = time.monotonic()
                if not got:
                    break
                latencies.append(end - began)
                ids += [t.id for t in got]
        finally:
            store.close()
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        error = f"{type(exc).__name__}: {exc}"
    results.put((owner, ids, latencies, end, error))


def seed(url: str, n: int) -> set[str]:
    from shared.model import ExportTask
    from shared.state import open_store

    store = open_store(url)
    try:
        ids = set()
        for i in range(n):
            task = ExportTask(provider="cls", params={"n": i}, created_at=T0, updated_at=T0,
                              due_at=T0 + timedelta(milliseconds=i))
            ids.add(store.insert_task(task)[0].id)
        return ids
    finally:
        store.close()


def drain(url: str, workers: int, batch: int, expected: set[str]) -> tuple[float, float]:
    """Claims per second and p95 call latency (ms) of ``workers`` processes on ``url``."""
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=claimer, args=(url, f"w{i}", batch, start, results),
                         daemon=True) for i in range(workers)]
    for p in procs:
        p.start()
    time.sleep(0.5)  # let every claimer import and connect before the start signal
    began = time.monotonic()
    start.set()
    claimed: Counter[str] = Counter()
    latencies: list[float] = []
    last = began
    try:
        for _ in procs:
            owner, ids, lat, end, error = results.get(timeout=120)
            if error:
                raise RuntimeError(f"claimer {owner}: {error}")
            claimed.update(ids)
            latencies += lat
            last = max(last, end)
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    if set(claimed) != expected or max(claimed.values(), default=0) > 1:
        raise RuntimeError(f"claims wrong: {len(expected - set(claimed))} lost, "
                           f"{sum(1 for v in claimed.values() if v > 1)} twice")
    latencies.sort()
    p95 = latencies[max(0, math.ceil(len(latencies) * 0.95) - 1)] * 1000 if latencies else 0.0
    return sum(claimed.values()) / max(last - began, 1e-9), p95


def backend_url(backend: str, tmp: str, moto: Any) -> str:
    from tests import servers

    name = servers.unique_name("bench")
    if backend == "sqlite":
        return f"sqlite:///{tmp}/{name}.db"
    if backend == "postgresql":
        return f"{servers.postgres_url()}?table={name}"
    if backend == "mysql":
        return f"{servers.mysql_url()}?table={name}"
    return f"dynamodb://{name}?region=us-east-1&endpoint={moto.url}&create=1"


def cleanup(url: str) -> None:
    from shared.state import open_store
    from tests import servers

    store = open_store(url)
    try:
        servers.drop_tables(store)
    finally:
        store.close()


def run(backend: str, args: argparse.Namespace, tmp: str, moto: Any) -> str:
    n = args.tasks or DEFAULT_TASKS[backend]
    measured = {}
    for label, workers in (("baseline", 1), ("contended", args.workers)):
        url = backend_url(backend, tmp, moto)
        try:
            ids = seed(url, n)
            measured[label] = drain(url, workers, args.batch, ids)
        finally:
            cleanup(url)
    rate, p95 = measured["contended"]
    base = measured["baseline"][0]
    return (f"bench state: backend={backend} claims_per_s={rate:.0f} p95_claim_ms={p95:.1f} "
            f"baseline={base:.0f} ratio={rate / base:.2f} tasks={n} batch={args.batch} "
            f"workers={args.workers}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql,mysql,dynamodb")
    parser.add_argument("--tasks", type=int, default=0, help="due tasks per run (0: default)")
    parser.add_argument("--batch", type=int, default=25, help="tasks per claim call")
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()

    from tests import servers

    on_ci = os.environ.get("CI", "").lower() == "true"
    status = 0
    moto = None
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    try:
        with tempfile.TemporaryDirectory(prefix="bench-state-") as tmp:
            for backend in backends:
                try:
                    if backend == "dynamodb" and moto is None:
                        os.environ.update(servers.aws_test_env())
                        moto = servers.start_moto()
                    print(run(backend, args, tmp, moto), flush=True)
                except servers.ServerUnavailable as exc:
                    print(f"bench state: backend={backend} skipped ({exc})", flush=True)
                    status = status or (1 if on_ci else 0)
                except Exception as exc:  # noqa: BLE001 - one backend failing is reported
                    print(f"bench state: backend={backend} failed: {type(exc).__name__}: {exc}",
                          flush=True)
                    status = 1
    finally:
        if moto is not None:
            moto.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
