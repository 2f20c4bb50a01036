"""TCSS (service ``tcss``, API 2020-11-01): asynchronous export jobs.

Every ``Create*ExportJob`` action of the SDK (plus CreateExportComplianceStatusListJob)
takes its own filters — passed through unchecked beyond being a JSON object — and returns
``JobId``. DescribeExportJobResult(JobId) reports RUNNING / SUCCESS / FAILURE with progress
and ``DownloadURL``; DescribeExportJobDownloadURL(JobID) re-reads the URL;
DescribeExportJobManageList lists the jobs, named as the published example shows
(``LocalImage-253332865-343433341-1``: source, account, number), never after the action; its
order is not documented (``list_order``: newest or oldest first).
"""

from __future__ import annotations

import threading
from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from sandbox.errors import ApiError
from sandbox.jobs import Job, download_url, format_time, new_id, phase
from sandbox.params import Params

if TYPE_CHECKING:
    from sandbox.host import Host

CREATE_ACTIONS = (
    "CreateAbnormalProcessRulesExportJob", "CreateAccessControlsRuleExportJob",
    "CreateAssetImageVirusExportJob", "CreateComponentExportJob", "CreateDefenceVulExportJob",
    "CreateEmergencyVulExportJob", "CreateEscapeEventsExportJob",
    "CreateEscapeWhiteListExportJob", "CreateExportComplianceStatusListJob",
    "CreateHostExportJob", "CreateImageExportJob", "CreateK8sApiAbnormalEventExportJob",
    "CreateK8sApiAbnormalRuleExportJob", "CreateProcessEventsExportJob",
    "CreateRiskDnsEventExportJob", "CreateSystemVulExportJob", "CreateVulContainerExportJob",
    "CreateVulDefenceEventExportJob", "CreateVulDefenceHostExportJob", "CreateVulExportJob",
    "CreateVulImageExportJob", "CreateWebVulExportJob",
)
EXPORT_STATUS = {"queued": "RUNNING", "running": "RUNNING", "succeeded": "SUCCESS",
                 "failed": "FAILURE"}
FAILURE_MSG = "sandbox: export job failed"
APP_ID = "1300000000"  # the account's APPID in job names


def job_source(action: str) -> str:
    """A job's ``Source``: the example shows ``LocalImage`` for an image export (the SDK's
    ExportSource filter names LocalImage and RegistryImage); other kinds are named after
    the action (assumption)."""
    if action == "CreateImageExportJob":
        return "LocalImage"
    return action.removeprefix("Create").removesuffix("ExportJob").removesuffix("Job") or action


class TcssService:
    service = "tcss"
    version = "2020-11-01"

    def __init__(self, sandbox: Host) -> None:
        self.sb = sandbox
        self.jobs: dict[str, Job] = {}
        self.fail_actions: set[str] = set()  # Create* action names whose jobs fail
        # DescribeExportJobManageList's order is not documented: "newest" or "oldest" first
        self.list_order = "newest"
        self._seq = 0
        self._lock = threading.Lock()
        self.actions: dict[str, Callable[[Params], dict[str, Any]]] = {
            name: partial(self.create, name) for name in CREATE_ACTIONS}
        self.actions.update({
            "DescribeExportJobResult": self.result,
            "DescribeExportJobDownloadURL": self.download,
            "DescribeExportJobManageList": self.manage_list,
        })

    def create(self, action: str, params: Params) -> dict[str, Any]:
        if "Filters" in params.data:
            params.items("Filters", item=dict)
        for name in ("Limit", "Offset"):
            params.integer(name, minimum=0)
        job_id = new_id("export-")
        now = self.sb.clock.now()
        with self._lock:
            self._seq += 1
            # named like the listing example (``LocalImage-253332865-343433341-1``)
            name = f"{job_source(action)}-{APP_ID}-{int(now)}-{self._seq}"
            job = Job(job_id=job_id, owner=action, created=now,
                      size=self.sb.file_size, fails=action in self.fail_actions,
                      file_name=f"{job_id}.jsonl", params=dict(params.data), name=name)
            self.jobs[job_id] = job
        out: dict[str, Any] = {"JobId": job_id}
        if action == "CreateImageExportJob":
            out["DownloadUrl"] = ""
        return out

    def _job(self, params: Params, name: str) -> Job:
        job_id = params.text(name, required=True, allow_empty=False)
        with self._lock:
            job = self.jobs.get(job_id or "")
        if job is None:
            raise ApiError("ResourceNotFound", f"export job {job_id} does not exist")
        return job

    def result(self, params: Params) -> dict[str, Any]:
        job = self._job(params, "JobId")
        now = self.sb.clock.now()
        stage, percent = phase(job, now, self.sb.queue_s, self.sb.process_s)
        return {
            "ExportStatus": EXPORT_STATUS[stage],
            "ExportProgress": float(percent) + 0.5 if 0 < percent < 100 else float(percent),
            "DownloadURL": download_url(self.sb, job, now) if stage == "succeeded" else "",
            "FailureMsg": FAILURE_MSG if stage == "failed" else "",
        }

    def download(self, params: Params) -> dict[str, Any]:
        job = self._job(params, "JobID")
        now = self.sb.clock.now()
        stage, _ = phase(job, now, self.sb.queue_s, self.sb.process_s)
        if stage != "succeeded":
            raise ApiError("FailedOperation", f"export job {job.job_id} is not finished "
                           f"successfully ({EXPORT_STATUS[stage]})")
        return {"DownloadURL": download_url(self.sb, job, now)}

    def manage_list(self, params: Params) -> dict[str, Any]:
        limit = params.integer("Limit", default=10, minimum=1, maximum=100)
        offset = params.integer("Offset", default=0, minimum=0)
        assert limit is not None and offset is not None  # noqa: S101
        wanted: dict[str, set[str]] = {}
        for item in params.items("Filters", item=dict) or []:
            name = str(item.get("Name"))
            if name not in ("ExportStatus", "ExportSource"):
                raise ApiError("InvalidParameterValue", f"unsupported filter {name!r}")
            wanted[name] = {str(v) for v in item.get("Values") or []}
        now = self.sb.clock.now()
        with self._lock:
            jobs = sorted(self.jobs.values(), key=lambda j: j.created,
                          reverse=self.list_order == "newest")
        jobs = [j for j in jobs if all(
            (EXPORT_STATUS[phase(j, now, self.sb.queue_s, self.sb.process_s)[0]]
             if name == "ExportStatus" else job_source(j.owner)) in values
            for name, values in wanted.items())]
        rows = []
        for job in jobs[offset:offset + limit]:
            stage, percent = phase(job, now, self.sb.queue_s, self.sb.process_s)
            rows.append({
                "JobID": job.job_id, "JobName": job.name or job.job_id,
                "Source": job_source(job.owner),
                "ExportStatus": EXPORT_STATUS[stage], "ExportProgress": percent,
                "FailureMsg": FAILURE_MSG if stage == "failed" else "",
                "Timeout": format_time(job.created + 24 * 3600),
                "InsertTime": format_time(job.created),
            })
        return {"TotalCount": len(jobs), "List": rows}
