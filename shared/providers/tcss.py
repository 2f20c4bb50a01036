"""Tencent Cloud TCSS (container security) export jobs (API 2020-11-01).

Any of the SDK's export-job create actions (``CreateExportComplianceStatusListJob`` and the
``Create*ExportJob`` family), chosen by name from an allow-list, with the caller's parameters
checked against that action's request model.

Polling reads ``DescribeExportJobManageList`` (the account's export jobs, newest first, at
most 100 a page: ``JobID``, ``ExportStatus``, ``ExportProgress``, ``FailureMsg``; no URL)
once for all pending jobs, stopping once every wanted job is seen; a job it does not list is
asked for by ``DescribeExportJobResult``. A finished job's URL is read when the file is
fetched (``DescribeExportJobDownloadURL``), so it is fresh when used.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from tencentcloud.tcss.v20201101 import models, tcss_client

from shared.clock import from_iso, to_iso, utcnow
from shared.config import TencentSettings
from shared.errors import ProviderError, ValidationError
from shared.model import ExportTask
from shared.providers.base import PollResult, Provider, RateLimiter, RemoteStatus, Submission
from shared.providers.tencent import TencentApi
from shared.providers.validate import Params
from shared.storage.base import Source, UrlSource

# Every export-job create action the SDK offers (read from tcss_client at import).
ACTIONS = frozenset(
    name for name in dir(tcss_client.TcssClient)
    if name == "CreateExportComplianceStatusListJob"
    or (name.startswith("Create") and name.endswith("ExportJob"))
)
URL_LIFETIME = timedelta(minutes=10)  # not documented; assume short and re-read when refused
PAGE = 100  # DescribeExportJobManageList's largest page

STATUS = {"SUCCESS": RemoteStatus.READY, "FAILURE": RemoteStatus.FAILED,
          "RUNNING": RemoteStatus.PENDING}


def request_fields(action: str) -> set[str]:
    request = getattr(models, f"{action}Request")()
    return {k.lstrip("_") for k in vars(request) if k.startswith("_")}


class TcssProvider(Provider):
    name = "tcss"

    def __init__(self, settings: TencentSettings, *, api: TencentApi | None = None,
                 limiter: RateLimiter | None = None) -> None:
        self.api = api or TencentApi.build("tcss", "tcss", tcss_client.TcssClient, models,
                                           settings, limiter)

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        p = Params(params, known={"Action", "Params"})
        action = p.text("Action", max_len=80)
        if action not in ACTIONS:
            raise ValidationError("params.Action", "not a TCSS export-job action (expected "
                                  "CreateExportComplianceStatusListJob or a Create*ExportJob)")
        inner = p.obj("Params", default={})
        allowed = request_fields(action)
        unknown = sorted(set(inner) - allowed)
        if unknown:
            raise ValidationError(f"params.Params.{unknown[0]}",
                                  f"{action} has no such parameter")
        return {"Action": action, "Params": inner}

    def create(self, task: ExportTask) -> Submission:
        answer = self.api.call(task.params["Action"], dict(task.params["Params"]))
        job_id = answer.get("JobId")
        if not job_id:
            raise ProviderError("tcss", "NoJobId", f"{task.params['Action']} answered without "
                                "JobId", retryable=True)
        return Submission(remote={"JobId": job_id})

    def group_key(self, task: ExportTask) -> str:
        return "tcss:jobs"  # one listing holds every export job of the account

    def poll(self, tasks: list[ExportTask]) -> dict[str, PollResult | ProviderError]:
        wanted = {t.remote["JobId"] for t in tasks if t.remote.get("JobId")}
        listed, broke = self._scan(wanted)
        results: dict[str, PollResult | ProviderError] = {}
        for task in tasks:
            job_id = task.remote.get("JobId")
            info = listed.get(job_id) if job_id else None
            if info is None and broke is not None:
                results[task.id] = broke
                continue
            if info is None:  # not listed: ask for the one job
                try:
                    info = self.api.call("DescribeExportJobResult", {"JobId": job_id})
                except ProviderError as exc:
                    results[task.id] = exc
                    continue
            results[task.id] = self._to_result(task, info)
        return results

    def _scan(self, wanted: set[str]) -> tuple[dict[str, dict[str, Any]], ProviderError | None]:
        """The export-job list, paged until every wanted job is seen: what was found, and
        the error that broke the paging off, if one did."""
        found: dict[str, dict[str, Any]] = {}
        offset = 0
        while wanted - found.keys():
            try:
                page = self.api.call("DescribeExportJobManageList",
                                     {"Offset": offset, "Limit": PAGE})
            except ProviderError as exc:
                return found, exc
            rows = page.get("List") or []
            for row in rows:
                if row.get("JobID") in wanted:
                    found[str(row["JobID"])] = row
            offset += len(rows)
            if len(rows) < PAGE or offset >= int(page.get("TotalCount") or 0):
                break
        return found, None

    @staticmethod
    def _to_result(task: ExportTask, info: dict[str, Any]) -> PollResult:
        status = STATUS.get(str(info.get("ExportStatus")), RemoteStatus.PENDING)
        progress = info.get("ExportProgress")
        if status is RemoteStatus.READY:
            url = str(info.get("DownloadURL") or "")  # the list has none: read when fetched
            result: dict[str, Any] = {"file_name": _file_name(task, url)}
            if url:
                result.update({"url": url, "url_expires_at": to_iso(utcnow() + URL_LIFETIME)})
            return PollResult(status, progress=100, result=result)
        if status is RemoteStatus.FAILED:
            return PollResult(status, reason=info.get("FailureMsg") or
                              "TCSS reported the export job as failed", retryable=True)
        return PollResult(status, progress=_percent(progress), stage="running")

    def result(self, task: ExportTask, *, refresh: bool = False) -> Source:
        url = task.result.get("url")
        expires = from_iso(task.result.get("url_expires_at"))
        if refresh or not url or expires is None or expires <= utcnow():
            answer = self.api.call("DescribeExportJobDownloadURL",
                                   {"JobID": task.remote["JobId"]})
            url = answer.get("DownloadURL")
            if not url:
                raise ProviderError("tcss", "NoDownloadURL", "no download URL for the job",
                                    retryable=True)
            task.result.update({"url": url, "url_expires_at": to_iso(utcnow() + URL_LIFETIME)})
            task.result["file_name"] = _file_name(task, url)  # the list gave no URL to name it
        return UrlSource(url=url, file_name=task.result.get("file_name"),
                         size=task.result.get("size"))


def _file_name(task: ExportTask, url: str) -> str:
    return PurePosixPath(urlsplit(url).path).name or (
        f"{task.params['Action']}-{task.remote['JobId']}")


def _percent(value: Any) -> int | None:
    """``ExportProgress`` as a whole percent: the SDK model types it Float (0-100)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return int(min(max(value, 0.0), 100.0))
