"""What a chaos run asks for and what it throws at the bundle.

:func:`exports` makes the request bodies: every provider, each export's parameters carrying its
own number (so the sandbox's record of what it made tells which export made it), a few big
files that take several parts to copy, and a few exports planned to fail at the provider.

:class:`FaultPlan` injects the sandbox's faults — throttling, 5xx, dropped connections, slow
answers, lost create answers — at random moments while exports are being created.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Any

from bench.chaos.world import PART_MB, World

BIG_BYTES = int(PART_MB * 1024 * 1024 * 2.2)  # three parts
FAILING_TOPIC = "topic-chaos-broken"
TCSS_ACTIONS = ("CreateImageExportJob", "CreateHostExportJob", "CreateComponentExportJob")
# provider mix: (provider, share)
MIX = (("cls", 0.24), ("mongodb", 0.22), ("dlc", 0.15), ("tcss", 0.15), ("dms", 0.12),
       ("cloudwatch", 0.12))


@dataclass
class Planned:
    n: int
    provider: str
    body: dict[str, Any]
    big: bool = False
    fails: bool = False  # planned to fail at the provider

    @property
    def tag(self) -> str:
        return tag(self.n)


def tag(n: int) -> str:
    return f"chaos{n:04d}"


def exports(count: int, rng: random.Random, world: World) -> list[Planned]:
    now_ms = int(time.time() * 1000)
    hour = 3_600_000
    plans: list[Planned] = []
    providers = [p for p, _ in MIX]
    weights = [w for _, w in MIX]
    for n in range(count):
        provider = providers[n % len(providers)] if n < len(providers) else rng.choices(
            providers, weights)[0]
        t = tag(n)
        big = fails = False
        if provider == "cls":
            fails = rng.random() < 0.06
            params: dict[str, Any] = {"TopicId": FAILING_TOPIC if fails else "topic-chaos",
                                      "From": now_ms - hour, "To": now_ms,
                                      "Query": f"export_tag:{t}"}
        elif provider == "mongodb":
            big = rng.random() < 0.4
            fails = not big and rng.random() < 0.06
            instance = f"cmgo-{t}x" if fails else f"cmgo-{t}"
            if fails:
                world.sb.fail_log_downloads(instance)
            if big:
                world.sb.mongodb.file_sizes[instance] = BIG_BYTES
            params = {"InstanceId": instance, "StartTime": "2026-11-21 00:00:00",
                      "EndTime": "2026-11-21 06:00:00", "LogLevels": ["ERROR"]}
        elif provider == "dlc":
            params = {"SQL": f"SELECT region, sum(amount) FROM orders WHERE tag = '{t}' "
                             "GROUP BY region", "DatabaseName": "sales"}
        elif provider == "tcss":
            params = {"Action": rng.choice(TCSS_ACTIONS),
                      "Params": {"Filters": [{"Name": "Tag", "Values": [t]}], "Limit": 1000}}
        elif provider == "dms":
            params = {"Tid": 1, "DbId": 1234, "InstanceId": 77, "Comment": f"chaos {t}",
                      "ExeSQL": f"SELECT * FROM orders WHERE tag = '{t}'"}
        else:
            group = f"chaos-{t}"
            start, end = add_log_group(world, group)
            params = {"logGroupName": group, "from": start, "to": end}
        plans.append(Planned(n, provider, {"provider": provider, "params": params}, big, fails))
    return plans


def add_log_group(world: World, group: str) -> tuple[int, int]:
    """A CloudWatch log group with two streams; the (from, to) window around its events."""
    logs = world.logs()
    logs.create_log_group(logGroupName=group)
    now = int(time.time() * 1000)
    for stream in ("web-1", "web-2"):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": now - 1000 + i, "message": f"{group} {stream} line {i}"}
            for i in range(20)])
    return now - 3_600_000, now + 60_000


def tag_of(service: str, action: str, data: dict[str, Any]) -> str | None:
    """The export number a provider-side create belongs to, from its request."""
    import base64
    import json
    import re

    text = ""
    if service == "cls" and action == "CreateExport":
        text = str(data.get("Query") or "")
    elif service == "dlc" and action == "CreateTasks":
        sql = ((data.get("Task") or {}).get("SQLTask") or {}).get("SQL") or ""
        try:
            text = base64.b64decode(sql).decode("utf-8", "replace")
        except ValueError:
            text = str(sql)
    elif service == "mongodb" and action == "CreateLogDownloadTask":
        text = str(data.get("InstanceId") or "")
    elif service == "tcss" and action.endswith("ExportJob"):
        text = json.dumps(data.get("Filters") or [])
    elif service == "dms" and action == "CreateDataExportOrder":
        text = str(data.get("PluginParam") or "")
    elif service == "logs":
        text = str(data.get("logGroupName") or "")
    found = re.search(r"chaos\d{4}", text)
    return found.group(0) if found else None


# --------------------------------------------------------------------------- faults
TENCENT_TARGETS = {
    "cls": ("CreateExport", "DescribeExports", "SearchLog"),
    "dlc": ("CreateTasks", "DescribeTasks", "CreateResultDownload", "DescribeResultDownload"),
    "mongodb": ("CreateLogDownloadTask", "DescribeLogDownloadTasks"),
    "tcss": (*TCSS_ACTIONS, "DescribeExportJobResult", "DescribeExportJobManageList"),
    "dms": ("CreateDataExportOrder", "GetDataExportOrderDetail", "ListOrders",
            "GetDataExportDownloadURL"),
}
CREATES = {"cls": ("CreateExport",), "dlc": ("CreateTasks", "CreateResultDownload"),
           "mongodb": ("CreateLogDownloadTask",), "tcss": TCSS_ACTIONS,
           "dms": ("CreateDataExportOrder",)}


class FaultPlan:
    """Injects ``total`` faults spread over ``over_s`` seconds, on a thread."""

    def __init__(self, world: World, total: int, over_s: float, rng: random.Random) -> None:
        self.world = world
        self.total = total
        self.over_s = over_s
        self.rng = rng
        self.injected: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-faults", daemon=True)

    def start(self) -> FaultPlan:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.world.sb.faults.clear()
        self.world.gateway.faults.clear()

    def _run(self) -> None:
        gap = self.over_s / max(self.total, 1)
        for _ in range(self.total):
            if self._stop.wait(self.rng.uniform(0.5, 1.5) * gap):
                return
            self.inject()

    def inject(self) -> None:
        rng = self.rng
        service = rng.choice((*TENCENT_TARGETS, "logs"))
        kind = rng.choice(("throttle", "throttle", "5xx", "5xx", "drop", "slow", "lost_create"))
        if service == "logs":
            self._logs(kind)
        else:
            actions = CREATES[service] if kind == "lost_create" else TENCENT_TARGETS[service]
            action = rng.choice(actions)
            spec: dict[str, Any] = {"service": service, "action": action,
                                    "times": rng.randint(1, 2), "ttl": rng.uniform(2, 6)}
            if kind == "throttle":
                spec.update(kind="error", code="Throttling.User" if service == "dms"
                            else "RequestLimitExceeded")
            elif kind == "5xx":
                if rng.random() < 0.5:
                    spec.update(kind="http_status", status=rng.choice((500, 502, 503)))
                else:
                    spec.update(kind="error", code="ServiceUnavailable" if service == "dms"
                                else "InternalError")
            elif kind == "slow":
                spec.update(kind="slow", delay=rng.uniform(1.0, 4.0))
            elif kind == "drop":
                spec.update(kind="drop")
            else:
                spec.update(kind="lost_answer", times=1)
            self.world.sb.faults.add(**spec)
        self.injected[kind] = self.injected.get(kind, 0) + 1
        if rng.random() < 0.15:  # a slow download now and then: copies take longer
            self.world.sb.faults.add(service="files", action="Download", kind="slow",
                                     delay=rng.uniform(0.5, 2.0), ttl=5)
            self.injected["slow_download"] = self.injected.get("slow_download", 0) + 1

    def _logs(self, kind: str) -> None:
        rng = self.rng
        action = "CreateExportTask" if kind == "lost_create" or rng.random() < 0.5 else (
            "DescribeExportTasks")
        faults = self.world.gateway.faults
        ttl = rng.uniform(2, 6)
        if kind == "throttle":
            faults.add("logs", action, kind="error", code="ThrottlingException", ttl=ttl)
        elif kind == "5xx":
            faults.add("logs", action, kind="http_status", status=rng.choice((500, 503)),
                       ttl=ttl)
        elif kind == "slow":
            faults.add("logs", action, kind="slow", delay=rng.uniform(1.0, 3.0), ttl=ttl)
        elif kind == "drop":
            faults.add("logs", action, kind="drop", ttl=ttl)
        else:
            faults.add("logs", "CreateExportTask", kind="lost_answer", ttl=ttl)

    @property
    def count(self) -> int:
        return sum(self.injected.values())
