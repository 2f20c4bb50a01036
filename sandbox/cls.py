"""CLS (service ``cls``, API 2020-10-16): CreateExport, DescribeExports, DeleteExport.

An export's status follows sandbox time: ``Queuing`` for ``queue_s``, ``Processing`` for
``process_s``, then ``Completed`` (``Failed`` on topics passed to ``fail_exports``); a
completed export is ``Expired`` three days after creation. A completed export's ``CosPath``
is a signed URL minted on every DescribeExports and valid for one hour of sandbox time.

The file is a gzip'd tar, as CLS ships it (DescribeExports example, API page 614/42790:
``FileName`` ``log_<appid>_<topic>_<date>_…_<unix>.tar.gz``); ``FileSize`` is the
archive's size. The member inside, ``<ExportId>.<Format>``, is an assumption (no page shows
it). ``packing = None`` (set before the create) gives plain files, for tests of the file
server itself (ranges, huge files) rather than of CLS.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Optional

from sandbox.errors import ApiError
from sandbox.params import Params

if TYPE_CHECKING:
    from sandbox.host import Host

MAX_COUNT = 50_000_000
MAX_QUERY_BYTES = 12 * 1024  # SearchLog QueryString: "最大长度为12KB" (SDK SearchLogRequest)
MAX_SEARCHES = 15  # concurrent SearchLog queries per topic (SDK errorcodes LimitExceeded.LogSearch)
MAX_LIMIT = 100
DEFAULT_LOG_RATE = 100.0  # logs per second a topic holds unless set in ``log_rates``
COUNT_QUERY = re.compile(r"^(?P<search>.*)\|\s*select\s+count\(\s*\*\s*\)\s+as\s+"
                         r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*$", re.IGNORECASE | re.DOTALL)
VALIDITY_S = 3 * 24 * 3600
URL_LIFETIME_S = 3600
CHINA = timezone(timedelta(hours=8))  # CLS reports wall-clock times in Beijing time


def format_time(unix: float) -> str:
    return datetime.fromtimestamp(unix, tz=CHINA).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Export:
    export_id: str
    topic_id: str
    query: str
    from_ms: int
    to_ms: int
    order: str
    format: str
    count: int
    syntax_rule: int
    derived_fields: Optional[list]
    created: float  # sandbox unix seconds
    seq: int
    size: int
    fails: bool
    extra: dict[str, Any] = field(default_factory=dict)
    packing: Optional[str] = "tar.gz"

    @property
    def member_name(self) -> str:
        return f"{self.export_id}.{self.format}"

    @property
    def file_name(self) -> str:
        if self.packing is None:
            return self.member_name
        day = datetime.fromtimestamp(self.created, tz=CHINA).strftime("%Y%m%d")
        return f"log_sandbox_{self.topic_id}_{day}_{self.seq:06d}_{int(self.created)}.tar.gz"


class ClsService:
    service = "cls"
    version = "2020-10-16"

    def __init__(self, sandbox: Host) -> None:
        self.sb = sandbox
        self.exports: dict[str, Export] = {}
        self.failing_topics: set[str] = set()
        self.missing_topics: set[str] = set()
        self.file_sizes: dict[str, int] = {}
        self.fail_next = 0  # the next this many exports fail, whatever their topic
        self.packing: Optional[str] = "tar.gz"  # None: plain files (file-server tests)
        # The DescribeExports example lists ``export-<id>`` for the id CreateExport answered
        # and no CreateTimestamp (SOURCES.md): ``listed_prefix = "export-"`` and
        # ``create_timestamp = False`` answer that way.
        self.listed_prefix = ""
        self.create_timestamp = True
        self._seq = itertools.count()
        self._lock = threading.RLock()
        self.actions: dict[str, Callable[[Params], dict[str, Any]]] = {
            "CreateExport": self.create_export,
            "DescribeExports": self.describe_exports,
            "DeleteExport": self.delete_export,
            "SearchLog": self.search_log,
            "DescribeTopics": self.describe_topics,
        }
        # SearchLog counts: logs per second of sandbox window, per topic (default below),
        # plus bursts of logs at one instant (ms, logs)
        self.log_rates: dict[str, float] = {}
        self.log_spikes: dict[str, list[tuple[int, int]]] = {}
        # SearchLog queries running per topic; while ``search_hold`` is set to an unset
        # Event, each query waits for it (a slow query), holding its place
        self.searching: dict[str, int] = {}
        self.search_hold: Optional[threading.Event] = None

    def logs_in(self, topic_id: str, from_ms: int, to_ms: int) -> int:
        """How many logs the topic holds in ``[from_ms, to_ms)``."""
        rate = self.log_rates.get(topic_id, DEFAULT_LOG_RATE)
        spikes = sum(n for at, n in self.log_spikes.get(topic_id, ()) if from_ms <= at < to_ms)
        return int(rate * (to_ms - from_ms) / 1000) + spikes

    # -- state -------------------------------------------------------------------------------

    def status(self, export: Export, now: float) -> str:
        age = now - export.created
        if age < self.sb.queue_s:
            return "Queuing"
        if age < self.sb.queue_s + self.sb.process_s:
            return "Processing"
        if export.fails:
            return "Failed"
        if age >= VALIDITY_S:
            return "Expired"
        return "Completed"

    def _topic(self, params: Params) -> str:
        topic_id = params.text("TopicId", required=True, allow_empty=False)
        assert topic_id is not None  # noqa: S101 - required above
        if (not self.sb.topic_pattern.fullmatch(topic_id)
                or topic_id in self.missing_topics):
            raise ApiError("ResourceNotFound.TopicNotExist", f"topic {topic_id} does not exist")
        return topic_id

    def info(self, export: Export, now: float) -> dict[str, Any]:
        status = self.status(export, now)
        cos_path = ""
        size = 0
        if status == "Completed":
            entry = self.sb.files.register(
                export.export_id, export.file_name, export.size, export.export_id,
                export.created + self.sb.queue_s + self.sb.process_s,
                packing=export.packing, member=export.member_name)
            size = entry.size
            cos_path = self.sb.files.url(self.sb.url, entry.token, entry.name,
                                         int(now) + URL_LIFETIME_S)
        elif status == "Expired":
            known = self.sb.files.get(export.export_id)
            size = known.size if known is not None else export.size
            self.sb.files.remove(export.export_id)
        info: dict[str, Any] = {
            "TopicId": export.topic_id,
            "ExportId": self.listed_prefix + export.export_id,
            "Query": export.query,
            "FileName": export.file_name,
            "FileSize": size,
            "Order": export.order,
            "Format": export.format,
            "Count": self._count(export) if status == "Completed" else export.count,
            "Status": status,
            "From": export.from_ms,
            "To": export.to_ms,
            "CosPath": cos_path,
            "CreateTime": format_time(export.created),
            "SyntaxRule": export.syntax_rule,
            "DerivedFields": export.derived_fields,
            "CreateTimestamp": int(export.created * 1000),
        }
        if not self.create_timestamp:
            del info["CreateTimestamp"]
        return info

    def _count(self, export: Export) -> int:
        """The logs a finished export holds: fixed when it is first seen finished."""
        if "exported" not in export.extra:
            export.extra["exported"] = min(export.count, self.logs_in(
                export.topic_id, export.from_ms, export.to_ms))
        return int(export.extra["exported"])

    def fail_next_export(self) -> None:
        with self._lock:
            self.fail_next += 1

    # -- actions -----------------------------------------------------------------------------

    def create_export(self, params: Params) -> dict[str, Any]:
        topic_id = self._topic(params)
        count = params.integer("Count", required=True, minimum=1, maximum=MAX_COUNT)
        query = params.text("Query", required=True)
        from_ms = params.integer("From", required=True, minimum=0)
        to_ms = params.integer("To", required=True, minimum=0)
        assert count is not None and query is not None  # noqa: S101
        assert from_ms is not None and to_ms is not None  # noqa: S101
        if from_ms >= to_ms:
            raise ApiError("InvalidParameterValue", "`From` must be earlier than `To`")
        if query.strip().lower().startswith("select") or "|" in query:
            raise ApiError("InvalidParameterValue", "export queries do not support SQL")
        order = params.text("Order", default="desc", choices=("asc", "desc"))
        fmt = params.text("Format", default="json", choices=("json", "csv"))
        syntax_rule = params.integer("SyntaxRule", default=1, choices=(0, 1))
        derived = params.items("DerivedFields")
        with self._lock:
            fails = topic_id in self.failing_topics
            if not fails and self.fail_next > 0:
                self.fail_next -= 1
                fails = True
            export = Export(
                export_id=str(uuid.uuid4()), topic_id=topic_id, query=query, from_ms=from_ms,
                to_ms=to_ms, order=order or "desc", format=fmt or "json", count=count,
                syntax_rule=1 if syntax_rule is None else syntax_rule, derived_fields=derived,
                created=self.sb.clock.now(), seq=next(self._seq),
                size=self.file_sizes.get(topic_id, self.sb.file_size),
                fails=fails, packing=self.packing)
            self.exports[export.export_id] = export
        return {"ExportId": export.export_id}

    def search_log(self, params: Params) -> dict[str, Any]:
        """Only the count query Courier sends: ``<search> | select count(*) as <name>``.

        From the SearchLog page (API 614/56447) and the SDK's ``SearchLogRequest`` /
        ``SearchLogResponse``: ``From`` / ``To`` in ms, ``[From, To)``; ``QueryString`` is a
        search condition, then ``|`` and SQL; with ``UseNewAnalysis: true`` an analysis
        answers ``Analysis: true``, ``AnalysisRecords`` (one JSON object per row, as
        strings) and ``Columns``. The count is :meth:`logs_in` (an emulation: no logs are
        stored). A QueryString over 12 KB is refused, and so is a 16th query running at
        once on one topic (``LimitExceeded.LogSearch``)."""
        topic_id = self._topic(params)
        from_ms = params.integer("From", required=True, minimum=0)
        to_ms = params.integer("To", required=True, minimum=0)
        query = params.text("QueryString", default=None)
        if query is None:
            query = params.text("Query", default="") or ""
        params.integer("QuerySyntax", default=1, choices=(0, 1))
        assert from_ms is not None and to_ms is not None  # noqa: S101
        if from_ms >= to_ms:
            raise ApiError("InvalidParameterValue", "`From` must be earlier than `To`")
        if len(query.encode("utf-8")) > MAX_QUERY_BYTES:
            raise ApiError("InvalidParameterValue", "`QueryString` is longer than 12KB")
        with self._lock:
            if self.searching.get(topic_id, 0) >= MAX_SEARCHES:
                raise ApiError("LimitExceeded.LogSearch", "concurrent queries exceed the "
                               f"limit of {MAX_SEARCHES} per topic")
            self.searching[topic_id] = self.searching.get(topic_id, 0) + 1
        try:
            if self.search_hold is not None:
                self.search_hold.wait(timeout=30)
            return self._count_answer(topic_id, from_ms, to_ms, query)
        finally:
            with self._lock:
                self.searching[topic_id] -= 1

    def _count_answer(self, topic_id: str, from_ms: int, to_ms: int, query: str
                      ) -> dict[str, Any]:
        match = COUNT_QUERY.match(query or "")
        if match is None:
            raise ApiError("InvalidParameterValue", "sandbox: SearchLog answers only "
                           "`<search> | select count(*) as <name>`")
        count = self.logs_in(topic_id, from_ms, to_ms)
        name = match.group("name")
        return {"Context": "", "ListOver": True, "Analysis": True, "Results": [],
                "AnalysisRecords": [json.dumps({name: count})],
                "Columns": [{"Name": name, "Type": "long"}], "SamplingRate": 1.0}

    def describe_exports(self, params: Params) -> dict[str, Any]:
        topic_id = self._topic(params)
        offset = params.integer("Offset", default=0)
        limit = params.integer("Limit", default=20)
        assert offset is not None and limit is not None  # noqa: S101
        if offset < 0:
            raise ApiError("InvalidParameter", "`Offset` must not be negative")
        if limit < 1 or limit > MAX_LIMIT:
            raise ApiError("InvalidParameter", f"`Limit` must be between 1 and {MAX_LIMIT}")
        now = self.sb.clock.now()
        with self._lock:
            mine = [e for e in self.exports.values() if e.topic_id == topic_id]
            mine.sort(key=lambda e: (e.created, e.seq), reverse=True)
            page = mine[offset:offset + limit]
            return {"Exports": [self.info(e, now) for e in page], "TotalCount": len(mine)}

    def describe_topics(self, params: Params) -> dict[str, Any]:
        """The topics exports were made from (the sandbox keeps no other list of topics),
        paged by ``Offset`` / ``Limit``; each as a TopicInfo with its id only."""
        offset = params.integer("Offset", default=0, minimum=0)
        limit = params.integer("Limit", default=20, minimum=1, maximum=MAX_LIMIT)
        assert offset is not None and limit is not None  # noqa: S101
        with self._lock:
            topics = sorted({e.topic_id for e in self.exports.values()})
        return {"Topics": [{"TopicId": t} for t in topics[offset:offset + limit]],
                "TotalCount": len(topics)}

    def delete_export(self, params: Params) -> dict[str, Any]:
        export_id = params.text("ExportId", required=True, allow_empty=False) or ""
        with self._lock:  # either form: the DeleteExport example sends the bare id
            export = self.exports.pop(export_id.removeprefix("export-"), None)
        if export is None:
            raise ApiError("ResourceNotFound.ExportNotExist", f"export {export_id} does not exist")
        self.sb.files.remove(export.export_id)
        return {}
