"""One chaos configuration from start to verdict: the world up, the fleet of processes up,
exports created through the real create handler while faults and kills rain down, the drain,
then the counts (:mod:`bench.chaos.verify`) and the checks they must pass."""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bench.chaos import plan, verify
from bench.chaos.fleet import Fleet
from bench.chaos.killer import Killer
from bench.chaos.worker import READS_ENV
from bench.chaos.world import PART_MB, Config, World
from shared.model import DeliveryState

RECOVERY_BOUND_S = 120.0


@dataclass(frozen=True)
class Scale:
    exports: int
    kills: int
    faults: int
    create_s: float  # exports are created (and faults injected) over this long
    drain_s: float  # then at most this long for everything to end
    big: bool = True  # some files take several parts (and some kills land mid-copy)
    hook_timeouts: int = 3  # webhook answers held past the sender's timeout

    @classmethod
    def of(cls, factor: float) -> Scale:
        """``CHAOS_SCALE``: 1 is the standing run; smaller shrinks it for development."""
        return cls(exports=max(6, round(200 * factor)), kills=max(2, round(24 * factor)),
                   faults=max(4, round(200 * factor)), create_s=max(10.0, 100 * factor),
                   drain_s=240.0, big=factor >= 0.2)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def create(world: World, body: dict[str, Any], idem: str) -> tuple[int, dict[str, Any]]:
    import json

    from courier.demo import http_event
    from courier.local import LocalContext
    from functions import create_export

    event = http_event("scf_apigw_post_exports.json", body, world.api_key, idem)
    answer = create_export.handler(event, LocalContext())
    return int(answer["statusCode"]), json.loads(answer["body"])


