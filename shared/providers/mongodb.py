"""Tencent Cloud MongoDB log download tasks (API 2019-07-25).

``CreateLogDownloadTask`` answers with a status only, no task id. Creates for one instance
are therefore serialised (a lock in the state table, see ``serial_key``) and the new task is
recognised as the id that appears in ``DescribeLogDownloadTasks`` between the listing taken
just before the create call and the one just after it. If the vendor has not listed it yet,
the ids seen before are remembered and the first poll finishes the match, taking the oldest
new id no other export of the instance holds.

The "before" listing is stored with the export before the call (``prepare``) and kept across
attempts while the create is in doubt: after a lost answer, or a kill before the task id was
stored, the task the lost call made is the one listed now and not before, owned by no other
export — it is adopted rather than orphaned next to a second one.

Polling lists the instance's tasks once for all pending exports of that instance and stops
as soon as every wanted task is seen. A page that fails keeps what the pages before it found.
The listing's ``StartTime``/``EndTime`` are a log time range, not the tasks' creation times:
the only published example asks 2024-03-07 09:22–15:33 and lists a task created 21:01. How
the service matches a task's range against them is not documented, so every listing asks
with the span of the exports' own log windows (:func:`log_span`), which holds each of them
whether it is matched by overlap or by containment, and pages by ``Offset``/``Limit``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from tencentcloud.mongodb.v20190725 import models, mongodb_client

from shared.clock import to_iso, utcnow
from shared.errors import ProviderError, ValidationError
from shared.keys import DataWindow
from shared.model import ExportTask, Source, UrlSource
from shared.providers import schema as ps
from shared.providers.base import (
    DELIVERY,
    PollResult,
    RemoteStatus,
    Submission,
    already_gone,
    create_once,
    in_doubt,
    owned_elsewhere,
    unexpected,
    window_of,
)
from shared.providers.tencent import TencentProvider
from shared.providers.validate import Params

log = logging.getLogger(__name__)

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
PAGE = 100
MAX_WINDOW = timedelta(days=7)
LIST_FIELDS = ("NodeNames", "LogComponents", "LogLevels", "LogIds", "LogConnections",
               "LogDetailParams")
# The documented DescribeLogDownloadTasks answer shows a finished task (Status 2, Percent
# 100) with ``Url: ""``: the URL may come later. Such a task is read again for this long.
URL_WAIT = timedelta(minutes=15)
URL_POLL_S = 30.0
STATUS = {0: RemoteStatus.PENDING, 1: RemoteStatus.PENDING, 2: RemoteStatus.READY,
          3: RemoteStatus.FAILED}


# The parameters an export of this provider takes (validate() reads their names; the
# OpenAPI document, the CLI, the status page and docs/api.md are made from it).
PARAMS_SCHEMA = ps.obj({
    "InstanceId": ps.text(64, "cmgo-[a-z0-9]{6,16}"),
    "StartTime": ps.text(19, "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}",
                      description="Like 2026-11-22 08:00:00; earlier than EndTime"),
    "EndTime": ps.text(19, "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}",
                    description="At most 7 days after StartTime"),
    **{name: ps.strings() for name in LIST_FIELDS},
}, ["InstanceId", "StartTime", "EndTime"], "MongoDB log download (CreateLogDownloadTask).")


class MongodbProvider(TencentProvider):
    name = "mongodb"
    service = "mongodb"
    params_schema = PARAMS_SCHEMA
    sdk = (mongodb_client.MongodbClient, models)
    access_check = ("DescribeDBInstances", {"Limit": 1})
    create_check = ("DescribeLogDownloadTasks of the instance against the listing stored "
                    "before the call: a new task owned by no other export")

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        p = Params(params, known=ps.fields(PARAMS_SCHEMA))
        out: dict[str, Any] = {
            "InstanceId": p.text("InstanceId", max_len=64, pattern=r"cmgo-[a-z0-9]{6,16}"),
            "StartTime": p.text("StartTime", max_len=19),
            "EndTime": p.text("EndTime", max_len=19),
        }
        start = _parse_time(out["StartTime"], "params.StartTime")
        end = _parse_time(out["EndTime"], "params.EndTime")
        if start >= end:
            raise ValidationError("params.StartTime", "must be earlier than params.EndTime")
        if end - start > MAX_WINDOW:
            raise ValidationError("params.EndTime", "the window may span at most 7 days")
        for name in LIST_FIELDS:
            values = p.strings(name, default=None)
            if values is not None:
                out[name] = values
        return out

    def group_key(self, task: ExportTask) -> str:
        return self.shard(f"mongodb:{task.params['InstanceId']}")

    def serial_key(self, task: ExportTask) -> str | None:
        return self.owner_shard(f"mongodb-create:{task.params['InstanceId']}")

    def prepare(self, task: ExportTask) -> dict[str, Any]:
        """The instance's task ids before the call (kept from the attempt before when that
        one may have made the task)."""
        if "known_task_ids" in task.remote and in_doubt(task, self.ambiguous):
            return {}
        return {"known_task_ids": sorted(self._tasks(task))}

    def create(self, task: ExportTask) -> Submission:
        def call() -> Submission:
            if "known_task_ids" not in task.remote:  # called without prepare: look now
                task.remote.update(self.prepare(task))
            self.api.call("CreateLogDownloadTask", dict(task.params))
            try:
                new = self._new_tasks(task)
            except ProviderError:  # the task is made: a refused look must not make another
                new = []
            if len(new) == 1:
                return Submission(remote={"TaskId": new[0]}, stage="queued")
            # Not listed yet, the look refused, or someone else created one meanwhile: finish
            # the match in poll, against the listing kept from before the call.
            return Submission(remote={"known_task_ids": task.remote.get("known_task_ids", [])},
                              stage="matching")

        return create_once(task, call, lambda: self._made_earlier(task), self.ambiguous)

    def owned_id(self, remote: dict[str, Any]) -> str | None:
        return remote.get("TaskId")

    def _new_tasks(self, task: ExportTask) -> list[str]:
        """Ids listed now, not before the call, owned by no other export; oldest first."""
        known = set(task.remote.get("known_task_ids") or [])
        listing = self._tasks(task)
        return [tid for _, tid in sorted((info.get("CreateTime") or "", tid)
                                         for tid, info in listing.items()
                                         if tid not in known and not owned_elsewhere(tid))]

    def _made_earlier(self, task: ExportTask) -> Submission | None:
        new = self._new_tasks(task)
        return Submission(remote={"TaskId": new[0], "adopted": True},
                          stage="queued") if new else None

    def poll(self, tasks: list[ExportTask]) -> dict[str, PollResult | ProviderError]:
        taken = {t.remote["TaskId"] for t in tasks if t.remote.get("TaskId")}
        matching = any(not t.remote.get("TaskId") for t in tasks)
        listing, broke = self._scan(tasks[0].params["InstanceId"], log_span(tasks),
                                    None if matching else taken)
        results: dict[str, PollResult | ProviderError] = {}
        for task in sorted(tasks, key=lambda t: t.created_at):
            task_id = task.remote.get("TaskId")
            remote: dict[str, Any] = {}
            if not task_id and broke is not None:
                results[task.id] = broke  # a part of the listing cannot tell which is new
                continue
            if not task_id:
                known = set(task.remote.get("known_task_ids") or [])
                fresh = sorted((info.get("CreateTime") or "", tid) for tid, info
                               in listing.items() if tid not in known and tid not in taken)
                if not fresh:
                    results[task.id] = PollResult(RemoteStatus.PENDING, stage="matching")
                    continue
                task_id = fresh[0][1]
                taken.add(task_id)
                remote = {"TaskId": task_id}
            info = listing.get(task_id)
            if info is None and broke is not None:
                results[task.id] = broke
            elif info is None:
                results[task.id] = PollResult(RemoteStatus.FAILED, remote=remote, retryable=True,
                                              reason=f"log task {task_id} is no longer listed")
            else:
                results[task.id] = self._to_result(task, info, remote)
        return results

    def data_window(self, task: ExportTask) -> DataWindow:
        """The log window of ``InstanceId``: the schedule's window when the export came from
        one, else ``StartTime``..``EndTime`` read as Beijing time (assumption: no page gives
        the zone; Tencent's consoles show Beijing time)."""
        if (task.destination.get(DELIVERY) or {}).get("window"):
            return window_of(task, source=task.params["InstanceId"],
                             account=self.settings.appid, region=self.settings.region)
        start, end = (_parse_time(task.params[k], f"params.{k}").replace(tzinfo=BEIJING)
                      for k in ("StartTime", "EndTime"))
        return window_of(task, start, end, source=task.params["InstanceId"],
                         account=self.settings.appid, region=self.settings.region)

    def result(self, task: ExportTask, *, refresh: bool = False) -> Source:
        url = task.result.get("url")
        if refresh or not url:
            info = self._tasks(task).get(task.remote["TaskId"])
            if not info or not info.get("Url"):
                raise ProviderError("mongodb", "NoUrl", "the log task has no download URL",
                                    retryable=False)
            url = info["Url"]
            task.result["url"] = url
        return UrlSource(url=url, file_name=task.result.get("file_name"),
                         size=task.result.get("size"))

    def cancel(self, task: ExportTask) -> None:
        if task.remote.get("TaskId"):
            with already_gone("ResourceNotFound"):
                self.api.call("DeleteLogDownloadTask", {"InstanceId": task.params["InstanceId"],
                                                        "TaskId": task.remote["TaskId"]})

    # --------------------------------------------------------------- helpers
    def _tasks(self, task: ExportTask) -> dict[str, dict[str, Any]]:
        """The instance's log tasks listed for ``task``'s log window (the error of a page
        that fails is raised)."""
        found, broke = self._scan(task.params["InstanceId"], log_span([task]), None)
        if broke is not None:
            raise broke
        return found

    def _scan(self, instance: str, window: dict[str, str], wanted: set[str] | None
              ) -> tuple[dict[str, dict[str, Any]], ProviderError | None]:
        """The instance's log tasks listed for the log ``window``, paging until every
        ``wanted`` id is seen (None: to the end); with the error that broke the paging off,
        if one did. ``Offset`` is a page number (the SDK says 页码); paging also stops on a
        short page, a page with nothing new, or the total."""
        found: dict[str, dict[str, Any]] = {}
        page_no = 0
        while True:
            try:
                page = self.api.call("DescribeLogDownloadTasks", {
                    "InstanceId": instance, "Offset": page_no, "Limit": PAGE, **window})
            except ProviderError as exc:
                return found, exc
            items = page.get("Tasks") or []
            before = len(found)
            for info in items:
                if info.get("TaskId"):
                    found[str(info["TaskId"])] = info
            page_no += 1
            if (len(items) < PAGE or len(found) == before
                    or len(found) >= int(page.get("TotalCount") or 0)
                    or (wanted is not None and wanted <= found.keys())):
                return found, None

    @staticmethod
    def _to_result(task: ExportTask, info: dict[str, Any],
                   remote: dict[str, Any]) -> PollResult:
        raw = info.get("Status")
        status = STATUS.get(raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
        if status is None:  # not in the model: never taken for success, said in the stage
            log.warning("mongodb: log task %s answered an unknown Status %r; left as it was",
                        info.get("TaskId"), raw, extra={"export_id": task.id})
            return PollResult(RemoteStatus.PENDING, remote=remote,
                              stage=unexpected("status", raw),
                              reason=f"MongoDB answered an unknown Status {raw!r}")
        percent = info.get("Percent")
        progress = int(percent) if isinstance(percent, (int, float)) else None
        if status is RemoteStatus.READY:
            url = str(info.get("Url") or "")
            if not url:
                return _without_url(task, info, remote)
            name = url.split("?", 1)[0].rsplit("/", 1)[-1] or f"{info['TaskId']}.log"
            return PollResult(status, progress=100, remote=remote, result={
                "url": url, "file_name": name, "size": info.get("FileSize") or None})
        if status is RemoteStatus.FAILED:
            return PollResult(status, remote=remote, retryable=True,
                              reason="MongoDB reported the log download task as failed")
        stage = "running" if raw == 1 else "queued"
        return PollResult(status, progress=progress, remote=remote, stage=stage)


def _without_url(task: ExportTask, info: dict[str, Any], remote: dict[str, Any]) -> PollResult:
    """A finished task whose listing has no URL yet: read again for :data:`URL_WAIT`, then
    fail, saying why."""
    now = utcnow()
    since_raw = task.remote.get("url_missing_since")
    since = datetime.fromisoformat(since_raw) if since_raw else now
    if now - since >= URL_WAIT:
        minutes = int(URL_WAIT.total_seconds() // 60)
        return PollResult(RemoteStatus.FAILED, remote=remote, retryable=True, reason=(
            f"MongoDB log task {info.get('TaskId')} finished (Status 2) but its Url stayed "
            f"empty for {minutes} minutes"))
    return PollResult(RemoteStatus.PENDING, progress=100, stage="waiting-for-url",
                      remote={**remote, "url_missing_since": to_iso(since)},
                      reason="finished; waiting for MongoDB to list the download URL",
                      next_poll_s=URL_POLL_S)


def log_span(tasks: list[ExportTask]) -> dict[str, str]:
    """``StartTime``/``EndTime`` for a listing that holds every one of ``tasks``: from the
    earliest start of their log windows to the latest end (each task's own window when
    there is one). Never the creation times: a log range older than a day would be missed."""
    starts = [_parse_time(t.params["StartTime"], "params.StartTime") for t in tasks]
    ends = [_parse_time(t.params["EndTime"], "params.EndTime") for t in tasks]
    return {"StartTime": min(starts).strftime(TIME_FORMAT),
            "EndTime": max(ends).strftime(TIME_FORMAT)}


BEIJING = timezone(timedelta(hours=8))  # assumption: see data_window


def _parse_time(value: str, field: str) -> datetime:
    try:
        return datetime.strptime(value, TIME_FORMAT)
    except ValueError as exc:
        raise ValidationError(field, "must be a time like 2026-11-22 08:00:00") from exc
