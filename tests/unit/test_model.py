from __future__ import annotations

import pytest

from shared.model import (
    TRANSITIONS,
    ExportTask,
    IllegalTransitionError,
    OssObjectSource,
    TaskState,
    UrlSource,
)

S = TaskState
LEGAL = [
    (S.ACCEPTED, S.SUBMITTED), (S.ACCEPTED, S.FAILED), (S.ACCEPTED, S.CANCELLED),
    (S.SUBMITTED, S.READY), (S.SUBMITTED, S.FAILED), (S.SUBMITTED, S.CANCELLED),
    (S.READY, S.COPYING), (S.COPYING, S.DELIVERED), (S.COPYING, S.READY),
    (S.COPYING, S.FAILED), (S.FAILED, S.ACCEPTED),
]
ILLEGAL = [
    (S.ACCEPTED, S.READY), (S.ACCEPTED, S.DELIVERED), (S.SUBMITTED, S.DELIVERED),
    (S.READY, S.DELIVERED), (S.DELIVERED, S.FAILED), (S.DELIVERED, S.ACCEPTED),
    (S.CANCELLED, S.ACCEPTED), (S.COPYING, S.CANCELLED), (S.FAILED, S.DELIVERED),
]


@pytest.mark.parametrize(("src", "dst"), LEGAL, ids=[f"{a.value}->{b.value}" for a, b in LEGAL])
def test_legal_transitions(src: TaskState, dst: TaskState) -> None:
    task = ExportTask(provider="cls", params={}, state=src)
    task.move(dst)
    assert task.state is dst


@pytest.mark.parametrize(("src", "dst"), ILLEGAL,
                         ids=[f"{a.value}->{b.value}" for a, b in ILLEGAL])
def test_illegal_transitions(src: TaskState, dst: TaskState) -> None:
    task = ExportTask(provider="cls", params={}, state=src)
    with pytest.raises(IllegalTransitionError):
        task.move(dst)
    assert task.state is src


def test_terminal_states_have_no_way_out_but_retry() -> None:
    assert TRANSITIONS[S.DELIVERED] == frozenset()
    assert TRANSITIONS[S.CANCELLED] == frozenset()
    assert TRANSITIONS[S.FAILED] == frozenset({S.ACCEPTED})


def test_fail_records_reason_and_stops_polling() -> None:
    task = ExportTask(provider="cls", params={}, state=S.SUBMITTED)
    task.fail("topic deleted", code="ResourceNotFound.TopicNotExist")
    assert task.state is S.FAILED
    assert task.error == {"reason": "topic deleted", "code": "ResourceNotFound.TopicNotExist",
                          "retryable": False}
    assert task.due_at is None


def test_times_are_timezone_aware() -> None:
    task = ExportTask(provider="cls", params={})
    assert task.created_at.tzinfo is not None
    assert task.id.startswith("exp_") and len(task.id) > 10


def test_an_illegal_transition_is_a_conflict_the_api_answers_409() -> None:
    from shared.http.problem import error_payload

    task = ExportTask(provider="cls", params={}, state=S.DELIVERED)
    with pytest.raises(IllegalTransitionError) as caught:
        task.move(S.FAILED)
    status, body = error_payload(caught.value)
    assert (status, body["error"]) == (409, "conflict")


def test_release_gives_the_lease_up() -> None:
    from datetime import timedelta

    from shared.clock import utcnow

    task = ExportTask(provider="cls", params={}, lease_owner="poll:1",
                      lease_until=utcnow() + timedelta(seconds=60))
    task.release()
    assert task.lease_owner is None and task.lease_until is None


@pytest.mark.parametrize("attempts", [1, 2, 5, 30])
def test_backoff_grows_within_its_cap_and_honours_retry_after(attempts: int) -> None:
    from shared.model import BACKOFF_BASE_S, BACKOFF_CAP_S, backoff

    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** (attempts - 1))
    for _ in range(50):
        delay = backoff(attempts).total_seconds()
        assert ceiling / 2 <= delay <= ceiling
    assert backoff(attempts, retry_after=BACKOFF_CAP_S * 2).total_seconds() == BACKOFF_CAP_S * 2


@pytest.mark.parametrize(("url", "endpoint", "expected"), [
    # GetDataExportDownloadURL's documented example (shared/vendor-examples)
    ("https://dms-idb-hangzhou.oss-cn-hangzhou.aliyuncs.com/xxx.zip", None,
     ("dms-idb-hangzhou", "xxx.zip", "cn-hangzhou", None)),
    ("https://b-1.oss-cn-beijing-internal.aliyuncs.com/a/b%20c.zip?x-oss-signature=1", None,
     ("b-1", "a/b c.zip", "cn-beijing", None)),
    ("http://127.0.0.1:9/dms-bucket/export/1/r.zip?x-oss-date=1", "http://127.0.0.1:9",
     ("dms-bucket", "export/1/r.zip", "cn-hangzhou", "http://127.0.0.1:9")),
], ids=["documented", "internal", "path-style-endpoint"])
def test_a_dms_url_on_oss_is_an_oss_object(url: str, endpoint: str | None,
                                           expected: tuple[str, str, str, str | None]) -> None:
    source = OssObjectSource.of_url(url, "r.zip", endpoint=endpoint, region="cn-hangzhou")
    assert isinstance(source, OssObjectSource)
    assert (source.bucket, source.key, source.region, source.endpoint) == expected
    assert source.url == url and source.file_name == "r.zip"
    assert "signature" not in repr(source)


@pytest.mark.parametrize("url", [
    "https://files.example.com/r.zip", "https://oss-cn-hangzhou.aliyuncs.com/r.zip",
    "http://127.0.0.1:9/only-a-bucket"])
def test_any_other_url_stays_a_url(url: str) -> None:
    source = OssObjectSource.of_url(url, None, endpoint="http://127.0.0.1:9")
    assert type(source) is UrlSource and source.url == url