def run_config(config: Config, scale: Scale, *, seed: int = 1,
               log: IO[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Run one configuration; (counts, broken checks)."""
    started = time.monotonic()
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix=f"chaos-{config.name}-") as tmp:
        work = Path(tmp)
        log = log or (work / "processes.log").open("w")
        world = World(config, work).start()
        try:
            # the creates run here, quietly; the processes log into ``log``
            with environment({**world.env(), "POWERTOOLS_LOG_LEVEL": "CRITICAL"}):
                return _run(world, scale, rng, log, started)
        finally:
            world.stop()
            world.drop_state()


def _run(world: World, scale: Scale, rng: random.Random, log: IO[str],
         started: float) -> tuple[dict[str, Any], list[str]]:
    from functions import common
    from shared.state import open_store

    common.reset()
    world.sb.fail_exports(plan.FAILING_TOPIC)
    plans = plan.exports(scale.exports, rng, world)
    if not scale.big:
        for p in plans:
            p.big = False
        world.sb.mongodb.file_sizes.clear()
    store = open_store(world.state_url)
    store.list_tasks(limit=1)  # the schema is made before the processes start
    reads = world.work / "reads.log"
    fleet = Fleet(world, {**world.env(), READS_ENV: str(reads)}, log).start()
    world.script.recover_at = time.time() + scale.create_s * 0.6
    world.script.timeouts_left = scale.hook_timeouts
    faults = plan.FaultPlan(world, scale.faults, scale.create_s, rng).start()
    big: set[str] = set()
    killer = Killer(fleet, store, scale.kills, scale.create_s + 20, rng, big).start()
    accepted: dict[int, str] = {}
    refused: dict[int, int] = {}
    run_id = secrets.token_hex(3)
    try:
        for p in plans:
            status, answer = create(world, p.body, f"chaos-{run_id}-{p.n}")
            if status == 202:
                accepted[p.n] = answer["id"]
                if p.big:
                    big.add(answer["id"])
            else:
                refused[p.n] = status
                print(f"chaos: create {p.n} answered {status}: {answer}", file=log)
            time.sleep(scale.create_s / max(len(plans), 1))
        deadline = time.monotonic() + scale.drain_s
        checked: set[str] = set()
        while time.monotonic() < deadline and not _drained(store, accepted, killer):
            nudge(world, store, accepted, checked)
            time.sleep(1.0)
    finally:
        faults.stop()
        killer.stop()
        fleet.stop()
    end = time.monotonic()
    counts = _count(world, store, plans, accepted, killer, fleet, faults, log)
    counts.update(refused=len(refused), wall_s=round(end - started, 1))
    store.close()
    common.reset()
    return counts, checks(counts, scale)


def nudge(world: World, store: Any, accepted: dict[int, str], checked: set[str]) -> None:
    """Play the DMS approver (the sandbox approves at submission): an export waiting for its
    ticket's approval is asked to look again (``POST /exports/ID/check``), as the demo does,
    instead of after the five minutes a person is given."""
    from courier.demo import http_event
    from courier.local import LocalContext
    from functions import create_export

    for export_id in accepted.values():
        if export_id in checked:
            continue
        task = store.get_task(export_id)
        if task.stage != "waiting" or task.state.terminal:
            continue
        checked.add(export_id)
        event = http_event("scf_apigw_post_exports.json", {}, world.api_key, f"check-{task.id}")
        event["body"] = ""
        event["path"] = event["requestContext"]["path"] = f"/exports/{task.id}/check"
        create_export.handler(event, LocalContext())


def _drained(store: Any, accepted: dict[int, str], killer: Killer) -> bool:
    if not killer.done or killer.pending_recoveries():
        return False
    for export_id in accepted.values():
        if not store.get_task(export_id).state.terminal:
            return False
    return not store.list_deliveries(state=DeliveryState.PENDING, limit=1).items


def _count(world: World, store: Any, plans: list[plan.Planned], accepted: dict[int, str],
           killer: Killer, fleet: Fleet, faults: plan.FaultPlan, log: IO[str]
           ) -> dict[str, Any]:
    out = verify.outcomes(world, store, plans, accepted)
    tasks = out.pop("tasks")
    dups, dup_by, twice = verify.provider_dups(world)
    by_tag = {plan.tag(p.n): accepted.get(p.n) for p in plans}
    sizes = {str(t.remote.get("TaskId")): int(t.result.get("size") or 0)
             for t in tasks.values() if t.id in killer.big}
    read = verify.bytes_read(world.work / "reads.log", sizes)
    reread = 0
    for export_id in killer.big:
        task = tasks.get(export_id)
        if task is None or task.state.value != "delivered":
            continue
        size = int(task.destination.get("size") or 0)
        extra = max(0, read.get(str(task.remote.get("TaskId")), 0) - size)
        reread = max(reread, extra // max(1, killer.log.hits.get(export_id, 0)))
    counts: dict[str, Any] = {
        "accepted": len(accepted), "delivered": out["delivered"], "failed": out["failed"]}
    counts.update({f"failed_{code}": n for code, n in sorted(out["failed_by"].items())})
    counts.update({
        "failed_unplanned": out["failed_unplanned"], "stuck": out["stuck"],
        "lost": out["lost"], "dup_provider_tasks": dups,
        "files_verified": out["files_verified"], "files_bad": out["files_bad"],
        "dup_objects": verify.dup_objects(world, tasks)})
    counts.update(verify.webhooks(world, store, tasks))
    counts.update({
        "kills": killer.log.kills, "kills_mid_copy": killer.log.mid_copy,
        "bytes_reread_per_kill": reread, "part_bytes": PART_MB * 1024 * 1024,
        "parts_in_flight": parts_in_flight(world.destination()),
        "recovery_max_s": round(killer.recovery_max_s(time.monotonic()), 1),
        "faults": faults.count, "handler_errors": fleet.handler_errors,
        "hook_failures": world.script.failures, "hook_timeouts": world.script.timeouts})
    for t in twice[:3]:
        export_id = by_tag.get(t.split(":")[1][:9])
        if export_id in tasks:
            print(f"chaos: made twice {t}: remote={tasks[export_id].remote} "
                  f"error={tasks[export_id].error}", file=log)
    counts["_detail"] = {"dup_by": dup_by,
                         "made_twice": [f"{t} {by_tag.get(t.split(':')[1][:9])}"
                                        for t in twice][:10], "stuck_ids": out["stuck_ids"][:10],
                         "bad_ids": out["bad_ids"][:10], "faults": faults.injected}
    return counts


def parts_in_flight(destination: str) -> int:
    """How many parts a copy into ``destination`` may have read and not yet stored: its
    upload parallelism, from the setting the copy itself takes it from."""
    from shared.storage import open_destination
    from shared.storage.copy import copy_concurrency

    return copy_concurrency(open_destination(destination))


ZERO = ("lost", "stuck", "dup_provider_tasks", "dup_objects", "files_bad",
        "webhook_dups_after_2xx", "webhooks_missing", "dead_letters", "failed_unplanned",
        "handler_errors")


def checks(counts: dict[str, Any], scale: Scale) -> list[str]:
    """What is broken: counters that must be 0, and the bounds."""
    broken = [f"{name}={counts[name]}" for name in ZERO if counts.get(name)]
    # a kill costs the parts in flight: read, and not yet stored
    bound = counts["parts_in_flight"] * counts["part_bytes"]
    if counts["bytes_reread_per_kill"] > bound:
        broken.append(f"bytes_reread_per_kill={counts['bytes_reread_per_kill']} > "
                      f"parts_in_flight={counts['parts_in_flight']} parts")
    if counts["recovery_max_s"] > RECOVERY_BOUND_S:
        broken.append(f"recovery_max_s={counts['recovery_max_s']} > {RECOVERY_BOUND_S:g}")
    if counts["kills"] < scale.kills:
        broken.append(f"kills={counts['kills']} < {scale.kills} planned")
    if counts["accepted"] < scale.exports:
        broken.append(f"accepted={counts['accepted']} < {scale.exports} created")
    if counts["delivered"] == 0:
        broken.append("nothing delivered")
    return broken


def line(config: str, counts: dict[str, Any]) -> str:
    fields = " ".join(f"{k}={v}" for k, v in counts.items() if not k.startswith("_"))
    return f"bench chaos: config={config} {fields}"
