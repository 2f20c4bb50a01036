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
(``<Query> | select count(*)``); a window holding more is split into parts within the cap
(:mod:`shared.providers.cls_split`), one CLS export and one create step each
(``Submission.more``: each with the in-doubt look and ownership claim of a whole create).
The export is ready when every part is; its result is their files (a :class:`SourceSet`).
A finished export or part whose ``Count`` is the cap is counted again: over it, it was cut
off, and its window is split and created again (``PollResult.resubmit``).
"""

from __future__ import annotations

import copy
import json
import logging
from datetime import timedelta
from typing import Any

from tencentcloud.cls.v20201016 import cls_client, models

from shared.clock import from_iso, to_iso, utcnow
from shared.errors import ProviderError, ValidationError
from shared.keys import DataWindow
from shared.model import ExportTask, Source, SourceSet, UrlSource
from shared.providers import cls_match, cls_split
from shared.providers import schema as ps
from shared.providers.base import (
    PollResult,
    RemoteStatus,
    Submission,
    already_gone,
    content_type_of,
    create_once,
    ms_time,
    unexpected,
    window_of,
)
from shared.providers.cls_split import MAX_COUNT, next_part
from shared.providers.tencent import TencentProvider
from shared.providers.validate import Params

log = logging.getLogger(__name__)

PAGE = 100  # DescribeExports' largest page
URL_LIFETIME = timedelta(hours=1)
URL_MARGIN = timedelta(minutes=5)  # re-read a URL this long before it lapses

# SearchLog's QueryString is at most 12 KB (SDK SearchLogRequest: "最大长度为12KB")
MAX_QUERY_BYTES = 12 * 1024

STATUS = {
    "Queuing": RemoteStatus.PENDING,
    "Processing": RemoteStatus.PENDING,
    "Completed": RemoteStatus.READY,
    "Failed": RemoteStatus.FAILED,
    "Expired": RemoteStatus.FAILED,
}


# The parameters an export of this provider takes (validate() reads their names; the
# OpenAPI document, the CLI, the status page and docs/api.md are made from it).
PARAMS_SCHEMA = ps.obj({
    "TopicId": ps.text(),
    "From": ps.integer(0, description="Unix time in milliseconds; earlier than To"),
    "To": ps.integer(10**11, description="Unix time in milliseconds"),
    "Query": ps.text(pattern="[^|]*[^|\\s][^|]*", default="*",
                  description="A search query without SQL (nothing after '|')"),
    "Count": ps.integer(1, MAX_COUNT, default=MAX_COUNT),
    "Order": ps.choice(("asc", "desc"), "desc"),
    "Format": ps.choice(("json", "csv"), "json"),
    "SyntaxRule": ps.integer(0, 1, default=1),
}, ["TopicId", "From", "To"], "CLS log export (CreateExport). From must be earlier than To.")


class ClsProvider(TencentProvider):
    name = "cls"
    service = "cls"
    params_schema = PARAMS_SCHEMA
    sdk = (cls_client.ClsClient, models)
    access_check = ("DescribeTopics", {"Limit": 1})
    create_check = ("DescribeExports of the topic: an export with the same parameters, made "
                    "since the export was accepted and owned by no other export")

    # ------------------------------------------------------------------ input
    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        p = Params(params, known=ps.fields(PARAMS_SCHEMA))
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
        if len(count_query(out["Query"]).encode("utf-8")) > MAX_QUERY_BYTES:
            raise ValidationError("params.Query", "is too long: CLS takes a search statement "
                                  f"of at most {MAX_QUERY_BYTES} bytes (12 KB), including the "
                                  "log count Courier appends to it")
        return out

    def group_key(self, task: ExportTask) -> str:
        return self.shard(f"cls:{task.params['TopicId']}")

    # ------------------------------------------------------------------ calls
    def create(self, task: ExportTask) -> Submission:
        parts = task.remote.get("parts")
        if parts:
            return self._create_part(task, parts)
        return create_once(task, lambda: self._create(task),
                           lambda: self._made_earlier(task, task.params), self.ambiguous)

    def owned_id(self, remote: dict[str, Any]) -> str | None:
        return remote.get("ExportId")

    def _create(self, task: ExportTask) -> Submission:
        checked = self._check_count(task)
        if "parts" in checked:  # over the cap: the parts are created one step each
            return Submission(remote=checked, more=True,
                              stage=f"creating parts: 0 of {len(checked['parts'])}")
        return self._create_export(task.params, checked)

    def _create_export(self, params: dict[str, Any], checked: dict[str, Any]) -> Submission:
        answer = self.api.call("CreateExport", dict(params))
        export_id = answer.get("ExportId")
        if not export_id:
            raise ProviderError("cls", "NoExportId", "CreateExport answered without ExportId",
                                retryable=True)
        return Submission(remote={"ExportId": export_id, **checked})

    def _create_part(self, task: ExportTask, parts: list[dict[str, Any]]) -> Submission:
        """Create the first part not yet made: looked for first when the step before was
        left in doubt (its window is the part's own, so no other part matches)."""
        index = next_part(parts)
        if index is None:  # every part made (a step whose answer was kept but not its end)
            return Submission(remote={"parts": parts}, stage=f"{len(parts)} parts")
        part = parts[index]
        params = {**task.params, "From": part["From"], "To": part["To"]}
        made = create_once(task, lambda: self._create_export(params, {}),
                           lambda: self._made_earlier(task, params), self.ambiguous)
        export_id = str(made.remote["ExportId"])
        parts = copy.deepcopy(parts)
        parts[index].update(ExportId=export_id, status="Queuing")
        if made.remote.get("adopted"):
            parts[index]["adopted"] = True
        log.info("export %s: part %d of %d (%d..%d) is CLS export %s", task.id, index + 1,
                 len(parts), part["From"], part["To"], export_id)
        left = next_part(parts) is not None
        stage = (f"creating parts: {index + 1} of {len(parts)}" if left
                 else f"{len(parts)} parts")
        return Submission(remote={"parts": parts}, more=left, claims=(export_id,), stage=stage)

    def _check_count(self, task: ExportTask) -> dict[str, Any]:
        """Count the window (CLS cuts an export off at :data:`MAX_COUNT` without an error)
        through SearchLog first, and plan its parts when it holds more. Only when the caller
        left ``Count`` at the cap; a smaller ``Count`` asks for the cut. A count CLS refuses
        (e.g. no ``cls:SearchLog`` permission) is recorded, not fatal."""
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
            parts = cls_split.plan(self._counter(params), params["From"], params["To"], logs,
                                   max_parts=self.settings.cls_max_parts)
            log.info("export %s: %d logs, over the %d cap: split into %d parts", task.id,
                     logs, MAX_COUNT, len(parts))
            return {"log_count": logs, "parts": parts}
        return {"log_count": logs}

    def _counter(self, params: dict[str, Any]) -> cls_split.Count:
        return lambda a, b: self.count_logs({**params, "From": a, "To": b})

    def count_logs(self, params: dict[str, Any]) -> int:
        """How many logs of the topic match ``Query`` in ``[From, To)``."""
        answer = self.api.call("SearchLog", {
            "TopicId": params["TopicId"], "From": params["From"], "To": params["To"],
            "QueryString": count_query(params.get("Query")),
            "QuerySyntax": params.get("SyntaxRule", 1), "UseNewAnalysis": True,
            "SamplingRate": 1})
        try:
            record = json.loads((answer.get("AnalysisRecords") or ["{}"])[0])
            return int(record["log_count"])
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise ProviderError("cls", "NoCount", "SearchLog answered without a count",
                                retryable=True) from exc

    def poll(self, tasks: list[ExportTask]) -> dict[str, PollResult | ProviderError]:
        """One paged listing of the topic for all of ``tasks`` (and all their parts),
        stopping once every wanted export is seen. A page that fails keeps what the pages
        before it found: only the exports not yet seen get the error."""
        wanted = {i: t for t in tasks for i in cls_split.export_ids(t)}
        found, broke = self._scan(tasks[0].params["TopicId"], set(wanted))
        results: dict[str, PollResult | ProviderError] = {}
        for task in {t.id: t for t in wanted.values()}.values():
            try:
                if task.remote.get("parts"):
                    results[task.id] = cls_split.settle(task, found, broke, self._to_result,
                                                          self._cut_off)
                    continue
                export_id = task.remote["ExportId"]
                info = found.get(export_id)
                if info is None and broke is not None:
                    results[task.id] = broke
                elif info is None:
                    results[task.id] = PollResult(
                        RemoteStatus.FAILED, retryable=True,
                        reason=f"export {export_id} is no longer listed by CLS")
                else:
                    results[task.id] = self._cut_off(task, None, info) or self._to_result(info)
            except ProviderError as exc:  # a recount at the cap could not be made
                results[task.id] = exc
        return results

    def _cut_off(self, task: ExportTask, index: int | None, info: dict[str, Any]
                 ) -> PollResult | ProviderError | None:
        """A finished export (or part ``index``) whose ``Count`` is the cap may have been
        cut off: count its window again. Over the cap, its window is split and created
        again (the export goes back to ``accepted``); None when it holds all its logs."""
        if (int(task.params.get("Count") or MAX_COUNT) < MAX_COUNT
                or int(info.get("Count") or 0) < MAX_COUNT):
            return None
        parts = task.remote.get("parts") or []
        window = parts[index] if index is not None else task.params
        params = {**task.params, "From": window["From"], "To": window["To"]}
        what = f"CLS export {info.get('ExportId')} ({params['From']}..{params['To']})"
        try:
            logs = self.count_logs(params)
        except ProviderError as exc:
            if exc.retryable:
                raise
            return ProviderError("cls", "ExportReachedCap", (
                f"{what} stopped at the {MAX_COUNT:,}-log cap and its window could not be "
                f"counted ({exc.code}): it may be cut off. Ask for narrower windows"),
                retryable=False)
        if logs <= MAX_COUNT:
            return None
        log.warning("export %s: %s was cut off at the cap (%d logs in its window); "
                    "splitting it", task.id, what, logs)
        try:
            if index is None:
                new = cls_split.plan(self._counter(params), params["From"], params["To"],
                                     logs, max_parts=self.settings.cls_max_parts)
            else:
                new = cls_split.resplit(parts, index, self._counter(params), logs,
                                        max_parts=self.settings.cls_max_parts)
        except ProviderError as exc:
            return ProviderError("cls", exc.code, f"{what} was cut off at the cap; {exc.detail}",
                                 retryable=False)
        held = parts[index]["ExportId"] if index is not None else task.remote.get("ExportId")
        cut = [*task.remote.get("cut_off", []), str(held or info.get("ExportId"))]
        return PollResult(RemoteStatus.PENDING, resubmit=True, stage="re-split at the cap",
                          remote={"ExportId": None, "parts": new, "cut_off": cut,
                                  "log_count": sum(int(p["log_count"]) for p in new)})

    def data_window(self, task: ExportTask) -> DataWindow:
        """CLS exports ``From``..``To`` (ms) of ``TopicId``."""
        return window_of(task, ms_time(task.params["From"]), ms_time(task.params["To"]),
                         source=task.params["TopicId"], account=self.settings.appid,
                         region=self.settings.region)

    def result(self, task: ExportTask, *, refresh: bool = False) -> Source | SourceSet:
        if parts := task.remote.get("parts"):  # the listing has the URLs (not kept: 1 hour)
            return cls_split.part_files(parts, self._find(
                task.params["TopicId"], {p["ExportId"] for p in parts}))
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
        """Delete the export at CLS, or every part of it made so far."""
        self._delete(cls_split.export_ids(task))

    def abandon(self, task: ExportTask) -> None:
        """Delete the parts still queued or running of an export that failed."""
        self._delete([str(p["ExportId"]) for p in task.remote.get("parts") or []
                      if p.get("ExportId") and p.get("status") in (None, "Queuing",
                                                                    "Processing")])

    def _delete(self, ids: list[str]) -> None:
        for export_id in ids:
            with already_gone("ResourceNotFound"):
                self.api.call("DeleteExport", {"ExportId": export_id})

    # --------------------------------------------------------------- helpers
    def _made_earlier(self, task: ExportTask, params: dict[str, Any]) -> Submission | None:
        return cls_match.made_earlier(self.api, task, params, PAGE, STATUS)

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
            found.update(cls_match.keyed(exports, export_ids))
            offset += len(exports)
            if len(found) == len(export_ids) or not exports or offset >= int(
                    page.get("TotalCount") or 0):
                return found, None

    @staticmethod
    def _to_result(info: dict[str, Any]) -> PollResult:
        status = STATUS.get(str(info.get("Status")))
        if status is None:  # not in the model: never taken for success, said in the stage
            log.warning("cls: export %s answered an unknown Status %r; left as it was",
                        info.get("ExportId"), info.get("Status"))
            return PollResult(RemoteStatus.PENDING, stage=unexpected("status", info.get("Status")),
                              reason=f"unknown status {info.get('Status')}")
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


def count_query(query: Any) -> str:
    """SearchLog's QueryString counting the logs an export's ``Query`` matches."""
    search = str(query or "*").strip() or "*"
    return f"{search} | select count(*) as log_count"
