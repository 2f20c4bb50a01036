"""Tencent Cloud DLC query results (API 2021-01-25) through tencentcloud-sdk-python-dlc.

Two stages. ``sql``: the query runs as a DLC task — created here with ``CreateTasks`` from
``params.SQL``, or an existing task named by ``params.TaskId``. Tasks in this stage are polled
together with ``DescribeTasks`` (filter ``task-id``, at most 50 ids a call). When a task
succeeds (state 2) ``CreateResultDownload`` turns its result into a file: stage
``download``, polled per task with ``DescribeResultDownload``. A download that ends in
``timeout`` or ``error`` is regenerated once with ``Force=true`` before the export fails.

A finished download names a COS object (``Path``) and hands out temporary credentials to
read it. ``Path`` formats accepted (the SDK does not document one, see PROVIDER_FACTS):
``cosn://<bucket>/<key>`` (also ``cos://``, ``s3a://``, ``s3://``; region from the settings)
and ``https://<bucket>.cos.<region>.myqcloud.com/<key>`` (region from the host name). A bucket
named without ``-<appid>``, as in the documented example (``cosn://geoli-test/…/*/*/…``), is
completed with ``TENCENTCLOUD_APPID``; the key is read as given, ``*`` included. The
credentials are stored in ``task.result`` under secret field names (never returned by the
API) and re-read when they are old or the read was refused (``result(refresh=True)``).

DescribeTasks only lists tasks created inside a time window: at most 30 days long, within
the last 45 days, and without a StartTime only the last 7 days (API page; 45 says the SDK).
Every DescribeTasks here sends a window (see ``windows``): from the task's creation (kept in
``remote.created``) for a poll, and for a given TaskId of unknown age the last 29 days, then
the 29 days before (as far back as DLC lists).

API calls per export in the normal path: CreateTasks, DescribeTasks (shared by up to 50
exports), CreateResultDownload, DescribeResultDownload — 4, plus one more DescribeTasks or
DescribeResultDownload for every poll that finds the task still running.

CreateTasks takes no idempotency token, and running a query twice is billed twice. After an
answer that leaves open whether the tasks were made, or a kill before their ids were stored,
``DescribeTasks`` filtered by ``task-sql-keyword`` (the start of the exported statement) is
searched for a task with exactly this SQL, database and engine, created since the export was
accepted (see :mod:`shared.providers.dlc_lookup`), not failed or
cancelled, and owned by no other export; the newest such task is adopted.
"""

from __future__ import annotations

import base64
import logging
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from tencentcloud.dlc.v20210125 import dlc_client, models

from shared.clock import from_iso, to_iso, utcnow
from shared.errors import ProviderError, ValidationError
from shared.keys import DataWindow
from shared.model import CosObjectSource, ExportTask, Source
from shared.providers import dlc_lookup
from shared.providers import schema as ps
from shared.providers.base import (
    PollResult,
    RemoteStatus,
    Submission,
    already_gone,
    create_once,
    poll_each,
    unexpected,
    window_of,
)
from shared.providers.dlc_time import (
    WINDOW_BACK,
    WINDOW_MARGIN,
    WINDOW_SPAN,
    dlc_time,
    fmt,
    windows,
)
from shared.providers.tencent import TencentProvider
from shared.providers.validate import Params
from shared.setting_names import ENV_TC_APPID

log = logging.getLogger(__name__)

BATCH = 50  # DescribeTasks: at most 50 task-id filter values
# CreateResultDownload's Format: the documented example sends "CSV", the SDK names the
# result format "csv" (TaskResponseInfo.ResultFormat). Both are accepted from the caller;
# "CSV" is sent first and, if refused as an invalid parameter, "csv" (then remembered).
FORMATS = ("csv", "CSV")
WIRE_FORMATS = ("CSV", "csv")
TASK_GONE = frozenset({"InvalidParameter.TaskNotFound", "InvalidParameter.SQLTaskNotFound"})
STAGE_SQL = "sql"
STAGE_DOWNLOAD = "download"
# Temporary credentials: DLC does not say how long they last; re-read them after this long.
CREDS_MAX_AGE = timedelta(minutes=10)


