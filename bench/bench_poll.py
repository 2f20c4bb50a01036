"""Polling at scale: API calls, throttling and time to settle N pending exports.

    python bench/bench_poll.py [--cases NAME,…] [--scale 0.1]

Each case seeds N exports into the sandbox (the provider side: finished already, or finishing
at random times over a window) and the same N as submitted tasks into a fresh state store,
then drives poll ticks (``--pollers`` of them at once, each a process of its own with its own
providers and store connection, as separate invocations would have) until every task is
settled (ready or failed). It prints one line per case::

    bench poll: provider=cls variant=finished tasks=10000 groups=10 backend=sqlite pollers=1
      calls=… min_calls=… calls_ratio=… calls_per_task=… throttled=… max_rps=… wall_s=…
      min_wall_s=… cpu_ms_per_task=… cpu_ms_per_call=… settled=… failed=…

* ``calls`` — requests the sandbox received for the provider's service (counted there,
  throttled ones included); ``throttled`` — how many of them it refused with
  RequestLimitExceeded; ``max_rps`` — the most requests one action admitted in any
  one-second window.
* ``variant`` — ``finished`` (a backlog: every export finished before the start, all due at
  once), ``spread`` (exports finishing over ``--spread-s``, all due at the start) or
  ``spread-first-look`` (the same exports handed, each at its create time, to the code that
  ends ``exports.submit`` while the pollers run (:mod:`bench.poll_feed`): first looked at one
  poll interval after its create, or with its group's look already due within that interval;
  fewer looks, each export settled up to an interval after it finishes).
* ``min_calls`` — the baseline, from the same seed: one complete listing pass per group
  after the last finish (CLS: 100 exports a page per topic; MongoDB: 100 tasks a page per
  instance; TCSS: the job list, 100 a page — or one call per job where the provider reads
  jobs one by one; DLC: DescribeTasks for 50 ids a call, plus the two calls each result
  download needs; DMS: each ticket's detail and its download URL).
  ``calls_ratio = calls / min_calls``.
* ``min_wall_s`` — the last finish (seconds after the start) plus ``min_calls`` / 20 s;
  ``wall_s`` — from the start to the last task settled.
* ``cpu_ms_per_task`` — CPU time of the poller processes (the sandbox's excluded)
  per task settled, in warm containers: each poller's provider (its SDK module imported,
  its client built) is made before the clock starts. The one-time import (about 0.1 s of
  CPU) is a cold start's, measured by ``bench_coldstart.py``. ``cpu_ms_per_call`` — the part
  of it spent inside the vendor calls (rate budget, the SDK's request and signature, the
  HTTP exchange, the answer parsed), per call.
* ``latency_mean_s``, ``latency_p95_s`` — seconds from an export's finish at the sandbox to
  the write that stored it ready (:func:`bench.poll_feed.latency`).
* ``settled`` — tasks settled (ready or failed); ``failed`` — of them, failed: every seeded
  export finishes, so anything but 0 means the case measured something else (the run fails).
* ``groups`` and ``accounts`` x ``regions``: the listing groups, spread over that many
  accounts (distinct ``task.account`` values) and regions (distinct topics: the sandbox is one
  region, and one set of keys whose per-action rate limit every account shares).

Case ``cloudwatch`` runs CloudWatch's queued exports through moto (:mod:`bench.poll_cloudwatch`);
``cpu`` sets one listing call's CPU beside the SDK's own typed method, same run
(:mod:`bench.poll_cpu`).
After the cases, ``bench poll_fleet:`` compares three pollers on PostgreSQL with one
(``calls_ratio``, ``wall_ratio``, same run), and ``bench poll_claim:`` (cases
``claim-postgresql``, ``claim-sqlite``) a tick's claim cost as the table grows to
1,000,000 rows (:mod:`bench.poll_claims`).

Sizes: the issue's cases at ``--scale 1`` (the default; ``BENCH_POLL_SCALE`` overrides), so
``BENCH_POLL_SCALE=0.1`` is a quick run. PostgreSQL must run on 127.0.0.1 for the
``postgresql`` cases (``bash .ci/services.sh``); they are skipped if it does not answer.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict, deque
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.model import ExportTask

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVICE = {"cls": "cls", "mongodb": "mongodb", "tcss": "tcss", "dlc": "dlc", "dms": "dms"}

from bench.poll_cases import (  # noqa: E402 - the repository on the path first
    VENDOR_RATE,
    Case,
    cases,
    min_calls,
    seed_sandbox,
)


# ------------------------------------------------------------------ the sandbox side
class Counting:
    """Wraps the sandbox's admission check: every admitted request's time per action, and
    the refusals (the sandbox answers those with RequestLimitExceeded)."""

    def __init__(self, sb: Any) -> None:
        self.admitted: dict[tuple[Any, Any], list[float]] = defaultdict(list)
        self.refused: dict[Any, int] = defaultdict(int)
        self._lock = threading.Lock()
        original = sb.admit

        def admit(service: Any, action: Any, account: Any = None) -> bool:
            ok = bool(original(service, action, account))
            with self._lock:
                if ok:
                    self.admitted[(service, action)].append(time.monotonic())
                else:
                    self.refused[service] += 1
            return ok

        sb.admit = admit

    def max_rps(self, service: str) -> int:
        best = 0
        for (svc, _action), times in self.admitted.items():
            if svc != service:
                continue
            window: deque[float] = deque()
            for t in sorted(times):
                window.append(t)
                while t - window[0] >= 1.0:
                    window.popleft()
                best = max(best, len(window))
        return best


# ------------------------------------------------------------------ the Courier side
class NoDispatch:
    """Ready tasks are left ready: the bench measures polling, not copies."""

    def dispatch(self, export_id: str) -> None:
        pass


def timed_calls(provider: Any, total: list[float] | None = None) -> list[float]:
    """Count the CPU time (this thread's) spent inside ``provider``'s vendor calls: the
    rate budget, the SDK's request building and signing, the HTTP exchange and the answer's
    parsing. Returns the running total (one cell; ``total`` to add to one already kept)."""
    total = [0.0] if total is None else total
    api = getattr(provider, "api", None)
    if api is None:
        return total
    call = api.call

    def timed(action: str, params: dict[str, Any]) -> Any:
        began = time.thread_time()
        try:
            return call(action, params)
        finally:
            total[0] += time.thread_time() - began

    api.call = timed
    return total


def state_url(backend: str, tmp: str, name: str) -> str | None:
    if backend == "sqlite":
        return f"sqlite:///{tmp}/{name}.db"
    try:
        import psycopg

        url = "postgresql://postgres@127.0.0.1:5432/test"
        psycopg.connect(url, connect_timeout=3).close()
    except Exception:  # noqa: BLE001 - reported as a skip
        return None
    return f"{url}?table={name}"


def seed_store(url: str, case: Case, specs: list[dict[str, Any]], providers: Any
               ) -> list[tuple[ExportTask, dict[str, Any]]]:
    """The exports in the store, in one bulk insert: submitted and due at the start as
    ``exports.submit`` stores them (their listing group included), or, for
    ``spread-first-look``, accepted and not due yet, for the feeder to submit
    (:mod:`bench.poll_feed`). Returns each task with its spec."""
    from bench.poll_claims import bulk_insert
    from bench.poll_feed import accepted
    from shared.groups import poll_group
    from shared.model import ExportTask, TaskState
    from shared.state import open_store

    store = open_store(url)
    now = datetime.now(timezone.utc)
    if case.first_look_after_create:
        tasks = accepted(case.provider, specs)
    else:
        tasks = []
        for spec in specs:
            created = datetime.fromtimestamp(spec["created"], timezone.utc)
            task = ExportTask(
                provider=case.provider, params=spec["params"], state=TaskState.SUBMITTED,
                remote=spec["remote"], stage=spec.get("stage"), created_at=created,
                updated_at=created, due_at=now, account=spec.get("account"))
            task.poll_group = poll_group(providers, task)
            tasks.append(task)
    try:
        bulk_insert(store, tasks)
    finally:
        store.close()
    return list(zip(tasks, specs))


def run_case(case: Case, tmp: str, timeout_s: float, tick_s: float
             ) -> tuple[str, dict[str, float]]:
    """The case's line, and its figures (calls, wall_s) for the comparisons after."""
    from sandbox import Sandbox
    from shared.bundle import Bundle
    from shared.config import Settings
    from shared.fleet import Account
    from shared.providers import Providers
    from shared.state import open_store
    from shared.vendor_settings import AlibabaSettings, TencentSettings

    name = f"bench_poll_{case.name.replace('-', '_')}_{uuid.uuid4().hex[:6]}"
    url = state_url(case.backend, tmp, name)
    if url is None:
        return f"bench poll: case={case.name} skipped: PostgreSQL does not answer", {}
    sb = Sandbox(port=0, queue_s=1.0, process_s=2.0, file_size=1024).start()
    try:
        counting = Counting(sb)
        # the named accounts the tasks name: the sandbox's keys each (one region, one rate
        # limit they all share); an account not configured fails its exports
        accounts = tuple(Account(name=f"acct-{a:02d}", vendor="tencent", region="ap-guangzhou",
                                 secret_id=sb.secret_id, secret_key=sb.secret_key,
                                 endpoint=sb.url)
                         for a in range(case.accounts if case.accounts > 1 else 0))
        settings = Settings(state_url=url, profile="sandbox", tencent=TencentSettings(
            secret_id=sb.secret_id, secret_key=sb.secret_key, token=None,
            region="ap-guangzhou", endpoint=sb.url), alibaba=AlibabaSettings(
            *sb.dms.credentials, endpoint=sb.url), accounts=accounts)
        start_sb = sb.clock.now() + 2.0  # seeding takes a moment: finishes count from the go
        specs, last_finish = seed_sandbox(sb, case, start_sb)
        providers = Providers(settings)
        pairs = seed_store(url, case, specs, providers)
        while sb.clock.now() < start_sb:
            time.sleep(0.01)
        # Each poller is a process of its own, as separate invocations are (forked: the
        # sandbox and its counters stay in this one). Shared figures: settled, poller CPU,
        # CPU inside vendor calls, when the last task settled.
        ctx = multiprocessing.get_context("fork")
        settled, cpu, call_cpu = ctx.Value("i", 0), ctx.Value("d", 0.0), ctx.Value("d", 0.0)
        failed = ctx.Value("i", 0)  # of them, settled as failed (every one should be ready)
        began = time.monotonic()
        finished_at = ctx.Value("d", began)

        aborted = ctx.Event()  # the feeder failed: the pollers stop

        def poller_loop(k: int) -> None:
            import shared.poller

            # NoDispatch leaves ready tasks ready: no hand-over again after REDISPATCH_S, which
            # a completion would have made needless (and whose write would move updated_at,
            # the latency's end)
            shared.poller.REDISPATCH_S = timeout_s + 60
            store = open_store(url)  # each poller a separate invocation, wired as in production
            bundle = Bundle(settings, store=store, dispatcher=NoDispatch())
            provider = bundle.providers.get(case.provider)  # a warm container: SDK imported,
            in_calls = timed_calls(provider)  # client built; CPU inside its vendor calls
            for account in accounts:  # and each named account's own client
                timed_calls(bundle.providers.get(case.provider, account.name), in_calls)
            poller = bundle.poller
            used = time.process_time()
            try:
                while (time.monotonic() - began < timeout_s and settled.value < case.tasks
                       and not aborted.is_set()):
                    stats = poller.tick(deadline=time.monotonic() + tick_s,
                                        owner=f"bench-{k}-{uuid.uuid4().hex[:6]}")
                    with settled.get_lock():
                        settled.value += stats.ready + stats.failed
                        failed.value += stats.failed
                        if stats.ready + stats.failed:
                            finished_at.value = time.monotonic()
                    if not stats.claimed:
                        time.sleep(0.2)
            finally:
                with cpu.get_lock():
                    cpu.value += time.process_time() - used
                    call_cpu.value += in_calls[0]
                store.close()

        procs = [ctx.Process(target=poller_loop, args=(k,)) for k in range(case.pollers)]
        for proc in procs:
            proc.start()
        feeder = None
        if case.first_look_after_create:  # started after the fork: the pollers hold no thread
            from bench.poll_feed import Feeder

            feeder = Feeder(url, pairs, settings, providers, sb.clock, on_error=aborted.set)
            feeder.start()
        for proc in procs:
            proc.join()
        if feeder is not None:
            feeder.stop()
            feeder.join()
            if feeder.error is not None:
                raise RuntimeError(f"the feeder stopped: {feeder.error!r}")
        from bench.poll_feed import latency

        lat_mean, lat_p95 = latency(url, {t.id: spec["finish"] for t, spec in pairs})
        service = SERVICE[case.provider]
        calls = sum(n for (svc, _a), n in sb.calls.items() if svc == service)
        base = min_calls(case)
        done = settled.value
        wall = finished_at.value - began
        min_wall = max(0.0, last_finish - start_sb) + base / VENDOR_RATE
        line = (f"bench poll: provider={case.provider} variant={case.variant} "
                f"tasks={case.tasks} groups={case.groups} backend={case.backend} "
                f"pollers={case.pollers} calls={calls} min_calls={base} "
                f"calls_ratio={calls / base:.2f} calls_per_task={calls / max(done, 1):.3f} "
                f"throttled={counting.refused[service]} max_rps={counting.max_rps(service)} "
                f"wall_s={wall:.1f} min_wall_s={min_wall:.1f} "
                f"cpu_ms_per_task={cpu.value * 1000 / max(done, 1):.2f} "
                f"cpu_ms_per_call={call_cpu.value * 1000 / max(calls, 1):.2f} "
                f"latency_mean_s={lat_mean:.1f} latency_p95_s={lat_p95:.1f} settled={done} "
                f"failed={failed.value}")
        if case.accounts > 1:
            line += f" accounts={case.accounts} regions={case.regions}"
        return line, {"calls": calls, "wall_s": wall, "settled": done}
    finally:
        sb.stop()
        if case.backend == "postgresql":
            drop_tables(url, name)


def drop_tables(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url.split("?", 1)[0], autocommit=True) as conn:
        for suffix in ("records", "parts", "buckets"):
            conn.execute(f"DROP TABLE IF EXISTS {name}_{suffix}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", type=float,
                        default=float(os.environ.get("BENCH_POLL_SCALE", "1")))
    parser.add_argument("--cases", default=os.environ.get("BENCH_POLL_CASES", ""),
                        help="comma-separated case names (default: all)")
    parser.add_argument("--spread-s", type=float,
                        default=float(os.environ.get("BENCH_POLL_SPREAD_S", "120")),
                        help="window over which the spread variant's tasks finish")
    parser.add_argument("--timeout-s", type=float,
                        default=float(os.environ.get("BENCH_POLL_TIMEOUT_S", "900")))
    parser.add_argument("--tick-s", type=float, default=60.0, help="each tick's deadline")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    wanted = {c for c in args.cases.split(",") if c}
    failed = False
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
        for case in cases(args.scale, args.spread_s):
            if wanted and case.name not in wanted:
                continue
            line, figures[case.name] = run_case(case, tmp, args.timeout_s, args.tick_s)
            print(line, flush=True)
            failed |= "skipped" not in line and (f"settled={case.tasks}" not in line
                                                 or " failed=0 " not in f"{line} ")
        if not wanted or "cpu" in wanted:  # the call's CPU beside same-run references
            from bench.poll_cpu import run as run_cpu

            print(run_cpu(f"sqlite:///{tmp}/bench_poll_cpu.db"), flush=True)
        if not wanted or "cloudwatch" in wanted:  # through moto: bench/poll_cloudwatch.py
            from bench.poll_cloudwatch import run as run_cloudwatch

            queued = max(5, int(20 * args.scale))
            line = run_cloudwatch(queued, tmp, args.timeout_s, timed_calls, NoDispatch())
            print(line, flush=True)
            failed |= "skipped" not in line and not line.endswith(f"settled={queued}")
        one, three = figures.get("cls-10-pg-1"), figures.get("cls-10-pg-3")
        if one and three:  # the fleet against one poller, measured in this run
            print(f"bench poll_fleet: backend=postgresql pollers=3 "
                  f"calls_ratio={three['calls'] / one['calls']:.2f} "
                  f"wall_ratio={three['wall_s'] / one['wall_s']:.2f}", flush=True)
        for backend in ("postgresql", "sqlite"):
            if wanted and f"claim-{backend}" not in wanted:
                continue
            name = f"bench_claim_{uuid.uuid4().hex[:6]}"
            url = state_url(backend, tmp, name)
            if url is None:
                print(f"bench poll_claim: backend={backend} skipped: PostgreSQL does not "
                      "answer", flush=True)
                continue
            from bench.poll_claims import claim_cost

            try:
                for line in claim_cost(url, backend, args.scale):
                    print(line, flush=True)
            finally:
                if backend == "postgresql":
                    drop_tables(url, name)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
