"""TCSS (service ``tcss``, API 2020-11-01): asynchronous export jobs.

Every ``Create*ExportJob`` action of the SDK (plus CreateExportComplianceStatusListJob)
takes its own filters — passed through unchecked beyond being a JSON object — and returns
``JobId``. DescribeExportJobResult(JobId) reports RUNNING / SUCCESS / FAILURE with progress
and ``DownloadURL``; DescribeExportJobDownloadURL(JobID) re-reads the URL;
DescribeExportJobManageList lists the jobs.
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


class TcssService:
    service = "tcss"
    version = "2020-11-01"

    def __init__(self, sandbox: Host) -> None:
        self.sb = sandbox
        self.jobs: dict[str, Job] = {}
        self.fail_actions: set[str] = set()  # Create* action names whose jobs fail
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
        job = Job(job_id=job_id, owner=action, created=self.sb.clock.now(),
                  size=self.sb.file_size, fails=action in self.fail_actions,
                  file_name=f"{job_id}.jsonl", params=dict(params.data))
        with self._lock:
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
        now = self.sb.clock.now()
        with self._lock:
            jobs = sorted(self.jobs.values(), key=lambda j: j.created, reverse=True)
        rows = []
        for job in jobs[offset:offset + limit]:
            stage, percent = phase(job, now, self.sb.queue_s, self.sb.process_s)
            rows.append({
                "JobID": job.job_id, "JobName": job.owner, "Source": "sandbox",
                "ExportStatus": EXPORT_STATUS[stage], "ExportProgress": percent,
                "FailureMsg": FAILURE_MSG if stage == "failed" else "",
                "Timeout": format_time(job.created + 24 * 3600),
                "InsertTime": format_time(job.created),
            })
        return {"TotalCount": len(jobs), "List": rows}
