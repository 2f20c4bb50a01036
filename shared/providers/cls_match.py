"""CLS: which listed export is which, and the export a create left in doubt made.

The two documented examples name one export two ways: CreateExport answers
``57196a6a-…``, DescribeExports lists ``export-57196a6a-…``. An id is therefore compared
without that prefix (:func:`same_export`), and the listing's rows are keyed by the form
Courier holds. The same DescribeExports example has no ``CreateTimestamp``, only
``CreateTime`` (``yyyy-mm-dd HH:MM:SS``, read as Beijing time, as CLS shows times: an
assumption a margin makes harmless); a row with neither time is judged by its parameters
alone. No document gives the listing's order, so a search reads every page it may.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.model import ExportTask
from shared.providers.base import RemoteStatus, Submission, owned_elsewhere

log = logging.getLogger(__name__)

PREFIX = "export-"  # the form DescribeExports lists an export id in (its example)
ADOPT_MARGIN = timedelta(minutes=5)  # clock skew allowed between Courier and CLS
CREATE_TIME_MARGIN = timedelta(hours=9)  # CreateTime's zone (Beijing) is not documented
SEARCH_PAGES = 20  # an in-doubt search reads at most this many pages (2,000 exports)
# the parameters that decide an export's content, as DescribeExports reports them
SAME_EXPORT = ("Query", "From", "To", "Order", "Format", "Count", "SyntaxRule")
BEIJING = timezone(timedelta(hours=8))
FAILED = frozenset({"Failed", "Expired"})


def canon(export_id: Any) -> str:
    """An export id without the listing's ``export-`` prefix."""
    text = str(export_id or "")
    return text[len(PREFIX):] if text.startswith(PREFIX) else text


def same_export(a: Any, b: Any) -> bool:
    return bool(a) and bool(b) and canon(a) == canon(b)


def keyed(rows: list[dict[str, Any]], wanted: set[str]) -> dict[str, dict[str, Any]]:
    """The ``rows`` whose export is one of ``wanted``, keyed by the ``wanted`` form."""
    by_canon = {canon(w): w for w in wanted}
    return {by_canon[canon(info.get("ExportId"))]: info for info in rows
            if info.get("ExportId") and canon(info.get("ExportId")) in by_canon}


def created_ms(info: dict[str, Any]) -> tuple[int | None, timedelta]:
    """When a listed export was made (Unix ms), and how far off that may be: its
    ``CreateTimestamp``, else its ``CreateTime`` (zone unknown), else (None, 0)."""
    stamp = info.get("CreateTimestamp")
    if isinstance(stamp, int) and not isinstance(stamp, bool) and stamp > 0:
        return stamp, timedelta(0)
    try:
        moment = datetime.strptime(str(info.get("CreateTime") or ""), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None, timedelta(0)
    return int(moment.replace(tzinfo=BEIJING).timestamp() * 1000), CREATE_TIME_MARGIN


def made_earlier(api: Any, task: ExportTask, params: dict[str, Any], page_size: int,
                 statuses: dict[str, RemoteStatus]) -> Submission | None:
    """The newest export of the topic with exactly these parameters (the task's, or one
    part's), not made before the task was accepted (less :data:`ADOPT_MARGIN`, and the
    zone margin of a ``CreateTime``), not failed or expired, and not another Courier
    export's (two exports with the same parameters each get their own). A finished
    export reports as ``Count`` at most the ``Count`` asked for."""
    since_ms = int((task.created_at - ADOPT_MARGIN).timestamp() * 1000)
    wanted = {name: params.get(name) for name in SAME_EXPORT}
    found: list[tuple[int, str]] = []
    offset = 0
    for _ in range(SEARCH_PAGES):
        page = api.call("DescribeExports", {"TopicId": task.params["TopicId"],
                                            "Offset": offset, "Limit": page_size})
        exports = page.get("Exports") or []
        for info in exports:
            made, slack = created_ms(info)
            if made is not None and made + slack.total_seconds() * 1000 < since_ms:
                continue
            status = str(info.get("Status"))
            if (not _same(info, wanted) or status in FAILED
                    or statuses.get(status) is RemoteStatus.FAILED or not info.get("ExportId")
                    or owned_elsewhere(info["ExportId"])
                    or owned_elsewhere(canon(info["ExportId"]))
                    or owned_elsewhere(PREFIX + canon(info["ExportId"]))):
                continue
            found.append((made or 0, str(info["ExportId"])))
        offset += len(exports)
        if not exports or offset >= int(page.get("TotalCount") or 0):
            break
    if not found:
        return None
    export_id = max(found)[1]
    log.info("export %s: CLS export %s has this task's parameters and was made by an "
             "earlier, unanswered create; taking it over", task.id, export_id)
    return Submission(remote={"ExportId": export_id, "adopted": True})


def _same(info: dict[str, Any], wanted: dict[str, Any]) -> bool:
    return all(info.get(name) == value for name, value in wanted.items()
               if name != "Count") and _same_count(info, wanted["Count"])


def _same_count(info: dict[str, Any], wanted: Any) -> bool:
    count = info.get("Count")
    if info.get("Status") == "Completed":  # the logs it holds, at most the Count asked for
        return isinstance(count, int) and isinstance(wanted, int) and count <= wanted
    return bool(count == wanted)
