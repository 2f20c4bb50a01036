"""What a chaos run counts once it has drained: from the state table, the sandbox's own record
of what it made and served, the destination bucket and the webhook receiver.

Nothing here asks Export Courier's code for an answer about itself: the expected bytes are the
sandbox's (or moto's staging objects), the provider objects are the sandbox's log of creates,
the webhooks are what the receiver saw.
"""

from __future__ import annotations

import collections
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.chaos.plan import Planned, tag_of
from bench.chaos.world import STAGING, World
from sandbox.files import generate
from shared.errors import NotFoundError
from shared.model import DeliveryState

TERMINAL_EVENT = {"delivered": "export.delivered", "failed": "export.failed"}


def provider_dups(world: World) -> tuple[int, dict[str, int], list[str]]:
    """Vendor objects made per export beyond one, by provider service: every effective
    create the sandbox (and the CloudWatch gateway) logged, grouped by the export's tag."""
    made: collections.Counter[tuple[str, str, str]] = collections.Counter()
    # CreateResultDownload answers the download it already has for a task (a new one only
    # when forced over a broken one): count the distinct downloads per task, not the calls
    downloads: dict[str, set[str]] = collections.defaultdict(set)
    for service, action, data, answer in list(world.sb.made):
        if service == "dlc" and action == "CreateResultDownload":
            downloads[str(data.get("TaskId"))].add(str(answer.get("DownloadId")))
            continue
        found = tag_of(service, action, data)
        if found is not None:
            made[(service, "create", found)] += 1
    for data in list(world.gateway.made):
        found = tag_of("logs", "CreateExportTask", data)
        if found is not None:
            made[("logs", "create", found)] += 1
    by: collections.Counter[str] = collections.Counter()
    twice: list[str] = []
    for (service, _kind, name), n in made.items():
        by[service] += max(0, n - 1)
        if n > 1:
            twice.append(f"{service}:{name}x{n}")
    for task_id, ids in downloads.items():
        by["dlc-download"] += max(0, len(ids) - 1)
        if len(ids) > 1:
            twice.append(f"dlc-download:{task_id}x{len(ids)}")
    return sum(by.values()), {k: v for k, v in by.items() if v}, twice


def expected_files(world: World, task: Any) -> list[bytes] | None:
    """The bytes the sandbox served for this export's result (one or several files)."""
    remote = task.remote
    if task.provider == "cloudwatch":
        s3 = world.s3()
        prefix = str(remote.get("prefix") or "")
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=STAGING, Prefix=f"{prefix}/") for o in page.get("Contents", [])]
        return [s3.get_object(Bucket=STAGING, Key=k)["Body"].read() for k in keys]
    token = {"cls": remote.get("ExportId"), "mongodb": remote.get("TaskId"),
             "tcss": remote.get("JobId"), "dlc": remote.get("DownloadId"),
             "dms": f"dms-{remote.get('OrderId')}"}.get(task.provider)
    entry = world.sb.files.get(str(token))
    return None if entry is None else [b"".join(generate(entry))]


def delivered_files(world: World, task: Any) -> list[bytes]:
    dest = task.destination
    if "manifest" in dest:
        import json

        manifest = dest["manifest"]
        base = manifest["uri"][:-len(manifest["key"])]  # the store's root, as a URI
        listing = json.loads(read_object(world, manifest["uri"]))
        return [read_object(world, base + o["key"]) for o in listing["objects"]]
    return [read_object(world, dest["uri"])]


def read_object(world: World, uri: str) -> bytes:
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return Path(parts.path).read_bytes()
    return world.s3().get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))[
        "Body"].read()


def destination_keys(world: World) -> list[str]:
    dest = urlsplit(world.destination())
    if dest.scheme == "file":
        root = Path(dest.path)
        if not root.exists():
            return []
        return [str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(root).parts)]
    s3 = world.s3()
    return [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=dest.netloc) for o in page.get("Contents", [])]


def digest(blobs: list[bytes]) -> list[tuple[int, str]]:
    return sorted((len(b), hashlib.sha256(b).hexdigest()) for b in blobs)


