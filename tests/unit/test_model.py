from __future__ import annotations

import pytest

from shared.model import TRANSITIONS, ExportTask, IllegalTransitionError, TaskState

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
