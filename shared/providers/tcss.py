"""Tencent Cloud TCSS (container security) export jobs (API 2020-11-01).

Any of the SDK's export-job create actions (``CreateExportComplianceStatusListJob`` and the
``Create*ExportJob`` family), chosen by name from an allow-list, with the caller's parameters
checked against that action's request model. ``DescribeExportJobResult`` gives status and
progress (0-100); ``DescribeExportJobDownloadURL`` re-reads a lapsed URL.
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

    def poll(self, tasks: list[ExportTask]) -> dict[str, PollResult | ProviderError]:
        results: dict[str, PollResult | ProviderError] = {}
        for task in tasks:  # the API reads one job a call
            try:
                answer = self.api.call("DescribeExportJobResult",
                                       {"JobId": task.remote["JobId"]})
            except ProviderError as exc:
                results[task.id] = exc
                continue
            status = STATUS.get(str(answer.get("ExportStatus")), RemoteStatus.PENDING)
            progress = answer.get("ExportProgress")
            if status is RemoteStatus.READY:
                url = str(answer.get("DownloadURL") or "")
                name = PurePosixPath(urlsplit(url).path).name or (
                    f"{task.params['Action']}-{task.remote['JobId']}")
                results[task.id] = PollResult(status, progress=100, result={
                    "url": url, "url_expires_at": to_iso(utcnow() + URL_LIFETIME),
                    "file_name": name})
            elif status is RemoteStatus.FAILED:
                results[task.id] = PollResult(status, reason=answer.get("FailureMsg") or
                                              "TCSS reported the export job as failed",
                                              retryable=True)
            else:
                results[task.id] = PollResult(status, progress=_percent(progress),
                                              stage="running")
        return results

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
        return UrlSource(url=url, file_name=task.result.get("file_name"),
                         size=task.result.get("size"))


def _percent(value: Any) -> int | None:
    """``ExportProgress`` as a whole percent: the SDK model types it Float (0-100)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return int(min(max(value, 0.0), 100.0))