TASK_RUNNING = {0: "init", 1: "running", 3: "writing", 4: "queued"}
TASK_SUCCESS = 2
TASK_FAILED = -1
TASK_CANCELLED = -3
DOWNLOAD_PENDING = frozenset({"init", "queue", "format", "compress"})
DOWNLOAD_BROKEN = frozenset({"timeout", "error"})

_APPID_SUFFIX = re.compile(r"-\d+$")  # <name>-<appid>, as COS names a bucket
_COS_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9-]*)\.cos\.(?P<region>[a-z0-9-]+)"
                       r"\.myqcloud\.com$")


# The parameters an export of this provider takes (validate() reads their names; the
# OpenAPI document, the CLI, the status page and docs/api.md are made from it).
PARAMS_SCHEMA = ps.obj({
    "TaskId": ps.text(64, "[A-Za-z0-9][A-Za-z0-9_-]*",
                   description="An existing DLC task; not together with SQL"),
    "SQL": ps.text(64 * 1024, description="A query to run first; needs DatabaseName"),
    "DatabaseName": ps.text(128, description="With SQL only"),
    "DataEngineName": ps.text(128, description="With SQL only"),
    "DatasourceConnectionName": ps.text(128, description="With SQL only"),
    "Format": ps.choice(FORMATS, "csv"),
}, [], "DLC query results: either TaskId, or SQL with DatabaseName.")


