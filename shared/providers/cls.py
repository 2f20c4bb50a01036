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
"""

from __future__ import annotations

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
)
from shared.providers.tencent import TencentApi
from shared.providers.validate import Params
from shared.storage.base import Source, UrlSource

log = logging.getLogger(__name__)

MAX_COUNT = 50_000_000
PAGE = 100  # DescribeExports' largest page
URL_LIFETIME = timedelta(hours=1)
URL_MARGIN = timedelta(minutes=5)  # re-read a URL this long before it lapses

# Answers that leave open whether CreateExport went through.
AMBIGUOUS_CODES = frozenset({"ClientNetworkError", "ServerNetworkError", "JSONDecodeError",
                             "KeyError", "ValueError", "InternalError"})
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
                           _ambiguous)

    def _create(self, task: ExportTask) -> Submission:
        answer = self.api.call("CreateExport", dict(task.params))
        export_id = answer.get("ExportId")
        if not export_id:
            raise ProviderError("cls", "NoExportId", "CreateExport answered without ExportId",
                                retryable=True)
        return Submission(remote={"ExportId": export_id})

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
        the task was accepted (less :data:`ADOPT_MARGIN`) and not failed or expired."""
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
                if same and STATUS.get(str(info.get("Status"))) is not RemoteStatus.FAILED:
                    log.info("export %s: CLS export %s has this task's parameters and was made "
                             "by an earlier, unanswered create; taking it over", task.id,
                             info.get("ExportId"))
                    return Submission(remote={"ExportId": str(info["ExportId"])})
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


def _ambiguous(code: str | None) -> bool:
    return bool(code) and (code in AMBIGUOUS_CODES or str(code).startswith("InternalError."))
