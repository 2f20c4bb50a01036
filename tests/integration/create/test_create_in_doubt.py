"""Every create is found before it is made again: a lost answer (the sandbox's
``lost_answer``: done, never answered), a kill between the vendor call and the state write,
and no adoption of another export's object. Through the real SDKs, a real SQLite store and
``exports.accept`` / ``exports.submit`` as the create function and the timer run them."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from shared import exports, owners
from shared.model import TaskState
from shared.providers.base import CREATE_DOUBT


class Killed(BaseException):
    """The process dies: nothing after this point runs (not an error anybody catches)."""


NOW_MS = int(time.time() * 1000)  # one window for every export: the very same parameters


def body_for(provider: str, n: int = 0) -> dict[str, Any]:
    now = NOW_MS
    params: dict[str, Any] = {
        "cls": {"TopicId": "topic-doubt", "From": now - 60_000 - n, "To": now},
        "tcss": {"Action": "CreateHostExportJob", "Params": {"Limit": 10 + n}},
        "dlc": {"SQL": f"SELECT {n} FROM t", "DatabaseName": "db"},
        "mongodb": {"InstanceId": "cmgo-abc123", "StartTime": "2026-01-01 00:00:00",
                    "EndTime": f"2026-01-01 0{1 + n}:00:00"},
        "dms": {"Tid": 1, "DbId": 1234, "InstanceId": 77, "ExeSQL": "SELECT * FROM orders"},
    }[provider]
    return {"provider": provider, "params": params}


CREATE_ACTION = {"cls": "CreateExport", "tcss": "CreateHostExportJob", "dlc": "CreateTasks",
                 "mongodb": "CreateLogDownloadTask", "dms": "CreateDataExportOrder"}
REMOTE_ID = {"cls": "ExportId", "tcss": "JobId", "dlc": "TaskId", "mongodb": "TaskId",
             "dms": "OrderId"}


def made(sandbox: Any, provider: str) -> int:
    """How many objects the vendor holds (what a duplicate would show up in)."""
    return len({"cls": sandbox.cls.exports, "tcss": sandbox.tcss.jobs,
                "dlc": sandbox.dlc.tasks, "mongodb": sandbox.mongodb.tasks,
                "dms": sandbox.dms.orders}[provider])


def calls(sandbox: Any, provider: str) -> int:
    return int(sandbox.calls.get((provider, CREATE_ACTION[provider]), 0))


def resubmit(bundle: Any, task_id: str) -> Any:
    """What the timer does once the lease of the attempt before has lapsed."""
    store = bundle.store()
    return exports.submit(store, bundle.providers, store.get_task(task_id))


def kill_after_vendor_call(bundle: Any, provider: str) -> Callable[[], None]:
    """Make the next create call go through at the vendor, then kill the process before
    Courier writes down what it answered. Returns the undo."""
    api = bundle.providers.get(provider).api
    original = api.call

    def dying(action: str, params: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        answer = original(action, params, *args, **kwargs)
        if action == CREATE_ACTION[provider]:
            api.call = original
            raise Killed(action)
        return answer

    api.call = dying

    def undo() -> None:
        api.call = original
    return undo


PROVIDERS = ("cls", "tcss", "dlc", "mongodb", "dms")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_lost_create_answer_is_found_not_made_again(bundle: Any, sandbox: Any,
                                                      provider: str) -> None:
    sandbox.faults.add(service=provider, action=CREATE_ACTION[provider], kind="lost_answer")
    accepted = exports.accept(bundle.store(), bundle.providers, body_for(provider))
    task = accepted.task
    if task.state is TaskState.ACCEPTED:  # the look right after found nothing yet: retry
        task = resubmit(bundle, task.id)
    assert task.state is TaskState.SUBMITTED, task.error
    assert made(sandbox, provider) == 1 and calls(sandbox, provider) == 1
    assert task.remote[REMOTE_ID[provider]] and CREATE_DOUBT not in task.remote
    assert task.remote["create_check"] == bundle.providers.get(provider).create_check != ""


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "ResourceUnavailable"])
def test_a_refused_look_after_a_mongodb_create_does_not_make_it_again(
        bundle: Any, sandbox: Any, code: str) -> None:
    # GIVEN a create that goes through, and the listing right after it refused (MongoDB's
    # create answers no TaskId: Courier lists the instance's tasks to learn it)
    create = sandbox.mongodb.actions["CreateLogDownloadTask"]

    def then_refuse_the_look(params: Any) -> Any:
        answer = create(params)
        sandbox.faults.add(service="mongodb", action="DescribeLogDownloadTasks", kind="error",
                           code=code)
        return answer

    sandbox.mongodb.actions["CreateLogDownloadTask"] = then_refuse_the_look
    # WHEN the create function and then (if it left it) the timer take it on
    task = exports.accept(bundle.store(), bundle.providers, body_for("mongodb")).task
    if task.state is TaskState.ACCEPTED:
        task = resubmit(bundle, task.id)
    # THEN the one task is matched by the poll, never made a second time
    assert made(sandbox, "mongodb") == 1 and calls(sandbox, "mongodb") == 1
    assert task.state is TaskState.SUBMITTED and task.stage == "matching", task.error
    outcome = bundle.providers.get("mongodb").poll([task])[task.id]
    assert outcome.remote.get("TaskId") == next(iter(sandbox.mongodb.tasks))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_kill_between_the_call_and_the_state_write_is_not_made_again(
        bundle: Any, sandbox: Any, provider: str) -> None:
    kill_after_vendor_call(bundle, provider)
    accepted_ids = []
    with pytest.raises(Killed):
        try:
            exports.accept(bundle.store(), bundle.providers, body_for(provider))
        finally:
            page = bundle.store().list_tasks(limit=5)
            accepted_ids = [t.id for t in page.items]
    (task_id,) = accepted_ids
    stored = bundle.store().get_task(task_id)
    assert stored.state is TaskState.ACCEPTED and stored.remote.get("create_open_since")
    task = resubmit(bundle, task_id)
    assert task.state is TaskState.SUBMITTED, task.error
    assert task.remote.get("adopted")
    assert made(sandbox, provider) == 1 and calls(sandbox, provider) == 1
    assert owners.owner_of(bundle.store(), provider, str(task.remote[REMOTE_ID[provider]])
                           ) == task_id


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_object_owned_by_another_export_is_never_adopted(bundle: Any, sandbox: Any,
                                                            provider: str) -> None:
    store = bundle.store()
    # GIVEN an export whose create was dropped unanswered: in doubt, its "before" listing kept
    sandbox.faults.add(service=provider, action=CREATE_ACTION[provider], kind="drop")
    late = exports.accept(store, bundle.providers, body_for(provider)).task
    assert late.state is TaskState.ACCEPTED and late.remote.get(CREATE_DOUBT)
    # AND another export with the very same parameters, made since, owning its object
    other = exports.accept(store, bundle.providers, body_for(provider)).task
    theirs = other.remote[REMOTE_ID[provider]]
    assert owners.owner_of(store, provider, str(theirs)) == other.id
    # WHEN the first is submitted again: the other's object matches everything it looks for
    late = resubmit(bundle, late.id)
    # THEN it makes its own, and each export owns one object
    assert late.state is TaskState.SUBMITTED, late.error
    assert late.remote[REMOTE_ID[provider]] != theirs and not late.remote.get("adopted")
    assert made(sandbox, provider) == 2 and calls(sandbox, provider) == 3
