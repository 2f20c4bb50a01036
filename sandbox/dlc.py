"""DLC (service ``dlc``, API 2021-01-25): CreateTasks, DescribeTasks, CancelTask,
CreateResultDownload, DescribeResultDownload.

Written from the vendor's API description, not from any client. A SQL task follows sandbox
time: state 4 (queued) for ``queue_s``, 1 (running) for ``process_s``, then 2 (success), or
-1 (failed) when its database is in ``failing_databases`` or its SQL contains
``sandbox_fail``. A result download is ``queue`` for ``queue_s``, ``format`` for
``process_s``, then ``success`` — or ``error`` while ``broken_downloads`` (a count) lasts,
which ``CreateResultDownload(Force=true)`` regenerates.

A successful download names a COS object, ``cosn://<bucket>/<key>``, and every
``DescribeResultDownload`` issues fresh temporary credentials (SecretId, SecretKey, Token)
that may read that one object until ``creds_ttl_s`` of sandbox time has passed. The object
is served by :mod:`sandbox.cos_objects` on the same port.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Optional

from sandbox.errors import ApiError
from sandbox.params import Params

if TYPE_CHECKING:
    from sandbox.host import Host

APPID = "1300000000"
BUCKET = f"dlc-results-{APPID}"
MAX_TASK_IDS = 50
MAX_LIMIT = 100
MAX_STATEMENTS = 50
CHINA = timezone(timedelta(hours=8))
DAY = 86400.0
# DescribeTasks time window (SDK DescribeTasksRequest): a span in (0, 30 days], data of the
# last 45 days; StartTime defaults to 45 days ago (``window_days``; an old page said 7).
MAX_SPAN_DAYS = 30
MAX_BACK_DAYS = 45
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def _time(unix: float) -> str:
    return datetime.fromtimestamp(unix, tz=CHINA).strftime(TIME_FORMAT)


def _parse_time(name: str, value: str) -> float:
    """A ``yyyy-mm-dd HH:MM:SS`` request time, read as Beijing time like CreateTime."""
    try:
        return datetime.strptime(value.strip(), TIME_FORMAT).replace(tzinfo=CHINA).timestamp()
    except ValueError:
        raise ApiError("InvalidParameter.InvalidTimeFormat",
                       f"parameter `{name}` must be yyyy-mm-dd HH:MM:SS") from None


@dataclass
class SqlTask:
    task_id: str
    database: str
    sql: str
    engine: str
    created: float
    seq: int
    fails: bool
    cancelled_at: Optional[float] = None


@dataclass
class Download:
    download_id: str
    task_id: str
    fmt: str
    created: float
    broken: bool
    size: int

    @property
    def key(self) -> str:
        return f"dlc-results/{self.task_id}/{self.download_id}/result.{self.fmt}"


class DlcService:
    service = "dlc"
    version = "2021-01-25"

    def __init__(self, sandbox: Host) -> None:
        self.sb = sandbox
        self.formats: tuple[str, ...] = ("CSV", "csv")  # CreateResultDownload Format
        self.tasks: dict[str, SqlTask] = {}
        self.downloads: dict[str, Download] = {}
        self.failing_databases: set[str] = set()
        self.broken_downloads = 0  # the next N downloads end in ``error``
        self.creds_ttl_s = 1800.0
        # DescribeTasks' default StartTime: 45 days back (settled by the documents since;
        # an older API page said 7, still selectable here)
        self.window_days = 45
        # "appid": Path cosn://<bucket>-<appid>/<key>; "example": as the documented answer,
        # cosn://<bucket>/dlc/DLCQueryResults/<y>/<m>/<d>/*/*/download/download-<id>.<fmt>
        self.path_form = "appid"
        self._seq = itertools.count()
        self._lock = threading.RLock()
        self.actions: dict[str, Callable[[Params], dict[str, Any]]] = {
            "CreateTasks": self.create_tasks,
            "DescribeTasks": self.describe_tasks,
            "CancelTask": self.cancel_task,
            "CreateResultDownload": self.create_result_download,
            "DescribeResultDownload": self.describe_result_download,
        }

    # -- state -------------------------------------------------------------------------------

    def state(self, task: SqlTask, now: float) -> int:
        if task.cancelled_at is not None:
            return -3
        age = now - task.created
        if age < self.sb.queue_s:
            return 4
        if age < self.sb.queue_s + self.sb.process_s:
            return 1
        return -1 if task.fails else 2

    def download_status(self, download: Download, now: float) -> str:
        age = now - download.created
        if age < self.sb.queue_s:
            return "queue"
        if age < self.sb.queue_s + self.sb.process_s:
            return "format"
        return "error" if download.broken else "success"

    def _task_info(self, task: SqlTask, now: float) -> dict[str, Any]:
        state = self.state(task, now)
        span = max(self.sb.process_s, 0.001)
        percent = {2: 100, -1: 100, -3: 0, 4: 0}.get(
            state, int(min(max((now - task.created - self.sb.queue_s) / span, 0), 1) * 99))
        return {
            "Id": task.task_id,
            "DatabaseName": task.database,
            # the SQL as it was sent, base64 (TaskResponseInfo on the DLC data-structure page)
            "SQL": base64.b64encode(task.sql.encode("utf-8")).decode("ascii"),
            "SQLType": "DQL",
            "State": state,
            "DataAmount": 0,
            "UsedTime": 0,
            "OutputPath": f"cosn://{BUCKET}/dlc-output/{task.task_id}/",
            # a millisecond epoch string, as the DLC data-structure page's TaskResponseInfo
            # example shows it ("1611646962000")
            "CreateTime": str(int(task.created * 1000)),
            "UpdateTime": _time(now),
            "Percentage": percent,
            "OutputMessage": "sandbox: query failed (Table not found)" if state == -1 else "",
            "ResultExpired": False,
            "CanDownload": state == 2,
            "ResultFormat": "csv",
            "DataEngineName": task.engine,
            "TaskType": "SQLTask",
        }

    def add_task(self, sql: str, database: str = "sales", age_s: float = 0.0) -> str:
        """A task somebody ran ``age_s`` (sandbox) seconds ago; finished unless very young."""
        with self._lock:
            task = SqlTask(task_id=str(uuid.uuid4()), database=database, sql=sql,
                           engine="sandbox-engine", created=self.sb.clock.now() - age_s,
                           seq=next(self._seq), fails=False)
            self.tasks[task.task_id] = task
        return task.task_id

    def window(self, params: Params, now: float) -> tuple[float, float]:
        """DescribeTasks' [StartTime, EndTime] on CreateTime. The limits are checked on a
        StartTime the caller gave (the SDK's own 45-day default would break its 30-day span)."""
        raw_start, raw_end = params.text("StartTime"), params.text("EndTime")
        end = _parse_time("EndTime", raw_end) if raw_end else now
        if not raw_start:
            return now - self.window_days * DAY, end
        start = _parse_time("StartTime", raw_start)
        if end <= start:
            raise ApiError("InvalidParameter.InvalidTimeParameter",
                           "EndTime must be later than StartTime")
        if end - start > MAX_SPAN_DAYS * DAY:
            raise ApiError("InvalidParameter.InvalidTimeParameter",
                           f"the time span may be at most {MAX_SPAN_DAYS} days")
        if start < now - MAX_BACK_DAYS * DAY:
            raise ApiError("InvalidParameter.InvalidTimeParameter",
                           f"only the last {MAX_BACK_DAYS} days can be queried")
        return start, end

    # -- actions -----------------------------------------------------------------------------

    def create_tasks(self, params: Params) -> dict[str, Any]:
        database = params.text("DatabaseName", required=True)
        engine = params.text("DataEngineName", default="sandbox-engine") or "sandbox-engine"
        params.text("DatasourceConnectionName")
        tasks = params.data.get("Tasks")
        if tasks is None:
            raise ApiError("MissingParameter", "the request is missing parameter `Tasks`")
        if not isinstance(tasks, dict):
            raise ApiError("InvalidParameter", "parameter `Tasks` must be an object")
        inner = Params(tasks)
        inner.text("TaskType", required=True, choices=("SQLTask", "SparkSQLTask"))
        inner.text("FailureTolerance", choices=("Proceed", "Terminate"))
        encoded = inner.text("SQL", required=True, allow_empty=False) or ""
        try:
            sql = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError("InvalidParameterValue",
                           "parameter `Tasks.SQL` must be base64-encoded") from None
        statements = [s.strip() for s in sql.split(";") if s.strip()]
        if not statements:
            raise ApiError("InvalidParameterValue", "parameter `Tasks.SQL` has no statement")
        if len(statements) > MAX_STATEMENTS:
            raise ApiError("InvalidParameterValue",
                           f"at most {MAX_STATEMENTS} statements per request")
        now = self.sb.clock.now()
        ids: list[str] = []
        with self._lock:
            for statement in statements:
                task = SqlTask(
                    task_id=str(uuid.uuid4()), database=database or "", sql=statement,
                    engine=engine, created=now, seq=next(self._seq),
                    fails=(database in self.failing_databases
                           or "sandbox_fail" in statement.lower()))
                self.tasks[task.task_id] = task
                ids.append(task.task_id)
        return {"BatchId": str(uuid.uuid4()), "TaskIdSet": ids}

    def describe_tasks(self, params: Params) -> dict[str, Any]:
        limit = params.integer("Limit", default=10, minimum=1, maximum=MAX_LIMIT)
        offset = params.integer("Offset", default=0, minimum=0)
        assert limit is not None and offset is not None  # noqa: S101
        wanted: Optional[set[str]] = None
        states: Optional[set[int]] = None
        keywords: list[str] = []
        for item in params.items("Filters", item=dict) or []:
            name = item.get("Name")
            values = item.get("Values") or []
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ApiError("InvalidParameter", "Filters.Values must be a list of strings")
            if name == "task-id":
                if len(values) > MAX_TASK_IDS:
                    raise ApiError("InvalidParameterValue",
                                   f"filter task-id takes at most {MAX_TASK_IDS} values")
                wanted = set(values) if wanted is None else wanted & set(values)
            elif name == "task-state":
                states = {int(v) for v in values if v.lstrip("-").isdigit()}
            elif name == "task-sql-keyword":
                # The SDK's DescribeTasksRequest.Filters: "task-sql-keyword - String - SQL
                # statement keyword, fuzzy match". Read here as a case-insensitive substring.
                keywords += [v.lower() for v in values]
            else:
                raise ApiError("InvalidParameterValue", f"unsupported filter {name!r}")
        now = self.sb.clock.now()
        start, end = self.window(params, now)
        with self._lock:
            mine = [t for t in self.tasks.values()
                    if (wanted is None or t.task_id in wanted) and start <= t.created <= end
                    and all(k in t.sql.lower() for k in keywords)]
            mine.sort(key=lambda t: (t.created, t.seq))
            infos = [self._task_info(t, now) for t in mine]
        if states is not None:
            infos = [i for i in infos if i["State"] in states]
        return {"TaskList": infos[offset:offset + limit], "TotalCount": len(infos)}

    def cancel_task(self, params: Params) -> dict[str, Any]:
        task_id = params.text("TaskId", required=True, allow_empty=False) or ""
        now = self.sb.clock.now()
        with self._lock:
            task = self.tasks.get(task_id)
            if task is None:
                raise ApiError("InvalidParameter.TaskNotFound", f"task {task_id} not found")
            if self.state(task, now) in (2, -1, -3):
                raise ApiError("FailedOperation", "the task has already finished")
            task.cancelled_at = now
        return {}

    def create_result_download(self, params: Params) -> dict[str, Any]:
        task_id = params.text("TaskId", required=True, allow_empty=False) or ""
        # The CreateResultDownload example sends "CSV", the SDK names the result format
        # "csv": which one the service takes is not documented; ``formats`` picks.
        fmt = params.text("Format", default=self.formats[0], choices=self.formats) or "csv"
        fmt = fmt.lower()
        force = params.data.get("Force")
        if force is not None and not isinstance(force, bool):
            raise ApiError("InvalidParameter", "parameter `Force` must be a boolean")
        now = self.sb.clock.now()
        with self._lock:
            task = self.tasks.get(task_id)
            if task is None:
                raise ApiError("InvalidParameter.TaskNotFound", f"task {task_id} not found")
            if self.state(task, now) != 2:
                raise ApiError("FailedOperation", "the task has no result to download yet")
            existing = [d for d in self.downloads.values()
                        if d.task_id == task_id and d.fmt == fmt]
            if existing:
                latest = max(existing, key=lambda d: d.created)
                broken = self.download_status(latest, now) in ("error", "timeout")
                if not (force and broken):
                    return {"DownloadId": latest.download_id}
            download = Download(download_id=str(uuid.uuid4()), task_id=task_id, fmt=fmt,
                                created=now, broken=self.broken_downloads > 0,
                                size=self.sb.file_size)
            if self.broken_downloads > 0:
                self.broken_downloads -= 1
            self.downloads[download.download_id] = download
        return {"DownloadId": download.download_id}

    def describe_result_download(self, params: Params) -> dict[str, Any]:
        download_id = params.text("DownloadId", required=True, allow_empty=False) or ""
        now = self.sb.clock.now()
        with self._lock:
            download = self.downloads.get(download_id)
        if download is None:
            raise ApiError("ResourceNotFound",
                           f"download {download_id} not found")
        status = self.download_status(download, now)
        out: dict[str, Any] = {"Path": "", "Status": status, "Reason": "", "SecretId": "",
                               "SecretKey": "", "Token": ""}
        if status == "error":
            out["Reason"] = "sandbox: result file generation failed"
        if status == "success":
            key, named = download.key, BUCKET
            if self.path_form == "example":
                day = datetime.fromtimestamp(download.created, tz=CHINA).strftime("%Y/%m/%d")
                key = (f"dlc/DLCQueryResults/{day}/*/*/download/"
                       f"download-{download.download_id[:5]}.{download.fmt}")
                named = BUCKET[:-len(APPID) - 1]
            self.sb.files.register(download.download_id, key.rsplit("/", 1)[-1],
                                   download.size, download.download_id,
                                   download.created + self.sb.queue_s + self.sb.process_s)
            cred = self.sb.cos_objects.issue(BUCKET, key, download.download_id,
                                             self.creds_ttl_s)
            out.update(Path=f"cosn://{named}/{key}", SecretId=cred.secret_id,
                       SecretKey=cred.secret_key, Token=cred.token or "")
        return out
