"""CLS SearchLog's documented limits in the emulator, through the real SDK: a QueryString of
at most 12 KB, at most 15 queries running at once on one topic (LimitExceeded.LogSearch)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from tencentcloud.cls.v20201016 import models
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from sandbox import Sandbox
from tests.integration.sandbox.sandbox_support import NOW_MS, make_cls, request


def search(sb: Sandbox, query: str, topic: str = "topic-a") -> Any:
    return make_cls(sb, timeout=30).SearchLog(request(
        models.SearchLogRequest, TopicId=topic, From=NOW_MS - 60_000, To=NOW_MS,
        QueryString=query, QuerySyntax=1, UseNewAnalysis=True))


def code_of(fn: Any) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        fn()
    return str(err.value.code)


def test_a_query_string_over_12_kb_is_refused(sb: Sandbox) -> None:
    suffix = " | select count(*) as n"
    fits = "a" * (12 * 1024 - len(suffix)) + suffix
    assert search(sb, fits).AnalysisRecords
    assert code_of(lambda: search(sb, "a" + fits)) == "InvalidParameterValue"


def test_a_sixteenth_query_at_once_on_a_topic_is_refused(sb: Sandbox) -> None:
    # GIVEN 15 slow queries running on topic-a
    sb.rate_limit = None
    sb.cls.search_hold = threading.Event()
    answers: list[Any] = []
    threads = [threading.Thread(target=lambda: answers.append(
        search(sb, "* | select count(*) as n"))) for _ in range(15)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while sb.cls.searching.get("topic-a", 0) < 15 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sb.cls.searching["topic-a"] == 15
    # WHEN a 16th starts: refused with the documented code; another topic is not limited
    assert code_of(lambda: search(sb, "* | select count(*) as n")) == "LimitExceeded.LogSearch"
    other = threading.Thread(target=lambda: answers.append(
        search(sb, "* | select count(*) as n", topic="topic-b")))
    other.start()
    # THEN once they finish, every one of the others was answered, and a new one runs
    sb.cls.search_hold.set()
    for t in [*threads, other]:
        t.join(timeout=30)
    assert len(answers) == 16
    assert search(sb, "* | select count(*) as n").AnalysisRecords