def outcomes(world: World, store: Any, plans: list[Planned], accepted: dict[int, str]
             ) -> dict[str, Any]:
    """The per-export counts: delivered, failed by reason, stuck, lost, files verified."""
    out: dict[str, Any] = {"delivered": 0, "stuck": 0, "lost": 0, "files_verified": 0,
                           "files_bad": 0, "failed_unplanned": 0, "stuck_ids": [],
                           "bad_ids": []}
    failed: collections.Counter[str] = collections.Counter()
    tasks: dict[str, Any] = {}
    for plan in plans:
        export_id = accepted.get(plan.n)
        if export_id is None:
            continue
        try:
            task = store.get_task(export_id)
        except NotFoundError:
            out["lost"] += 1
            continue
        tasks[export_id] = task
        state = task.state.value
        if state == "delivered":
            out["delivered"] += 1
            want = expected_files(world, task)
            try:
                got = delivered_files(world, task)
            except Exception:  # noqa: BLE001 - a missing or unreadable object
                got = []
                out["lost"] += 1
            if want is not None and got and digest(want) == digest(got):
                out["files_verified"] += len(got)
            else:
                out["files_bad"] += 1
                out["bad_ids"].append(export_id)
        elif state == "failed":
            code = str((task.error or {}).get("code") or "unknown")
            failed[code] += 1
            if not plan.fails:
                out["failed_unplanned"] += 1
                out["bad_ids"].append(export_id)
        elif state != "cancelled":
            out["stuck"] += 1
            out["stuck_ids"].append(f"{export_id}:{state}/{task.stage}")
    out["failed"] = sum(failed.values())
    out["failed_by"] = dict(failed)
    out["tasks"] = tasks
    return out


def dup_objects(world: World, tasks: dict[str, Any]) -> int:
    """Objects in the destination beyond what the delivered exports account for."""
    expected: collections.Counter[str] = collections.Counter()
    for export_id, task in tasks.items():
        if task.state.value == "delivered":
            expected[export_id] = 1 + int(task.destination.get("objects") or 0)
    seen: collections.Counter[str] = collections.Counter()
    stray = 0
    for key in destination_keys(world):
        owner = next((i for i in key.split("/") if i.startswith("exp_")), None)
        if owner is None:
            stray += 1
        else:
            seen[owner] += 1
    return stray + sum(max(0, n - expected.get(owner, 0)) for owner, n in seen.items())


def webhooks(world: World, store: Any, tasks: dict[str, Any]) -> dict[str, int]:
    """Receiver-side counts: duplicates after a 2xx, terminal events never acknowledged,
    dead letters in the state table."""
    hits: dict[str, list[Any]] = collections.defaultdict(list)
    for r in list(world.receiver.received):
        hits[r.webhook_id].append(r)
    dups = resent_unacked = 0
    acked: set[tuple[str, str]] = set()
    for webhook_id, seen in hits.items():
        seen.sort(key=lambda r: r.at)
        ok = [r for r in seen if r.status < 300 and r.verified]
        if not ok:
            continue
        data = ok[0].payload.get("data") or {}
        acked.add((str(data.get("export_id")), str(ok[0].event_type)))
        after = [r for r in seen if r.at > ok[0].at]
        if not after:
            continue
        try:
            logged = [a for a in store.get_delivery(webhook_id).attempts if "action" not in a]
        except NotFoundError:
            logged = []
        unrecorded = max(0, len(seen) - len(logged))  # sends whose sender died in them
        resent_unacked += min(len(after), unrecorded)
        dups += max(0, len(after) - unrecorded)
    missing = sum(1 for export_id, task in tasks.items()
                  if task.state.value in TERMINAL_EVENT
                  and (export_id, TERMINAL_EVENT[task.state.value]) not in acked)
    dead = 0
    cursor = None
    while True:
        page = store.list_deliveries(state=DeliveryState.DEAD, limit=200, cursor=cursor)
        dead += len(page.items)
        cursor = page.next_cursor
        if not cursor:
            break
    return {"webhook_dups_after_2xx": dups, "webhook_resent_unacked": resent_unacked,
            "webhooks_missing": missing, "dead_letters": dead}


def bytes_read(path: Path, sizes: dict[str, int]) -> dict[str, int]:
    """Bytes the copies read per sandbox file, from the worker's notes
    (:func:`bench.chaos.worker.count_reads`): finished reads as they were, a read begun and
    never finished (its process was killed) as the whole part it was reading."""
    begun: collections.Counter[tuple[str, int]] = collections.Counter()
    length: dict[tuple[str, int], int] = {}
    total: collections.Counter[str] = collections.Counter()
    if not path.exists():
        return {}
    for row in path.read_text().splitlines():
        word, *rest = row.split()
        if len(rest) != 3:
            continue
        name, start, third = rest[0], int(rest[1]), int(rest[2])
        if word == "B":
            begun[(name, start)] += 1
            length[(name, start)] = third
        elif word == "E":
            begun[(name, start)] -= 1
            total[name] += third - start
    for (name, start), n in begun.items():
        part = min(length.get((name, start), 0), max(0, sizes.get(name, 0) - start))
        total[name] += max(0, n) * part
    return dict(total)