class DlcProvider(TencentProvider):
    name = "dlc"
    service = "dlc"
    params_schema = PARAMS_SCHEMA
    sdk = (dlc_client.DlcClient, models)
    access_check = ("DescribeTasks", {"Limit": 1})
    create_check = ("DescribeTasks filtered by task-sql-keyword: a task with this SQL, "
                    "database and engine made since the export was accepted, owned by no "
                    "other export")

    # ------------------------------------------------------------------ input
    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        p = Params(params, known=ps.fields(PARAMS_SCHEMA))
        out: dict[str, Any] = {"Format": p.choice("Format", FORMATS, default="csv").lower()}
        has_task = params.get("TaskId") is not None
        has_sql = params.get("SQL") is not None
        if has_task and has_sql:
            raise ValidationError("params.TaskId", "give either TaskId (an existing DLC task) "
                                  "or SQL, not both")
        if not has_task and not has_sql:
            raise ValidationError("params.SQL", "is required (or give params.TaskId of an "
                                  "existing DLC task)")
        if has_task:
            for name in ("DatabaseName", "DataEngineName", "DatasourceConnectionName"):
                if params.get(name) is not None:
                    raise ValidationError(f"params.{name}", "only applies with params.SQL")
            out["TaskId"] = p.text("TaskId", max_len=64, pattern=r"[A-Za-z0-9][A-Za-z0-9_-]*")
            return out
        out["SQL"] = p.text("SQL", max_len=64 * 1024)
        out["DatabaseName"] = p.text("DatabaseName", max_len=128)
        for name in ("DataEngineName", "DatasourceConnectionName"):
            value = p.text(name, default=None, max_len=128)
            if value is not None:
                out[name] = value
        return out

    def group_key(self, task: ExportTask) -> str:
        if task.stage in (None, STAGE_SQL):
            return self.shard("dlc:sql")
        return task.id

    # ------------------------------------------------------------------ calls
    def create(self, task: ExportTask) -> Submission:
        params = task.params
        if params.get("TaskId"):
            # Somebody else's task: check it exists now rather than fail on the first poll.
            for window in windows(None, utcnow()):
                found = self._describe([params["TaskId"]], window)
                if params["TaskId"] in found:
                    created = dlc_time(found[params["TaskId"]].get("CreateTime"))
                    return Submission(remote={
                        "TaskId": params["TaskId"], "own_task": False,
                        "created": to_iso(created or dlc_time(window["StartTime"]))},
                        stage=STAGE_SQL)
            raise ProviderError("dlc", "InvalidParameter.TaskNotFound",
                                "DLC does not list the given TaskId (it lists tasks of the last "
                                "45 days)", retryable=False)
        request: dict[str, Any] = {
            "DatabaseName": params["DatabaseName"],
            "Tasks": {"TaskType": "SQLTask", "FailureTolerance": "Terminate",
                      "SQL": base64.b64encode(params["SQL"].encode("utf-8")).decode("ascii")},
        }
        for name in ("DataEngineName", "DatasourceConnectionName"):
            if params.get(name):
                request[name] = params[name]

        def call() -> Submission:
            created = utcnow()
            answer = self.api.call("CreateTasks", request)
            ids = answer.get("TaskIdSet") or []
            if not ids:
                raise ProviderError("dlc", "NoTaskId", "CreateTasks answered without "
                                    "TaskIdSet", retryable=True)
            # Statements run in order; the last one's result is the one exported.
            return Submission(remote={"TaskId": ids[-1], "own_task": True,
                                      "created": to_iso(created)}, stage=STAGE_SQL)

        return create_once(task, call, lambda: self._made_earlier(task), self.ambiguous)

    def owned_id(self, remote: dict[str, Any]) -> str | None:
        return remote.get("TaskId") if remote.get("own_task") else None

    def _made_earlier(self, task: ExportTask) -> Submission | None:
        """The newest task running this export's SQL (see :mod:`dlc_lookup`)."""
        start = max(task.created_at - WINDOW_MARGIN, utcnow() - WINDOW_BACK)
        found = dlc_lookup.find_task(self.api, task, start_time=fmt(start),
                                     parse_time=dlc_time,
                                     dead_states=(TASK_FAILED, TASK_CANCELLED))
        if found is None:
            return None
        log.info("export %s: DLC task %s runs this export's SQL and was made by an earlier, "
                 "unanswered create; taking it over", task.id, found)
        return Submission(remote={"TaskId": found, "own_task": True, "adopted": True},
                          stage=STAGE_SQL)

    def poll(self, tasks: list[ExportTask]) -> dict[str, PollResult | ProviderError]:
        running = [t for t in tasks if not t.remote.get("DownloadId")]
        results = poll_each((t for t in tasks if t.remote.get("DownloadId")),
                            self._poll_download)
        now = utcnow()
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(running):
            window = windows(_created(chunk[0]), now)[0]
            try:
                found.update(self._describe([t.remote["TaskId"] for t in chunk], window))
            except ProviderError as exc:  # this chunk only; the chunks read before stand
                results.update((t.id, exc) for t in chunk)
        listed = [t for t in running if t.id not in results]
        results.update(poll_each(listed, lambda t: self._sql_result(
            t, found.get(t.remote["TaskId"]))))
        return results

    def data_window(self, task: ExportTask) -> DataWindow:
        """A query result has no window of its own: the schedule's, else the acceptance
        time; its source is the database (``DatabaseName``), unknown for a ``TaskId``."""
        return window_of(task, source=task.params.get("DatabaseName"),
                         account=self.settings.appid, region=self.settings.region)

    def result(self, task: ExportTask, *, refresh: bool = False) -> Source:
        fetched = from_iso(task.result.get("creds_at"))
        if (refresh or not task.result.get("cos_secret_id") or fetched is None
                or utcnow() - fetched >= CREDS_MAX_AGE):
            info = self._download_info(task.remote["DownloadId"])
            if info.get("Status") != "success":
                raise ProviderError("dlc", "ResultNotReady",
                                    f"the result download is {info.get('Status')!r}",
                                    retryable=False)
            task.result.update(self._ready(info).result)
        bucket, region, key = parse_cos_path(str(task.result.get("path") or ""),
                                             self.settings.region, self.settings.appid)
        # settings.endpoint points every Tencent service at one host (the sandbox), which
        # then serves COS as well; None means the real COS.
        return CosObjectSource(
            bucket=bucket, region=region, key=key,
            secret_id=task.result["cos_secret_id"], secret_key=task.result["cos_secret_key"],
            token=task.result.get("cos_token"), file_name=task.result.get("file_name"),
            size=task.result.get("size"), endpoint=self.settings.endpoint)

    def cancel(self, task: ExportTask) -> None:
        # Only a query we started, and only while it runs; a finished result just lapses.
        if task.remote.get("own_task") and not task.remote.get("DownloadId"):
            # gone already: the SDK's errorcodes name InvalidParameter.TaskNotFound
            # (ResourceNotFound kept in case the service answers the generic code)
            with already_gone(*TASK_GONE, "ResourceNotFound", "FailedOperation"):
                self.api.call("CancelTask", {"TaskId": task.remote["TaskId"]})

    # --------------------------------------------------------------- helpers
    def _describe(self, task_ids: list[str],
                  window: dict[str, str]) -> dict[str, dict[str, Any]]:
        answer = self.api.call("DescribeTasks", {
            "Filters": [{"Name": "task-id", "Values": task_ids}],
            "Limit": len(task_ids), "Offset": 0, **window})
        return {str(info.get("Id")): info for info in answer.get("TaskList") or []
                if info.get("Id")}

    def _sql_result(self, task: ExportTask, info: dict[str, Any] | None) -> PollResult:
        own = bool(task.remote.get("own_task"))
        if info is None:
            return PollResult(RemoteStatus.FAILED, retryable=own,
                              reason=f"DLC no longer lists task {task.remote['TaskId']}")
        state = info.get("State")
        if (not isinstance(state, int) or isinstance(state, bool)
                or state not in (*TASK_RUNNING, TASK_SUCCESS, TASK_FAILED, TASK_CANCELLED)):
            log.warning("dlc: task %s answered an unknown State %r; left as it was",
                        task.remote["TaskId"], state, extra={"export_id": task.id})
            return PollResult(RemoteStatus.PENDING, stage=unexpected("state", state),
                              reason=f"DLC answered an unknown task State {state!r}")
        if state == TASK_SUCCESS:
            if info.get("ResultExpired"):
                return PollResult(RemoteStatus.FAILED, retryable=own,
                                  reason="the DLC task's result has expired")
            answer, sent = self._create_download(task)
            download_id = answer.get("DownloadId")
            if not download_id:
                raise ProviderError("dlc", "NoDownloadId",
                                    "CreateResultDownload answered without DownloadId",
                                    retryable=True)
            return PollResult(RemoteStatus.PENDING, progress=100, stage=STAGE_DOWNLOAD,
                              remote={"DownloadId": download_id, "format_sent": sent})
        if state == TASK_FAILED:
            message = str(info.get("OutputMessage") or info.get("Error") or "")[:300]
            return PollResult(RemoteStatus.FAILED, retryable=False,
                              reason=f"the DLC query failed: {message}".rstrip(": "))
        if state == TASK_CANCELLED:
            return PollResult(RemoteStatus.FAILED, retryable=False,
                              reason="the DLC task was cancelled")
        percent = info.get("Percentage")
        return PollResult(RemoteStatus.PENDING, stage=STAGE_SQL,
                          progress=int(percent) if isinstance(percent, (int, float)) else None)

    def _create_download(self, task: ExportTask,
                         force: bool = False) -> tuple[dict[str, Any], str]:
        """CreateResultDownload in the spelling of Format the service takes (see FORMATS)."""
        first = task.remote.get("format_sent") or WIRE_FORMATS[0]
        params: dict[str, Any] = {"TaskId": task.remote["TaskId"], **(
            {"Force": True} if force else {})}
        try:
            return self.api.call("CreateResultDownload", {**params, "Format": first}), first
        except ProviderError as exc:
            if exc.retryable or not exc.code.startswith("InvalidParameter"):
                raise
            other = next(f for f in WIRE_FORMATS if f != first)
            log.info("dlc CreateResultDownload refused Format %r (%s); trying %r",
                     first, exc.code, other)
            return self.api.call("CreateResultDownload", {**params, "Format": other}), other

    def _poll_download(self, task: ExportTask) -> PollResult:
        info = self._download_info(task.remote["DownloadId"])
        status = str(info.get("Status") or "")
        if status == "success":
            return self._ready(info)
        if status in DOWNLOAD_BROKEN:
            if task.remote.get("forced"):
                return PollResult(RemoteStatus.FAILED, retryable=status == "timeout",
                                  reason=f"the DLC result download ended in {status} twice: "
                                         f"{str(info.get('Reason') or '')[:200]}".rstrip(": "))
            log.info("dlc download %s ended in %s; regenerating with Force", task.id, status)
            answer, _ = self._create_download(task, force=True)
            return PollResult(RemoteStatus.PENDING, stage=STAGE_DOWNLOAD, remote={
                "DownloadId": answer.get("DownloadId") or task.remote["DownloadId"],
                "forced": True})
        if status in DOWNLOAD_PENDING:
            return PollResult(RemoteStatus.PENDING, stage=STAGE_DOWNLOAD)
        log.warning("dlc: a result download answered an unknown Status %r", status)
        return PollResult(RemoteStatus.PENDING, stage=unexpected("download status", status),
                          reason=f"unknown download status {status!r}")

    def _download_info(self, download_id: str) -> dict[str, Any]:
        return self.api.call("DescribeResultDownload", {"DownloadId": download_id})

    def _ready(self, info: dict[str, Any]) -> PollResult:
        path = str(info.get("Path") or "")
        if not info.get("SecretId") or not info.get("SecretKey"):
            raise ProviderError("dlc", "NoCredentials", "the finished download came without "
                                "temporary credentials", retryable=True)
        try:
            _, _, key = parse_cos_path(path, self.settings.region, self.settings.appid)
        except ValueError as exc:
            raise ProviderError("dlc", "UnknownPath", str(exc), retryable=False) from exc
        return PollResult(RemoteStatus.READY, progress=100, result={
            "path": path,
            "file_name": key.rsplit("/", 1)[-1] or None,
            "cos_secret_id": info["SecretId"],
            "cos_secret_key": info["SecretKey"],
            "cos_token": info.get("Token") or None,
            "creds_at": to_iso(utcnow()),
        })


