"""Exports in a second account and region (COURIER_ACCOUNTS), through a role assumed with
STS on the sandbox's Tencent and Alibaba sides, end to end through the real create handler,
timer and completion: the vendor SDKs sign with the role's temporary keys, which the sandbox
binds to the role's account; a call on a resource of another account is refused; a role that
cannot be assumed fails only the exports that name its account."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.helpers import call, cls_body, post, until_terminal
from tests.events import load_event

pytestmark = pytest.mark.integration

OTHER = "100000000002"  # the second account (a CAM uin)
ROLE = f"qcs::cam::uin/{OTHER}:roleName/courier-export"
RAM_OTHER = "200000000002"
RAM_ROLE = f"acs:ram::{RAM_OTHER}:role/courier-export"
ACCOUNTS = {
    "sh": {"vendor": "tencent", "region": "ap-shanghai", "role": ROLE, "external_id": "ext-9"},
    "gone": {"vendor": "tencent", "region": "ap-beijing",
             "role": "qcs::cam::uin/100000000003:roleName/deleted"},
    "hz2": {"vendor": "alibaba", "region": "cn-shanghai", "role": RAM_ROLE},
}


@pytest.fixture
def fleet(sandbox: Any, handlers_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[Any]:
    from functions import common

    sandbox.add_account(OTHER, roles=[(ROLE, "ext-9")], topics=["topic-second"])
    sandbox.add_account(RAM_OTHER, roles=[(RAM_ROLE, None)], tenants=[2])
    monkeypatch.setenv("COURIER_ACCOUNTS", json.dumps(ACCOUNTS))
    common.reset()  # a cold start with the accounts
    yield sandbox
    common.reset()


def test_a_cls_export_in_a_second_account_and_region_through_its_role(
        fleet: Any, api_key: str) -> None:
    status, created = post(api_key, {**cls_body("topic-second"), "account": "sh"})
    assert status == 202, created
    assert created["account"] == "sh"
    task = until_terminal(created["id"], api_key, fleet)
    assert task["state"] == "delivered", task["error"]
    # STS once; every CLS call signed with the role's keys, in the account's region
    assert fleet.calls[("sts", "AssumeRole")] == 1
    made = [(s, a, acct, region) for s, a, acct, region in fleet.accounts.seen if s == "cls"]
    assert made and all((acct, region) == (OTHER, "ap-shanghai") for *_, acct, region in made)


def test_the_deployments_own_keys_are_refused_on_the_other_accounts_topic(
        fleet: Any, api_key: str) -> None:
    # the create is made at once: CLS's answer for a topic the account does not have
    status, problem = post(api_key, cls_body("topic-second"))
    assert status == 422, problem
    assert problem["export"]["error"]["code"] == "ResourceNotFound.TopicNotExist"


def test_a_role_that_cannot_be_assumed_fails_only_its_accounts_exports(
        fleet: Any, api_key: str) -> None:
    status, refused = post(api_key, {**cls_body("topic-a"), "account": "gone"})
    assert status == 422, refused
    failed = refused["export"]
    assert (failed["state"], failed["account"]) == ("failed", "gone")
    assert failed["error"]["code"] == "ResourceNotFound.RoleNotFound"
    assert "qcs::cam::uin/100000000003:roleName/deleted" in failed["error"]["reason"]
    assert failed["error"]["retryable"] is False
    _, fine = post(api_key, {**cls_body("topic-second"), "account": "sh"})
    _, own = post(api_key, cls_body("topic-app"))
    for other in (fine, own):
        assert until_terminal(other["id"], api_key, fleet)["state"] == "delivered"


def test_a_refused_role_that_may_be_let_in_later_is_tried_again(
        fleet: Any, api_key: str) -> None:
    fleet.faults.add_from_json({"service": "sts", "action": "AssumeRole", "kind": "error",
                                "code": "InternalError.GetRoleError", "times": 1})
    status, created = post(api_key, {**cls_body("topic-second"), "account": "sh"})
    assert status == 202, created  # the create waits for the next tick
    assert until_terminal(created["id"], api_key, fleet)["state"] == "delivered"
    assert fleet.calls[("sts", "AssumeRole")] == 2


def test_an_account_of_another_cloud_is_a_400_naming_account(fleet: Any, api_key: str) -> None:
    status, problem = post(api_key, {**cls_body(), "account": "hz2"})
    assert status == 400
    assert "account" in json.dumps(problem) and "alibaba" in json.dumps(problem)


def nudged(export_id: str, api_key: str, sandbox: Any) -> dict[str, Any]:
    """The export once it ends, made due at once each time it waits on its approver."""
    for _ in range(6):
        try:
            return until_terminal(export_id, api_key, sandbox, limit_s=5)
        except AssertionError:
            call(load_event("aws_apigw_rest_post_exports", body="",
                            path=f"/exports/{export_id}/check", headers={"x-api-key": api_key}))
    return until_terminal(export_id, api_key, sandbox, limit_s=5)


def test_a_dms_export_in_a_second_account_through_its_ram_role(
        fleet: Any, api_key: str) -> None:
    fleet.dms.auto_approve = True  # the approver of the second account's tenant says yes
    body = {"provider": "dms", "account": "hz2", "params": {
        "Tid": 2, "DbId": 1234, "InstanceId": 77, "ExeSQL": "SELECT 1", "Comment": "b"}}
    status, created = post(api_key, body)
    assert status == 202, created
    task = nudged(created["id"], api_key, fleet)
    assert task["state"] == "delivered", task["error"]
    assert fleet.calls[("sts", "AssumeRole")] == 1
    # the same tenant with the deployment's own keys: not a member of it
    status, problem = post(api_key, {k: v for k, v in body.items() if k != "account"})
    assert status == 422, problem
    assert problem["export"]["error"]["code"] == "InvalidTid"
