"""The helpers every provider shares: one look per task, and a cancel of something gone."""

from __future__ import annotations

import pytest

from shared.errors import ProviderError
from shared.model import ExportTask
from shared.providers.base import PollResult, RemoteStatus, already_gone, is_code, poll_each


def test_poll_each_keeps_going_after_a_task_fails() -> None:
    tasks = [ExportTask(provider="x", params={"n": n}) for n in range(3)]
    refused = ProviderError("x", "InternalError", "boom", retryable=True)

    def look(task: ExportTask) -> PollResult:
        if task.params["n"] == 1:
            raise refused
        return PollResult(RemoteStatus.PENDING, progress=task.params["n"])

    results = poll_each(tasks, look)
    assert list(results) == [t.id for t in tasks]
    assert results[tasks[1].id] is refused
    first, last = results[tasks[0].id], results[tasks[2].id]
    assert isinstance(first, PollResult) and first.progress == 0
    assert isinstance(last, PollResult) and last.progress == 2


@pytest.mark.parametrize(("code", "codes", "matches"), [
    ("ResourceNotFound", ("ResourceNotFound",), True),
    ("ResourceNotFound.ExportNotExist", ("ResourceNotFound",), True),
    ("ResourceNotFoundish", ("ResourceNotFound",), False),
    ("InvalidParameter.TaskNotFound", ("InvalidParameter.TaskNotFound",), True),
    ("InvalidParameter", ("InvalidParameter.TaskNotFound",), False),
    ("AuthFailure", ("ResourceNotFound", "FailedOperation"), False),
], ids=["exact", "below", "longer-name", "dotted", "parent", "other"])
def test_is_code(code: str, codes: tuple[str, ...], matches: bool) -> None:
    assert is_code(code, codes) is matches


def test_already_gone_swallows_only_its_codes() -> None:
    with already_gone("ResourceNotFound"):
        raise ProviderError("cls", "ResourceNotFound.ExportNotExist", "gone", retryable=False)
    with pytest.raises(ProviderError) as err, already_gone("ResourceNotFound"):
        raise ProviderError("cls", "AuthFailure.SignatureFailure", "no", retryable=False)
    assert err.value.code == "AuthFailure.SignatureFailure"
