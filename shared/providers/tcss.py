"""Tencent Cloud TCSS (container security) export jobs (API 2020-11-01).

Any of the SDK's export-job create actions (``CreateExportComplianceStatusListJob`` and the
``Create*ExportJob`` family), chosen by name from an allow-list, with the caller's parameters
checked against that action's request model.

Polling reads ``DescribeExportJobManageList`` (the account's export jobs, newest first, at
most 100 a page: ``JobID``, ``ExportStatus``, ``ExportProgress``, ``FailureMsg``; no URL)
once for all pending jobs, stopping once every wanted job is seen; a job it does not list is
asked for by ``DescribeExportJobResult``. A finished job's URL is read when the file is
fetched (``DescribeExportJobDownloadURL``), so it is fresh when used.

The create actions take no idempotency token, and the listing shows no job's parameters.
Creates are therefore serialised per account (``serial_key``) and the first page of the
listing is stored with the export before the call (``prepare``). After an answer that leaves
open whether the job was made, or a kill before its id was stored, the job is the one listed
now and not before, owned by no other export (one named like the action first, the oldest
first). A job made meanwhile by someone outside Courier can be mistaken for it: the listing
cannot tell them apart.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from tencentcloud.tcss.v20201101 import models, tcss_client

from shared.clock import from_iso, to_iso, utcnow
from shared.errors import ProviderError, ValidationError
from shared.model import ExportTask, Source, UrlSource
from shared.providers import schema as ps
from shared.providers.base import (
    PollResult,
    RemoteStatus,
    Submission,
    create_once,
    in_doubt,
    owned_elsewhere,
    poll_each,
)
from shared.providers.tencent import TencentProvider
from shared.providers.validate import Params

# Every export-job create action the SDK offers (read from tcss_client at import).
ACTIONS = frozenset(
    name for name in dir(tcss_client.TcssClient)
    if name == "CreateExportComplianceStatusListJob"
    or (name.startswith("Create") and name.endswith("ExportJob"))
)
URL_LIFETIME = timedelta(minutes=10)  # not documented; assume short and re-read when refused
PAGE = 100  # DescribeExportJobManageList's largest page
LOOK_PAGES = 5  # how far back a create left in doubt looks for the job it made

STATUS = {"SUCCESS": RemoteStatus.READY, "FAILURE": RemoteStatus.FAILED,
          "RUNNING": RemoteStatus.PENDING}


def request_fields(action: str) -> set[str]:
    request = getattr(models, f"{action}Request")()
    return {k.lstrip("_") for k in vars(request) if k.startswith("_")}


# The parameters an export of this provider takes (validate() reads their names; the
# OpenAPI document, the CLI, the status page and docs/api.md are made from it).
PARAMS_SCHEMA = ps.obj({
    "Action": ps.choice(sorted(ACTIONS)),
    "Params": {"type": "object", "default": {},
               "description": "The action's request fields (as the SDK names them)"},
}, ["Action"], "TCSS export job: any Create*ExportJob action.")


class TcssProvider(TencentProvider):
    name = "tcss"
    service = "tcss"
    params_schema = PARAMS_SCHEMA
    sdk = (tcss_client.TcssClient, models)
    create_check = ("DescribeExportJobManageList: a job listed now and not just before the "
                    "call, owned by no other export (the listing shows no parameters)")

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        p = Params(params, known=ps.fields(PARAMS_SCHEMA))
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

    def serial_key(self, task: ExportTask) -> str | None:
        return "tcss-create"  # one account-wide listing tells the new job apart

    def prepare(self, task: ExportTask) -> dict[str, Any]:
        """The jobs listed before the call (kept from the attempt before when in doubt)."""
        if "jobs_before" in task.remote and in_doubt(task, self.ambiguous):
            return {}
        page = self.api.call("DescribeExportJobManageList", {"Offset": 0, "Limit": PAGE})
        return {"jobs_before": [str(row["JobID"]) for row in page.get("List") or []
                                if row.get("JobID")]}

    def create(self, task: ExportTask) -> Submission:
        def call() -> Submission:
            if "jobs_before" not in task.remote:  # called without prepare: look now
                task.remote.update(self.prepare(task))
            answer = self.api.call(task.params["Action"], dict(task.params["Params"]))
            job_id = answer.get("JobId")
            if not job_id:
                raise ProviderError("tcss", "NoJobId", f"{task.params['Action']} answered "
                                    "without JobId", retryable=True)
            return Submission(remote={"JobId": job_id})

        return create_once(task, call, lambda: self._made_earlier(task), self.ambiguous)

    def owned_id(self, remote: dict[str, Any]) -> str | None:
        return remote.get("JobId")

    def _made_earlier(self, task: ExportTask) -> Submission | None:
        """The job listed now that was not listed before the call and no other export owns:
        one named like the action first, then the oldest (the closest to the call)."""
        before = set(task.remote.get("jobs_before") or [])
        fresh: list[dict[str, Any]] = []
        for page_no in range(LOOK_PAGES):
            page = self.api.call("DescribeExportJobManageList",
                                 {"Offset": page_no * PAGE, "Limit": PAGE})
            rows = page.get("List") or []
            fresh += [row for row in rows if row.get("JobID")
                      and str(row["JobID"]) not in before and not owned_elsewhere(row["JobID"])]
            if len(rows) < PAGE or any(str(row.get("JobID")) in before for row in rows):
                break  # newest first: past this page every job was there before
        if not fresh:
            return None
        named = [row for row in fresh if row.get("JobName") == task.params["Action"]]
        job = (named or fresh)[-1]
        return Submission(remote={"JobId": str(job["JobID"]), "adopted": True})

    def group_key(self, task: ExportTask) -> str:
        return "tcss:jobs"  # one listing holds every export job of the account

    def poll(self, tasks: list[ExportTask]) -> dict[str, PollResult | ProviderError]:
        wanted = {t.remote["JobId"] for t in tasks if t.remote.get("JobId")}
        listed, broke = self._scan(wanted)

        def look(task: ExportTask) -> PollResult:
            job_id = task.remote.get("JobId")
            info = listed.get(job_id) if job_id else None
            if info is None and broke is not None:
                raise broke
            if info is None:  # not listed: ask for the one job
                info = self.api.call("DescribeExportJobResult", {"JobId": job_id})
            return self._to_result(task, info)

        return poll_each(tasks, look)

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
