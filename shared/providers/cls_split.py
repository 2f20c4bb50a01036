"""Splitting a CLS window that holds more logs than one export carries.

CLS cuts an export off at :data:`MAX_COUNT` logs without an error. A window holding more is
split into parts (sub-windows side by side, ``[From, To)`` each), every one counted through
SearchLog and holding at most the cap: proportionally by time first (as many parts as the
count needs), then each part still over the cap again, then neighbours merged while their
sum stays within the cap (counts add up: the windows do not overlap). A part is kept in
the export's ``remote.parts``::

    {"From": ms, "To": ms, "log_count": n, "ExportId": id | None, "status": "Queuing" | …}

What cannot be split is refused with ``WindowOverExportCap``: one millisecond holding more
than the cap, or a window needing more than ``max_parts`` parts.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from shared.errors import ProviderError
from shared.model import ExportTask, SourceSet, UrlSource
from shared.providers.base import PollResult, RemoteStatus

MAX_COUNT = 50_000_000
MAX_PARTS = 100  # the default bound on the parts of one export (COURIER_CLS_MAX_PARTS)

Count = Callable[[int, int], int]  # logs in [from_ms, to_ms)


def over_cap(logs: int, from_ms: int, to_ms: int, why: str) -> ProviderError:
    return ProviderError("cls", "WindowOverExportCap", (
        f"{why}: the window {from_ms}..{to_ms} holds {logs:,} logs; one CLS export carries "
        f"at most {MAX_COUNT:,} and would silently cut the rest off. Ask for a narrower "
        "window (From..To) or a narrower Query"), retryable=False)


def plan(count: Count, from_ms: int, to_ms: int, logs: int, *,
         max_parts: int = MAX_PARTS) -> list[dict[str, Any]]:
    """Parts of ``[from_ms, to_ms)`` (holding ``logs``), each within the cap, in time order."""
    needed = -(-logs // MAX_COUNT)
    if needed > max_parts:  # refused before any more counting
        raise over_cap(logs, from_ms, to_ms, f"it needs at least {needed} exports, more "
                       f"than the {max_parts} allowed")
    done: list[tuple[int, int, int]] = []
    todo = [(from_ms, to_ms, logs)]
    while todo:
        start, end, n = todo.pop()
        if n <= MAX_COUNT:
            done.append((start, end, n))
            continue
        if end - start <= 1:
            raise over_cap(n, start, end, "one millisecond cannot be split")
        pieces = min(end - start, max(2, -(-n // MAX_COUNT)))
        bounds = sorted({start + (end - start) * i // pieces for i in range(pieces)} | {end})
        for a, b in zip(bounds, bounds[1:]):
            todo.append((a, b, count(a, b)))
        if len(done) + len(todo) > 4 * max_parts:
            break  # counting on is pointless: the merge below cannot get under the bound
    if todo:
        raise over_cap(logs, from_ms, to_ms, f"it needs more than {max_parts} exports")
    parts: list[tuple[int, int, int]] = []
    for start, end, n in sorted(done):
        if parts and parts[-1][2] + n <= MAX_COUNT and parts[-1][1] == start:
            parts[-1] = (parts[-1][0], end, parts[-1][2] + n)
        else:
            parts.append((start, end, n))
    if len(parts) > max_parts:
        raise over_cap(logs, from_ms, to_ms, f"it needs {len(parts)} exports, more than "
                       f"the {max_parts} allowed")
    return [{"From": a, "To": b, "log_count": n, "ExportId": None, "status": None}
            for a, b, n in parts]


def resplit(parts: list[dict[str, Any]], index: int, count: Count, logs: int, *,
            max_parts: int = MAX_PARTS) -> list[dict[str, Any]]:
    """``parts`` with part ``index`` (which finished at the cap but whose window holds
    ``logs``) replaced by its own parts, still to be created."""
    part = parts[index]
    left = max_parts - (len(parts) - 1)
    if left < 2:
        raise over_cap(logs, part["From"], part["To"], f"it needs more than {max_parts} "
                       "exports")
    sub = plan(count, part["From"], part["To"], logs, max_parts=left)
    return [*parts[:index], *sub, *parts[index + 1:]]


def next_part(parts: list[dict[str, Any]]) -> int | None:
    """The first part not yet created, or None."""
    return next((i for i, p in enumerate(parts) if not p.get("ExportId")), None)


def export_ids(task: ExportTask) -> list[str]:
    """The CLS exports a Courier export holds: its one export, or its parts made so far."""
    parts = task.remote.get("parts") or []
    ids = [str(p["ExportId"]) for p in parts if p.get("ExportId")]
    return ids or ([str(task.remote["ExportId"])] if task.remote.get("ExportId") else [])


def settle(task: ExportTask, found: dict[str, dict[str, Any]], broke: ProviderError | None,
           to_result: Callable[[dict[str, Any]], PollResult],
           cut_off: Callable[[ExportTask, int, dict[str, Any]],
                             PollResult | ProviderError | None]
           ) -> PollResult | ProviderError:
    """The status of an export of several parts from the topic's listing (``found``, and
    the error that broke it off): failed as soon as one part failed (naming it), ready once
    every part is Completed and not ``cut_off`` at the cap; each part's status kept."""
    parts = copy.deepcopy(task.remote["parts"])
    for i, part in enumerate(parts):
        name = (f"part {i + 1} of {len(parts)} ({part['From']}..{part['To']}, CLS "
                f"export {part['ExportId']})")
        info = found.get(part["ExportId"])
        if info is None:
            if broke is not None:
                return broke
            return PollResult(RemoteStatus.FAILED, retryable=True, remote={"parts": parts},
                              reason=f"{name} is no longer listed by CLS")
        part["status"] = str(info.get("Status"))
        settled = to_result(info)
        if settled.status is RemoteStatus.FAILED:
            return PollResult(RemoteStatus.FAILED, retryable=True, remote={"parts": parts},
                              reason=f"{name}: {settled.reason}")
        if settled.status is RemoteStatus.READY:
            cut = cut_off(task, i, info)
            if cut is not None:
                return cut
            part.update(size=info.get("FileSize"), count=info.get("Count"))
    done = sum(1 for p in parts if p["status"] == "Completed")
    if done < len(parts):
        return PollResult(RemoteStatus.PENDING, remote={"parts": parts},
                          progress=100 * done // len(parts),
                          stage=f"parts: {done} of {len(parts)} completed")
    return PollResult(RemoteStatus.READY, progress=100, remote={"parts": parts}, result={
        "parts": len(parts), "content_type": "application/gzip",
        "size": sum(int(p.get("size") or 0) for p in parts),
        "count": sum(int(p.get("count") or 0) for p in parts),
        "format": task.params.get("Format")})


def part_files(parts: list[dict[str, Any]], infos: dict[str, dict[str, Any]]) -> SourceSet:
    """Every part's file, from the topic's listing (``infos`` by ExportId), named
    ``part-NNN-<CLS file name>`` so that they sort in time order."""
    items = []
    for i, part in enumerate(parts):
        info = infos.get(part["ExportId"]) or {}
        if info.get("Status") != "Completed" or not info.get("CosPath"):
            raise ProviderError("cls", "ExportNotReady", f"part {i + 1} of {len(parts)} is "
                                f"{info.get('Status') or 'missing'}; no download URL",
                                retryable=False)
        items.append(UrlSource(url=info["CosPath"], size=info.get("FileSize"),
                               file_name=f"part-{i + 1:03d}-{info.get('FileName')}"))
    return SourceSet(tuple(items))
