"""Tencent Cloud TCSS (container security) export jobs (API 2020-11-01).

Any of the SDK's export-job create actions (``CreateExportComplianceStatusListJob`` and the
``Create*ExportJob`` family), chosen by name from an allow-list, with the caller's parameters
checked against that action's request model.

Polling reads ``DescribeExportJobManageList`` (the account's export jobs, newest first, at
most 100 a page: ``JobID``, ``ExportStatus``, ``ExportProgress``, ``FailureMsg``; no URL)
once for all pending jobs, stopping once every wanted job is seen; a job it does not list is
asked for by ``DescribeExportJobResult``. A finished job's URL is read when the file is
fetched (``DescribeExportJobDownloadURL``), so it is fresh when used.

The create actions take no idempotency token, and the listing shows no job's parameters,
no documented order, and job names of its own (``LocalImage-253332865-…``), never the
action. Creates are therefore serialised per account (``serial_key``), and the listing (up
to :data:`LOOK_PAGES` pages) and the time are stored with the export before the call
(``prepare``). After an answer that leaves open whether the job was made, or a kill before
its id was stored, the job is the one listed now and not before, inserted since the call
(``InsertTime``, zone unknown: :data:`INSERT_MARGIN`), owned by no other export. Exactly one
such job is adopted; none means the call made nothing; more than one (someone else made a
job meanwhile) is refused with ``TcssJobAmbiguous`` rather than risk delivering another
job's file.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from tencentcloud.tcss.v20201101 import models, tcss_client

from shared.clock import from_iso, to_iso, utcnow
from shared.errors import ProviderError, ValidationError
from shared.keys import DataWindow
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
    unexpected,
    window_of,
)
from shared.providers.tencent import TencentProvider
from shared.providers.validate import Params

log = logging.getLogger(__name__)

# Every export-job create action the SDK offers (read from tcss_client at import).
ACTIONS = frozenset(
    name for name in dir(tcss_client.TcssClient)
    if name == "CreateExportComplianceStatusListJob"
    or (name.startswith("Create") and name.endswith("ExportJob"))
)
URL_LIFETIME = timedelta(minutes=10)  # not documented; assume short and re-read when refused
PAGE = 100  # DescribeExportJobManageList's largest page
LOOK_PAGES = 5  # how much of the listing a create left in doubt compares (no known order)
INSERT_MARGIN = timedelta(hours=9)  # InsertTime's zone (Beijing?) is not documented
INSERT_FORMAT = "%Y-%m-%d %H:%M:%S"
BEIJING = timezone(timedelta(hours=8))

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
    access_check = ("DescribeExportJobManageList", {"Limit": 1})
    create_check = ("DescribeExportJobManageList: the one job listed now and not before the "
                    "call, inserted since it, owned by no other export (several: refused)")

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
        # one account-wide listing tells the new job apart: one lock per real account
        return self.owner_shard("tcss-create")

    def prepare(self, task: ExportTask) -> dict[str, Any]:
        """The jobs listed before the call, and when it was made (kept from the attempt
        before when in doubt)."""
        if "jobs_before" in task.remote and in_doubt(task, self.ambiguous):
            return {}
        asked_at = to_iso(utcnow())
        return {"jobs_before": sorted(self._listed()), "asked_at": asked_at}

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
        """The one job listed now, not before the call, inserted since it and owned by no
        other export; None when there is none; refused when there are several."""
        before = set(task.remote.get("jobs_before") or [])
        asked = from_iso(task.remote.get("asked_at"))
        fresh = [row for job_id, row in self._listed().items()
                 if job_id not in before and not owned_elsewhere(job_id)
                 and (asked is None or _inserted_since(row, asked))]
        if not fresh:
            return None
        if len(fresh) > 1:
            ids = ", ".join(sorted(str(row["JobID"]) for row in fresh)[:5])
            raise ProviderError("tcss", "TcssJobAmbiguous", (
                f"{task.params['Action']} may have made a job before its answer was lost, "
                f"but {len(fresh)} new jobs are listed ({ids}) and TCSS shows no job's "
                "parameters: none is taken, so that no other job's file is delivered, and "
                "none is made again. Check the jobs in the TCSS console"), retryable=False)
        log.info("export %s: TCSS job %s was made by an earlier, unanswered create; taking "
                 "it over", task.id, fresh[0]["JobID"])
        return Submission(remote={"JobId": str(fresh[0]["JobID"]), "adopted": True})

    def _listed(self) -> dict[str, dict[str, Any]]:
        """Every job of the first :data:`LOOK_PAGES` pages of the listing, by id."""
        rows: dict[str, dict[str, Any]] = {}
        for page_no in range(LOOK_PAGES):
            page = self.api.call("DescribeExportJobManageList",
                                 {"Offset": page_no * PAGE, "Limit": PAGE})
            items = page.get("List") or []
            rows.update((str(row["JobID"]), row) for row in items if row.get("JobID"))
            if len(items) < PAGE or (page_no + 1) * PAGE >= int(page.get("TotalCount") or 0):
                break
        return rows

    def group_key(self, task: ExportTask) -> str:
        return self.shard("tcss:jobs")  # one listing holds every export job of the account

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
        status = STATUS.get(str(info.get("ExportStatus")))
        progress = info.get("ExportProgress")
        if status is None:  # not in the model: never taken for success, said in the stage
            log.warning("tcss: job %s answered an unknown ExportStatus %r; left as it was",
                        task.remote.get("JobId"), info.get("ExportStatus"),
                        extra={"export_id": task.id})
            return PollResult(RemoteStatus.PENDING, stage=unexpected(
                "status", info.get("ExportStatus")), reason=(
                f"TCSS answered an unknown ExportStatus {info.get('ExportStatus')!r}"))
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

    def data_window(self, task: ExportTask) -> DataWindow:
        """An export job has no window of its own: the schedule's, else the acceptance
        time; its source is the create action."""
        return window_of(task, source=task.params["Action"], account=self.settings.appid,
                         region=self.settings.region)

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


def _inserted_since(row: dict[str, Any], asked: datetime) -> bool:
    """Whether a listed job may have been inserted at or after ``asked`` (an unreadable
    ``InsertTime`` cannot rule it out)."""
    try:
        inserted = datetime.strptime(str(row.get("InsertTime") or ""), INSERT_FORMAT)
    except ValueError:
        return True
    return inserted.replace(tzinfo=BEIJING) >= asked - INSERT_MARGIN


def _percent(value: Any) -> int | None:
    """``ExportProgress`` as a whole percent: the SDK model types it Float (0-100)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return int(min(max(value, 0.0), 100.0))
