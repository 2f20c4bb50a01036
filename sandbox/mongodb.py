"""MongoDB (service ``mongodb``, API 2019-07-25): log download tasks.

CreateLogDownloadTask answers only ``{"Status": 1}`` — no TaskId; a caller finds its task
through DescribeLogDownloadTasks on the instance. Task Status: 0 init, 1 running, 2 success,
3 failed (instances passed to ``fail_instances``).

The documented DescribeLogDownloadTasks example shows a finished task (``Status: 2``,
``Percent: 100``) with ``Url: ""``. Whether the URL fills in later is not documented:
``url_lag_s`` keeps a finished task's Url empty for that many seconds (``None``: filled at
once; ``math.inf``: never), so both readings are tested.

DescribeLogDownloadTasks' ``StartTime``/``EndTime`` select tasks by their log time range (the
window they were created with), not by creation: the published example asks 09:22-15:33 and
lists a task created 21:01. Overlap is the reading emulated (an assumption, SOURCES.md).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Optional

from sandbox.errors import ApiError
from sandbox.jobs import Job, download_url, format_time, new_id, parse_time, phase
from sandbox.params import Params

if TYPE_CHECKING:
    from sandbox.host import Host

MAX_LIMIT = 100
STATUS = {"queued": 0, "running": 1, "succeeded": 2, "failed": 3}
LIST_FIELDS = ("NodeNames", "LogComponents", "LogLevels", "LogIds", "LogConnections")


class MongoService:
    service = "mongodb"
    version = "2019-07-25"

    def __init__(self, sandbox: Host) -> None:
        self.sb = sandbox
        self.tasks: dict[str, Job] = {}
        self.fail_instances: set[str] = set()
        self.missing_instances: set[str] = set()
        self.file_sizes: dict[str, int] = {}
        self.url_lag_s: float | None = None  # a finished task's Url stays "" this long
        self._lock = threading.Lock()
        self.actions: dict[str, Callable[[Params], dict[str, Any]]] = {
            "CreateLogDownloadTask": self.create,
            "DescribeLogDownloadTasks": self.describe,
            "DeleteLogDownloadTask": self.delete,
            "DescribeDBInstances": self.describe_instances,
        }

    def _instance(self, params: Params) -> str:
        instance_id = params.text("InstanceId", required=True, allow_empty=False)
        assert instance_id is not None  # noqa: S101
        if not instance_id.startswith("cmgo-") or instance_id in self.missing_instances:
            raise ApiError("InvalidParameterValue.NotFoundInstance",
                           f"instance {instance_id} does not exist")
        return instance_id

    def create(self, params: Params) -> dict[str, Any]:
        instance_id = self._instance(params)
        start = parse_time("StartTime", params.text("StartTime", required=True))
        end = parse_time("EndTime", params.text("EndTime", required=True))
        assert start is not None and end is not None  # noqa: S101
        if start >= end:
            raise ApiError("InvalidParameterValue.StartTimeNotBeforeThanEndTime",
                           "`StartTime` must be earlier than `EndTime`")
        for name in LIST_FIELDS:
            params.items(name)
        params.items("LogDetailParams", item=dict)
        task_id = new_id()
        job = Job(job_id=task_id, owner=instance_id, created=self.sb.clock.now(),
                  size=self.file_sizes.get(instance_id, self.sb.file_size),
                  fails=instance_id in self.fail_instances, file_name=f"{task_id}.log",
                  params={k: params.data.get(k) for k in LIST_FIELDS},
                  kind=1 if "E" in (params.data.get("LogLevels") or []) else 0,
                  window=(start, end))
        with self._lock:
            self.tasks[task_id] = job
        return {"Status": 1}

    def task_info(self, job: Job, now: float) -> dict[str, Any]:
        stage, percent = phase(job, now, self.sb.queue_s, self.sb.process_s)
        done = stage in ("succeeded", "failed")
        updated = job.created + (self.sb.queue_s + self.sb.process_s if done
                                 else max(0.0, now - job.created))
        return {
            "TaskType": job.kind,
            "TaskId": job.job_id,
            "CreateTime": format_time(job.created),
            "UpdateTime": format_time(updated),
            "FileSize": job.size if stage == "succeeded" else 0,
            "Status": STATUS[stage],
            "Percent": percent,
            "Url": download_url(self.sb, job, now) if self._has_url(stage, updated, now) else "",
        }

    def _has_url(self, stage: str, finished: float, now: float) -> bool:
        lag = self.url_lag_s
        return stage == "succeeded" and (lag is None or now - finished >= lag)

    def describe_instances(self, params: Params) -> dict[str, Any]:
        """The instances log tasks were made for (the sandbox keeps no other list), paged by
        ``Offset`` / ``Limit``; each as an InstanceDetail with its id only."""
        limit = params.integer("Limit", default=20, minimum=1, maximum=MAX_LIMIT)
        offset = params.integer("Offset", default=0, minimum=0)
        assert limit is not None and offset is not None  # noqa: S101
        with self._lock:
            ids = sorted({j.owner for j in self.tasks.values()})
        return {"TotalCount": len(ids),
                "InstanceDetails": [{"InstanceId": i} for i in ids[offset:offset + limit]]}

    def describe(self, params: Params) -> dict[str, Any]:
        instance_id = self._instance(params)
        limit = params.integer("Limit", default=20)
        offset = params.integer("Offset", default=0)
        assert limit is not None and offset is not None  # noqa: S101
        if limit < 1 or limit > MAX_LIMIT:
            raise ApiError("InvalidParameterValue", f"`Limit` must be 1..{MAX_LIMIT}")
        if offset < 0:
            raise ApiError("InvalidParameterValue", "`Offset` must not be negative")
        start = parse_time("StartTime", params.text("StartTime"))
        end = parse_time("EndTime", params.text("EndTime"))
        now = self.sb.clock.now()
        with self._lock:
            mine = [j for j in self.tasks.values() if j.owner == instance_id
                    and self._in_range(j, start, end)]
        mine.sort(key=lambda j: j.created, reverse=True)
        # The SDK documents Offset as a page number (0-based here).
        first = offset * limit
        return {"TotalCount": len(mine),
                "Tasks": [self.task_info(j, now) for j in mine[first:first + limit]]}

    @staticmethod
    def _in_range(job: Job, start: Optional[float], end: Optional[float]) -> bool:
        """StartTime/EndTime select by the task's log time range, not its creation: the
        published example asks 09:22-15:33 and lists a task created 21:01. A task is
        listed when its range overlaps the asked one (assumption: overlap, not
        containment; see SOURCES.md)."""
        low, high = job.window or (job.created, job.created)
        return (start is None or high >= start) and (end is None or low <= end)

    def delete(self, params: Params) -> dict[str, Any]:
        instance_id = self._instance(params)
        task_id = params.text("TaskId", required=True, allow_empty=False)
        with self._lock:
            job = self.tasks.get(task_id or "")
            if job is None or job.owner != instance_id:
                raise ApiError("ResourceNotFound", f"task {task_id} does not exist")
            del self.tasks[job.job_id]
        self.sb.files.remove(job.job_id)
        return {"Status": 0}
