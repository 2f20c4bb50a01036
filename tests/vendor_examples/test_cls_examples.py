"""CLS: the published CreateExport, DescribeExports, DeleteExport and SearchLog answers,
through tencentcloud-sdk-python-cls, to :class:`ClsProvider`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from shared.errors import ProviderError
from shared.model import ExportTask
from shared.pacing import RateLimiter
from shared.providers.base import CREATE_DOUBT, RemoteStatus
from shared.providers.cls import ClsProvider
from shared.vendor_settings import TencentSettings
from tests.vendor_examples.support import record

TOPIC = "ee20bb16-3025-4048-b81a-dd436373062e"  # the examples' topic
CREATED = "57196a6a-7622-47be-bc92-d2ebea959a0f"  # what the CreateExport example answers
LISTED = "export-57196a6a-7622-47be-bc92-d2ebea959a0f"  # how DescribeExports lists it

EXAMPLES: dict[str, dict[str, Any]] = {
    "tencent-CreateExport-1.json": {"ExportId": CREATED},
    "tencent-DescribeExports-1.json": {
        "status": RemoteStatus.READY,
        "url": "https://clstest01-xxxxxx.cos.ap-shanghai.myqcloud.com/xxxxxx",
        "file_name": "log_2075178708_ee20bb16-3025-4048-b81a-dd436373062f_20210107_xxxxxx_"
                     "1610001073.tar.gz",
        "content_type": "application/gzip", "size": 6112993, "adopted": LISTED},
    "tencent-DeleteExport-1.json": {"cancelled": True},
    # not a count: the analysis is off and no AnalysisRecords come back
    "tencent-SearchLog-1.json": {"code": "NoCount", "retryable": True},
}


@pytest.fixture
def cls(tencent: TencentSettings, limiter: RateLimiter) -> ClsProvider:
    return ClsProvider(tencent, limiter=limiter)


def task(**params: Any) -> ExportTask:
    """An export of the examples' request (CreateExport's ``_request``)."""
    return ExportTask(provider="cls", params={
        "TopicId": TOPIC, "Query": "status:200", "Count": 100, "Order": "desc",
        "Format": "json", "From": 1607499107000, "To": 1607499207000, "SyntaxRule": 0,
        **params})


def test_create_export(cls: ClsProvider, sandbox: Any) -> None:
    name = "tencent-CreateExport-1.json"
    record(sandbox, name)
    sub = cls.create(task())
    assert sub.remote["ExportId"] == EXAMPLES[name]["ExportId"]


def test_describe_exports_settles_the_export_created_under_the_bare_id(
        cls: ClsProvider, sandbox: Any) -> None:
    # GIVEN the export CreateExport answered as 57196a6a-…, listed as export-57196a6a-…
    name = "tencent-DescribeExports-1.json"
    record(sandbox, name)
    mine = task()
    mine.remote["ExportId"] = CREATED
    # WHEN it is polled THEN it is ready, with the listed file
    outcome = cls.poll([mine])[mine.id]
    want = EXAMPLES[name]
    assert not isinstance(outcome, ProviderError), outcome
    assert outcome.status is want["status"]
    for key in ("url", "file_name", "content_type", "size"):
        assert outcome.result[key] == want[key], key


def test_describe_exports_adopts_without_create_timestamp(cls: ClsProvider,
                                                          sandbox: Any) -> None:
    # GIVEN a create left in doubt, accepted just before the listed CreateTime (the listing
    # has no CreateTimestamp) with the listed export's parameters
    name = "tencent-DescribeExports-1.json"
    record(sandbox, name)
    made = datetime(2020, 8, 8, 12, 12, 12, tzinfo=timezone(timedelta(hours=8)))
    mine = task(From=1607499207000, To=1607499207000, Count=100000)
    mine.created_at = made.astimezone(timezone.utc) - timedelta(seconds=2)
    mine.remote[CREATE_DOUBT] = True
    # WHEN it is created again THEN the listed export is taken over, nothing made again
    sub = cls.create(mine)
    assert sub.remote == {"ExportId": EXAMPLES[name]["adopted"], "adopted": True}
    assert sandbox.calls.get(("cls", "CreateExport"), 0) == 0


def test_delete_export(cls: ClsProvider, sandbox: Any) -> None:
    name = "tencent-DeleteExport-1.json"
    record(sandbox, name)
    mine = task()
    mine.remote["ExportId"] = CREATED
    cls.cancel(mine)  # the empty answer is a done delete: no error
    assert EXAMPLES[name]["cancelled"] and sandbox.calls[("cls", "DeleteExport")] == 1


def test_search_log_without_a_count_is_not_taken_for_one(cls: ClsProvider,
                                                         sandbox: Any) -> None:
    # GIVEN an export at the 50,000,000-log cap, whose window is counted before the create
    name = "tencent-SearchLog-1.json"
    record(sandbox, name)
    # WHEN SearchLog answers a log search, not a count THEN nothing is created and the
    # error says what was missing (tried again later)
    with pytest.raises(ProviderError) as err:
        cls.create(task(Count=50_000_000))
    want = EXAMPLES[name]
    assert (err.value.code, err.value.retryable) == (want["code"], want["retryable"])
    assert "without a count" in err.value.detail
    assert sandbox.calls.get(("cls", "CreateExport"), 0) == 0
