"""Tencent Cloud CLS log export (API 2020-10-16) through tencentcloud-sdk-python-cls.

CreateExport starts an export of one topic; DescribeExports lists a topic's exports (no
filter by id, at most 100 a page), so every pending export of a topic is settled by one
paged listing. A Completed export's ``CosPath`` is a download URL valid for one hour: it is
kept with its expiry and re-read when it has lapsed.

CreateExport takes no idempotency token. When a create gets no clear answer (the connection
broke, an HTTP or internal error: it may have gone through), the topic's exports are searched
for one with exactly this task's parameters, created since the task was accepted and not
failed, before anything is created again: right away, and on the retry. Such an export holds
the same logs, so taking it over never gives the user other data than asked for.

CLS cuts an export off at 50,000,000 logs (``Count``) without saying so. Before a create
whose ``Count`` is that cap, the window's logs are counted with a SearchLog analysis
(``<Query> | select count(*)``); a window holding more is refused with
``WindowOverExportCap``, naming how many exports it needs, instead of being truncated.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from tencentcloud.cls.v20201016 import cls_client, models

from shared.clock import from_iso, to_iso, utcnow
from shared.config import TencentSettings
from shared.errors import ProviderError, ValidationError
from shared.model import ExportTask
from shared.providers.base import (
    PollResult,
    Provider,
    RateLimiter,
    RemoteStatus,
    Submission,
    content_type_of,
    create_once,
    owned_elsewhere,
    tencent_ambiguous,
)
from shared.providers.tencent import TencentApi
from shared.providers.validate import Params
from shared.storage.base import Source, UrlSource

log = logging.getLogger(__name__)

MAX_COUNT = 50_000_000
PAGE = 100  # DescribeExports' largest page
URL_LIFETIME = timedelta(hours=1)
URL_MARGIN = timedelta(minutes=5)  # re-read a URL this long before it lapses

ADOPT_MARGIN = timedelta(minutes=5)  # clock skew allowed between Courier and CLS
# the parameters that decide an export's content, as DescribeExports reports them
SAME_EXPORT = ("Query", "From", "To", "Order", "Format", "Count", "SyntaxRule")

STATUS = {
    "Queuing": RemoteStatus.PENDING,
    "Processing": RemoteStatus.PENDING,
    "Completed": RemoteStatus.READY,
    "Failed": RemoteStatus.FAILED,
    "Expired": RemoteStatus.FAILED,
}


class ClsProvider(Provider):
    name = "cls"
    create_check = ("DescribeExports of the topic: an export with the same parameters, made "
                    "since the export was accepted and owned by no other export")

    def __init__(self, settings: TencentSettings, *, api: TencentApi | None = None,
                 limiter: RateLimiter | None = None) -> None:
        self.api = api or TencentApi.build("cls", "cls", cls_client.ClsClient, models, settings,
                                           limiter)

    # ------------------------------------------------------------------ input
    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        p = Params(params, known={"TopicId", "From", "To", "Query", "Count", "Order", "Format",
                                  "SyntaxRule"})
        out: dict[str, Any] = {
            "TopicId": p.text("TopicId"),
            "From": p.integer("From", minimum=0),
            "To": p.integer("To", minimum=0),
            "Query": p.text("Query", default="*"),
            "Count": p.integer("Count", default=MAX_COUNT, minimum=1, maximum=MAX_COUNT),
            "Order": p.choice("Order", ("asc", "desc"), default="desc"),
            "Format": p.choice("Format", ("json", "csv"), default="json"),
            "SyntaxRule": p.integer("SyntaxRule", default=1, minimum=0, maximum=1),
        }
        if out["From"] >= out["To"]:
            raise ValidationError("params.From", "must be earlier than params.To "
                                  "(both are Unix times in milliseconds)")
        if out["To"] < 10**11:
            raise ValidationError("params.To", "must be a Unix time in milliseconds")
        if "|" in out["Query"]:
            raise ValidationError("params.Query", "log export takes a search query without "
                                  "SQL (nothing after '|')")
        return out

    def group_key(self, task: ExportTask) -> str:
        return f"cls:{task.params['TopicId']}"

    # ------------------------------------------------------------------ calls
    def create(self, task: ExportTask) -> Submission:
        return create_once(task, lambda: self._create(task), lambda: self._made_earlier(task),
                           tencent_ambiguous)

    def owned_id(self, remote: dict[str, Any]) -> str | None:
        return remote.get("ExportId")

    def _create(self, task: ExportTask) -> Submission:
        checked = self._check_count(task)
        answer = self.api.call("CreateExport", dict(task.params))
        export_id = answer.get("ExportId")
        if not export_id:
            raise ProviderError("cls", "NoExportId", "CreateExport answered without ExportId",
                                retryable=True)
        return Submission(remote={"ExportId": export_id, **checked})

    def _check_count(self, task: ExportTask) -> dict[str, Any]:
        """Refuse a window holding more logs than one export carries (CLS cuts it off at
        :data:`MAX_COUNT` without an error): a count query through SearchLog first. Only
        when the caller left ``Count`` at the cap; a smaller ``Count`` asks for the cut. A
        count CLS refuses (e.g. no ``cls:SearchLog`` permission) is recorded, not fatal."""
        params = task.params
        if params["Count"] < MAX_COUNT:
            return {}
        try:
            logs = self.count_logs(params)
        except ProviderError as exc:
            if exc.retryable:
                raise
            log.warning("export %s: CLS count refused (%s); the window is not checked "
                        "against the %d-log cap", task.id, exc.code, MAX_COUNT)
            return {"count_check": f"SearchLog refused ({exc.code}): not checked against "
                                   f"the {MAX_COUNT:,}-log cap"}
        if logs > MAX_COUNT:
            parts = -(-logs // MAX_COUNT)
            raise ProviderError("cls", "WindowOverExportCap", (
                f"the window holds {logs:,} logs; one CLS export carries at most "
                f"{MAX_COUNT:,} and would silently cut the rest off. Split From..To into at "
                f"least {parts} exports"), retryable=False)
        return {"log_count": logs}

    def count_logs(self, params: dict[str, Any]) -> int:
        """How many logs of the topic match ``Query`` in ``[From, To)``."""
        search = str(params.get("Query") or "*").strip() or "*"
        answer = self.api.call("SearchLog", {
            "TopicId": params["TopicId"], "From": params["From"], "To": params["To"],
            "QueryString": f"{search} | select count(*) as log_count",
            "QuerySyntax": params.get("SyntaxRule", 1), "UseNewAnalysis": True,
            "SamplingRate": 1})
        try:
            record = json.loads((answer.get("AnalysisRecords") or ["{}"])[0])
            return int(record["log_count"])
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise ProviderError("cls", "NoCount", "SearchLog answered without a count",
                                retryable=True) from exc

    def poll(self, tasks: list[ExportTask]) -> dict[str, PollResult | ProviderError]:
        """One paged listing of the topic for all of ``tasks``, stopping once every wanted
        export is seen. A page that fails keeps what the pages before it found: only the
        exports not yet seen get the error."""
        wanted = {t.remote["ExportId"]: t for t in tasks if t.remote.get("ExportId")}
        found, broke = self._scan(tasks[0].params["TopicId"], set(wanted))
        results: dict[str, PollResult | ProviderError] = {}
        for export_id, task in wanted.items():
            info = found.get(export_id)
            if info is None and broke is not None:
                results[task.id] = broke
            elif info is None:
                results[task.id] = PollResult(
                    RemoteStatus.FAILED, reason=f"export {export_id} is no longer listed by CLS",
                    retryable=True)
            else:
                results[task.id] = self._to_result(info)
        return results

    def result(self, task: ExportTask, *, refresh: bool = False) -> Source:
        url = task.result.get("url")
        expires = from_iso(task.result.get("url_expires_at"))
        if refresh or not url or expires is None or expires - URL_MARGIN <= utcnow():
            info = self._find(task.params["TopicId"], {task.remote["ExportId"]}).get(
                task.remote["ExportId"])
            if info is None or info.get("Status") != "Completed" or not info.get("CosPath"):
                status = info.get("Status") if info else "missing"
                raise ProviderError("cls", "ExportNotReady",
                                    f"export is {status}; no download URL", retryable=False)
            fresh = self._to_result(info).result
            task.result.update(fresh)
            url = fresh["url"]
        return UrlSource(url=url, file_name=task.result.get("file_name"),
                         size=task.result.get("size"))

    def cancel(self, task: ExportTask) -> None:
        export_id = task.remote.get("ExportId")
        if export_id:
            try:
                self.api.call("DeleteExport", {"ExportId": export_id})
            except ProviderError as exc:
                if not exc.code.startswith("ResourceNotFound"):
                    raise

    # --------------------------------------------------------------- helpers
    def _made_earlier(self, task: ExportTask) -> Submission | None:
        """The newest export of the topic with exactly this task's parameters, created since
        the task was accepted (less :data:`ADOPT_MARGIN`), not failed or expired, and not
        another Courier export's (two exports with the same parameters each get their own)."""
        since_ms = int((task.created_at - ADOPT_MARGIN).timestamp() * 1000)
        wanted = {name: task.params.get(name) for name in SAME_EXPORT}
        offset = 0
        while True:
            page = self.api.call("DescribeExports", {"TopicId": task.params["TopicId"],
                                                     "Offset": offset, "Limit": PAGE})
            exports = page.get("Exports") or []
            for info in exports:  # newest first
                if int(info.get("CreateTimestamp") or 0) < since_ms:
                    return None
                same = all(info.get(name) == value for name, value in wanted.items())
                if (same and STATUS.get(str(info.get("Status"))) is not RemoteStatus.FAILED
                        and not owned_elsewhere(info.get("ExportId"))):
                    log.info("export %s: CLS export %s has this task's parameters and was made "
                             "by an earlier, unanswered create; taking it over", task.id,
                             info.get("ExportId"))
                    return Submission(remote={"ExportId": str(info["ExportId"]),
                                              "adopted": True})
            offset += len(exports)
            if not exports or offset >= int(page.get("TotalCount") or 0):
                return None

    def _find(self, topic_id: str, export_ids: set[str]) -> dict[str, dict[str, Any]]:
        found, broke = self._scan(topic_id, export_ids)
        if broke is not None:
            raise broke
        return found

    def _scan(self, topic_id: str, export_ids: set[str]
              ) -> tuple[dict[str, dict[str, Any]], ProviderError | None]:
        """Page through the topic's exports (newest first) until every wanted id is seen:
        what was found, and the error that broke the paging off, if one did."""
        found: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            try:
                page = self.api.call("DescribeExports",
                                     {"TopicId": topic_id, "Offset": offset, "Limit": PAGE})
            except ProviderError as exc:
                return found, exc
            exports = page.get("Exports") or []
            for info in exports:
                if info.get("ExportId") in export_ids:
                    found[info["ExportId"]] = info
            offset += len(exports)
            if len(found) == len(export_ids) or not exports or offset >= int(
                    page.get("TotalCount") or 0):
                return found, None

    @staticmethod
    def _to_result(info: dict[str, Any]) -> PollResult:
        status = STATUS.get(str(info.get("Status")))
        if status is None:
            return PollResult(RemoteStatus.PENDING, reason=f"unknown status {info.get('Status')}")
        if status is RemoteStatus.READY:
            now = utcnow()
            return PollResult(status, progress=100, result={
                "url": info.get("CosPath"),
                "url_expires_at": to_iso(now + URL_LIFETIME),
                "file_name": info.get("FileName"),
                "content_type": content_type_of(info.get("FileName")),
                "size": info.get("FileSize"),
                "format": info.get("Format"),
                "count": info.get("Count"),
            })
        if status is RemoteStatus.FAILED:
            expired = info.get("Status") == "Expired"
            return PollResult(status, retryable=True, reason=(
                "the export expired at CLS (files are kept 3 days)" if expired
                else "CLS reported the export as Failed"))
        return PollResult(status, stage=str(info.get("Status")).lower())