def _chunks(tasks: list[ExportTask]) -> list[list[ExportTask]]:
    """Batches of at most ``BATCH`` tasks, oldest first, each inside one window."""
    out: list[list[ExportTask]] = []
    for task in sorted(tasks, key=_created):
        if (not out or len(out[-1]) >= BATCH
                or _created(task) - _created(out[-1][0]) > WINDOW_SPAN - 2 * WINDOW_MARGIN):
            out.append([])
        out[-1].append(task)
    return out


def _created(task: ExportTask) -> datetime:
    return from_iso(task.remote.get("created")) or task.created_at


def parse_cos_path(path: str, default_region: str, appid: str | None = None
                   ) -> tuple[str, str, str]:
    """``(bucket, region, key)`` of a DLC result ``Path``; ValueError when unreadable. A
    bucket without ``-<appid>`` (the documented example's) is completed with ``appid``."""
    parts = urlsplit(path.strip())
    key = unquote(parts.path).lstrip("/")
    if parts.scheme in ("cosn", "cos", "s3a", "s3") and parts.netloc and key:
        bucket = parts.netloc
        if not _APPID_SUFFIX.search(bucket):
            if not appid:
                raise ValueError(f"the DLC result Path names bucket {bucket!r} without its "
                                 f"-<appid> suffix; set {ENV_TC_APPID} to the account's APPID "
                                 "so the result can be read")
            bucket = f"{bucket}-{appid}"
        return bucket, default_region, key
    if parts.scheme in ("http", "https") and parts.hostname:
        m = _COS_HOST.match(parts.hostname)
        if m and key:
            return m.group("bucket"), m.group("region"), key
    raise ValueError("the DLC result Path is not a COS location this provider reads "
                     "(expected cosn://bucket/key or https://bucket.cos.region.myqcloud.com/key)")
