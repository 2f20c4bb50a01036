"""Create locks are the real account's, whatever name it comes by: TCSS tells a new job apart
by one account-wide listing, so two creates in one account must not overlap. Two names of
COURIER_ACCOUNTS for one account (two roles of the same owner uin, in two regions) share the
lock; a third account's create does not wait on it. Through the real create path, the state
store's lock and the sandbox's TCSS."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import pytest

from shared import exports, locks
from shared.bundle import Bundle
from shared.clock import utcnow
from shared.config import Settings
from shared.model import ExportTask, TaskState

pytestmark = pytest.mark.integration

OWNER, THIRD = "100000000002", "100000000003"
ROLES = {"sh": f"qcs::cam::uin/{OWNER}:roleName/courier-export",
         "sh-audit": f"qcs::cam::uin/{OWNER}:roleName/courier-audit",
         "third": f"qcs::cam::uin/{THIRD}:roleName/courier-export"}
REGIONS = {"sh": "ap-shanghai", "sh-audit": "ap-nanjing", "third": "ap-shanghai"}
JOB = "CreateHostExportJob"


@pytest.fixture
def bundle(sandbox: Any, courier_env: dict[str, str]) -> Any:
    sandbox.add_account(OWNER, roles=[(ROLES["sh"], None), (ROLES["sh-audit"], None)])
    sandbox.add_account(THIRD, roles=[(ROLES["third"], None)])
    accounts = {name: {"vendor": "tencent", "region": REGIONS[name], "role": role}
                for name, role in ROLES.items()}
    b = Bundle(Settings.from_env({**courier_env, "COURIER_ACCOUNTS": json.dumps(accounts)}))
    yield b
    b.store().close()


def accept(bundle: Bundle, account: str) -> ExportTask:
    body = {"provider": "tcss", "account": account, "params": {"Action": JOB}}
    return exports.accept(bundle.store(), bundle.providers, body,
                          poll_interval_s=bundle.settings.poll_interval_s).task


def test_two_names_of_one_account_share_its_create_lock(bundle: Bundle, sandbox: Any) -> None:
    store = bundle.store()
    probe = ExportTask(provider="tcss", params={"Action": JOB})
    lock = bundle.providers.get("tcss", "sh").serial_key(probe)
    assert lock == f"tcss-create@uin:{OWNER}"
    assert bundle.providers.get("tcss", "sh-audit").serial_key(probe) == lock
    # a create of "sh" in flight holds the account's lock
    assert locks.acquire(store, lock, "submit:in-flight")

    waiting = accept(bundle, "sh-audit")  # the same account by another name: waits
    assert waiting.state is TaskState.ACCEPTED
    assert sandbox.calls.get(("tcss", JOB), 0) == 0
    other = accept(bundle, "third")  # another account: its own lock, made at once
    assert other.state is TaskState.SUBMITTED
    assert sandbox.calls.get(("tcss", JOB), 0) == 1

    locks.release(store, lock, "submit:in-flight")  # the other create is done
    bundle.poller.tick(deadline=time.monotonic() + 20, owner="tick",
                       now=utcnow() + timedelta(minutes=1))
    made = store.get_task(waiting.id)
    assert made.state is TaskState.SUBMITTED, (made.state, made.error)
    assert sandbox.calls.get(("tcss", JOB), 0) == 2
    signed = {(account, region) for service, action, account, region in sandbox.accounts.seen
              if (service, action) == ("tcss", JOB)}
    assert signed == {(OWNER, "ap-nanjing"), (THIRD, "ap-shanghai")}
