"""``bench_poll.py``'s cases, and what each seeds at the sandbox.

:class:`Case` is one line of the bench (a provider, how many exports over how many listing
groups, the state backend and pollers, finished before the start or finishing over a
window); :func:`seed_sandbox` puts its exports at the sandbox, finished or finishing when
the case says, and returns what the state store is to hold of each; :func:`min_calls` is the
fewest vendor calls that could settle them (the ``calls_ratio`` baseline).
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from typing import Any

VENDOR_RATE = 20.0  # the vendors' calls a second per action (the sandbox's limit)


@dataclass(frozen=True)
class Case:
    name: str
    provider: str
    tasks: int
    groups: int
    backend: str = "sqlite"
    pollers: int = 1
    spread_s: float = 0.0  # 0: every task finished before the start
    accounts: int = 1  # groups spread over this many accounts (``task.account``) …
    regions: int = 1  # … times this many regions: groups = accounts * regions
    # each export first looked at one poll interval after its create, as exports.submit
    # schedules it, rather than all at the start (spread only: a backlog is due at once)
    first_look_after_create: bool = False

    @property
    def variant(self) -> str:
        if not self.spread_s:
            return "finished"
        return "spread-first-look" if self.first_look_after_create else "spread"

    def topic(self, g: int) -> tuple[str | None, str]:
        """Group ``g``'s account (None: the deployment's own) and its topic / instance."""
        if self.accounts == 1 and self.regions == 1:
            return None, f"{g:04d}"
        account, region = divmod(g, self.regions)
        return f"acct-{account:02d}", f"a{account:02d}-r{region}"


def cases(scale: float, spread_s: float) -> list[Case]:
    def n(full: int) -> int:
        return max(10, int(full * scale))

    return [
        Case("cls-1", "cls", n(10000), 1),
        Case("cls-10", "cls", n(10000), 10),
        Case("cls-100", "cls", n(10000), 100),
        Case("cls-10-spread", "cls", n(10000), 10, spread_s=spread_s),
        Case("cls-10-spread-first-look", "cls", n(10000), 10, spread_s=spread_s,
             first_look_after_create=True),
        Case("mongodb-4", "mongodb", n(10000), 4),
        Case("tcss", "tcss", n(1000), 1),
        Case("dlc", "dlc", n(1000), 1),
        Case("dms", "dms", n(300), 1),
        Case("cls-10-pg-1", "cls", n(10000), 10, backend="postgresql", pollers=1),
        Case("cls-10-pg-3", "cls", n(10000), 10, backend="postgresql", pollers=3),
        Case("cls-20x3-pg-3", "cls", n(50000), 60, backend="postgresql", pollers=3,
             accounts=20, regions=3),
    ]


def seed_sandbox(sb: Any, case: Case, start: float) -> tuple[list[dict[str, Any]], float]:
    """Provider-side tasks; returns (task specs for the store, last finish in sandbox time)."""
    from sandbox.cls import Export
    from sandbox.dlc import SqlTask
    from sandbox.dms_orders import Order
    from sandbox.jobs import Job, parse_time

    rng = random.Random(12)
    lead = sb.queue_s + sb.process_s
    specs: list[dict[str, Any]] = []
    last = start - 1.0
    # a MongoDB log task's log range: the one its export asks for (a listing selects by it)
    low, high = (parse_time(name, value) for name, value in (
        ("StartTime", "2026-03-01 00:00:00"), ("EndTime", "2026-03-01 01:00:00")))
    assert low is not None and high is not None  # noqa: S101 - both given
    log_range = (low, high)
    for i in range(case.tasks):
        finish = start + rng.uniform(0, case.spread_s) if case.spread_s else start - 1.0 - (
            case.tasks - i) * 1e-4
        last = max(last, finish)
        created = finish - lead
        specs_before = len(specs)
        account, group = case.topic(i % case.groups)
        if case.provider == "cls":
            export_id = str(uuid.uuid4())
            sb.cls.exports[export_id] = Export(
                export_id=export_id, topic_id=f"topic-bench-{group}", query="*",
                from_ms=1_700_000_000_000, to_ms=1_700_000_060_000, order="desc",
                format="json", count=1000, syntax_rule=1, derived_fields=None,
                created=created, seq=next(sb.cls._seq), size=1024, fails=False)
            specs.append({"params": {"TopicId": f"topic-bench-{group}", "From":
                                     1_700_000_000_000, "To": 1_700_000_060_000},
                          "remote": {"ExportId": export_id}, "created": created,
                          "account": account})
        elif case.provider == "mongodb":
            task_id = uuid.uuid4().hex
            instance = f"cmgo-bench{group}"
            sb.mongodb.tasks[task_id] = Job(job_id=task_id, owner=instance, created=created,
                                            size=1024, fails=False, file_name=f"{task_id}.log",
                                            window=log_range)
            specs.append({"params": {"InstanceId": instance,
                                     "StartTime": "2026-03-01 00:00:00",
                                     "EndTime": "2026-03-01 01:00:00"},
                          "remote": {"TaskId": task_id}, "stage": "queued", "created": created})
        elif case.provider == "tcss":
            job_id = "export-" + uuid.uuid4().hex
            sb.tcss.jobs[job_id] = Job(job_id=job_id, owner="CreateHostExportJob",
                                       created=created, size=1024, fails=False,
                                       file_name=f"{job_id}.jsonl")
            specs.append({"params": {"Action": "CreateHostExportJob", "Params": {}},
                          "remote": {"JobId": job_id}, "created": created})
        elif case.provider == "dms":  # an approved ticket whose export has run
            order_id = next(sb.dms._ids)
            sb.dms.orders[order_id] = Order(
                order_id=order_id, tid=1, db_id=1, instance_id=1, sql="SELECT 1", logic=False,
                comment="bench", created=created - 60, classify="bench", precheck_fails=False,
                submitted_at=created - 50, decision="approved", decided_at=created - 40,
                executed_at=finish - lead, action_detail={"fileType": "CSV"})
            specs.append({"params": {"Tid": 1, "DbId": 1, "InstanceId": 1,
                                     "ExeSQL": "SELECT 1", "FileType": "CSV",
                                     "Encoding": "UTF8"},
                          "remote": {"OrderId": order_id, "own_order": True,
                                     "submitted": True, "executed": True},
                          "stage": "exporting", "created": created})
        else:  # dlc: the SQL task has run; its result download is still to be made
            task_id = uuid.uuid4().hex
            sb.dlc.tasks[task_id] = SqlTask(task_id=task_id, database="db", sql="SELECT 1",
                                            engine="engine", created=created,
                                            seq=next(sb.dlc._seq), fails=False)
            specs.append({"params": {"DatabaseName": "db", "SQL": "SELECT 1", "Format": "csv"},
                          "remote": {"TaskId": task_id, "own_task": True}, "stage": "sql",
                          "created": created})
        specs[specs_before]["finish"] = finish + (lead if case.provider == "dlc" else 0.0)
    if case.provider == "dlc":  # the download takes queue_s + process_s after the last task
        last += lead
    return specs, last


def min_calls(case: Case) -> int:
    per_group = [case.tasks // case.groups + (1 if g < case.tasks % case.groups else 0)
                 for g in range(case.groups)]
    if case.provider in ("cls", "mongodb", "tcss"):
        return sum(math.ceil(n / 100) for n in per_group)
    if case.provider == "dms":  # each ticket read alone, then its download URL
        return 2 * case.tasks
    return math.ceil(case.tasks / 50) + 2 * case.tasks  # dlc
