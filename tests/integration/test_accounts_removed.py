"""An export whose account was taken out of COURIER_ACCOUNTS after it was made (the settings
changed, the bundle rebuilt) fails at its next turn, non-retryable, naming the account —
submitted (the poll of its group), accepted with its create still to be made (submit), or
ready (complete) — instead of backing off for ever; the other exports go on. A create
naming such an account stays a 400."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest

from shared import exports
from shared.bundle import Bundle
from shared.clock import utcnow
from shared.config import Settings
from shared.errors import ValidationError
from shared.model import TaskState

pytestmark = pytest.mark.integration

OTHER = "100000000002"
ROLE = f"qcs::cam::uin/{OTHER}:roleName/courier-export"
ACCOUNTS = {"sh": {"vendor": "tencent", "region": "ap-shanghai", "role": ROLE},
            "bj": {"vendor": "tencent", "region": "ap-beijing"}}
GONE = {"reason": "account 'sh' is no longer configured (COURIER_ACCOUNTS)",
        "code": "AccountNotConfigured", "retryable": False}


def bundle_with(courier_env: dict[str, str], accounts: dict[str, Any]) -> Bundle:
    return Bundle(Settings.from_env({**courier_env,
                                     "COURIER_ACCOUNTS": json.dumps(accounts)}))


def accept(bundle: Bundle, topic: str, account: str | None = None) -> str:
    now = int(time.time() * 1000)
    body: dict[str, Any] = {"provider": "cls", "params": {"TopicId": topic,
                                                          "From": now - 60_000, "To": now}}
    if account is not None:
        body["account"] = account
    return exports.accept(bundle.store(), bundle.providers, body,
                          poll_interval_s=bundle.settings.poll_interval_s).task.id


def test_exports_of_an_account_taken_out_fail_naming_it_and_the_rest_go_on(
        courier_env: dict[str, str], sandbox: Any) -> None:
    sandbox.add_account(OTHER, roles=[(ROLE, None)], topics=["topic-second"])
    first = bundle_with(courier_env, ACCOUNTS)
    submitted = accept(first, "topic-second", "sh")
    sandbox.faults.add(service="cls", action="CreateExport", kind="error",
                       code="InternalError", times=1)
    waiting = accept(first, "topic-second", "sh")  # its create to be tried again
    ready = accept(first, "topic-second", "sh")
    own, kept = accept(first, "topic-app"), accept(first, "topic-a", "bj")
    store = first.store()
    assert [store.get_task(i).state for i in (submitted, waiting, ready, own, kept)] == [
        TaskState.SUBMITTED, TaskState.ACCEPTED, TaskState.SUBMITTED, TaskState.SUBMITTED,
        TaskState.SUBMITTED]
    task = store.get_task(ready)  # as if the vendor had finished it: complete's turn
    task.move(TaskState.READY)
    task.result.update({"download_url": "http://127.0.0.1:9/none", "file_name": "f.tar.gz"})
    store.update_task(task)
    store.close()

    # the settings change: "sh" is taken out, "bj" stays
    second = bundle_with(courier_env, {"bj": ACCOUNTS["bj"]})
    try:
        store = second.store()
        later = utcnow() + timedelta(minutes=10)  # every export is due
        second.poller.tick(deadline=time.monotonic() + 20, owner="after", now=later)
        for export_id in (submitted, waiting):
            failed = store.get_task(export_id)
            assert failed.state is TaskState.FAILED, (failed.state, failed.error)
            assert failed.error == GONE
        failed = store.get_task(ready)  # complete, handed it by the tick
        assert failed.state is TaskState.FAILED, (failed.state, failed.error)
        assert failed.error == GONE
        # each is told once to its subscribers (the deployment's default endpoint)
        for export_id in (submitted, waiting, ready):
            told = [d.event_type for d in store.list_deliveries(task_id=export_id,
                                                                limit=50).items]
            assert told.count("export.failed") == 1, (export_id, told)
        # the others go on to the end
        for _ in range(40):
            states = {store.get_task(i).state for i in (own, kept)}
            if states == {TaskState.DELIVERED}:
                break
            sandbox.clock.advance(5)
            second.poller.tick(deadline=time.monotonic() + 20, owner="after",
                               now=utcnow() + timedelta(minutes=10))
            time.sleep(0.1)
        assert states == {TaskState.DELIVERED}
        # a new export naming it: a 400 naming the account, nothing stored
        with pytest.raises(ValidationError) as refused:
            accept(second, "topic-second", "sh")
        assert refused.value.field == "account" and "'sh'" in refused.value.detail
    finally:
        second.store().close()


def test_a_create_naming_an_account_of_another_cloud_is_a_400(
        courier_env: dict[str, str]) -> None:
    b = bundle_with(courier_env, {"hz": {"vendor": "alibaba", "region": "cn-hangzhou"}})
    try:
        with pytest.raises(ValidationError) as refused:
            accept(b, "topic-a", "hz")
        assert refused.value.field == "account" and "account of alibaba" in refused.value.detail
    finally:
        b.store().close()
