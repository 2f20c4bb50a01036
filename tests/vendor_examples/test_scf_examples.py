"""Tencent's published SCF example answers, each sent back verbatim by a TC3-checking test
endpoint through tencentcloud-sdk-python-scf into the deployer of ``courier deploy scf``:
what a user sees when SCF answers exactly as documented."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from courier.scf_api import sdk_call
from deploy.scf_deploy import PACKAGE_SHA_ENV, ScfDeployer
from deploy.spec import FunctionSpec, ScfPlan, ScfTrigger
from tests.integration.deploy.tc3_endpoint import Tc3Endpoint, tc3_endpoint
from tests.vendor_examples.support import examples_dir

FOLDER = Path(__file__).resolve().parents[2].parent / "shared" / "vendor-examples"
EXAMPLES = {  # file -> the action whose recorded answer it is
    "tencent-ListTriggers-1.json": "ListTriggers",
    "tencent-GetFunction-1.json": "GetFunction",
    "tencent-UpdateTrigger-1.json": "UpdateTrigger",
    "tencent-CreateTrigger-1.json": "CreateTrigger",
    "tencent-CreateFunction-1.json": "CreateFunction",
    "tencent-UpdateFunctionCode-1.json": "UpdateFunctionCode",
    "tencent-UpdateFunctionConfiguration-1.json": "UpdateFunctionConfiguration",
}
SECRETS = {"AKIDexample": "example-secret-key"}
PACKAGE = b"PK\x05\x06" + bytes(18)  # an empty zip


def recorded(name: str) -> dict[str, Any]:
    """The example's ``Response``, exactly as published."""
    data = json.loads((FOLDER / name).read_text(encoding="utf-8"))
    response: dict[str, Any] = data["Response"]
    return response


def answer(name: str) -> Any:
    return lambda _body: copy.deepcopy(recorded(name))


def not_found(_body: dict[str, Any]) -> dict[str, Any]:
    return {"Error": {"Code": "ResourceNotFound.Function", "Message": "function not found"}}


@pytest.fixture
def endpoint() -> Iterator[Tc3Endpoint]:
    examples_dir()  # skipped without the folder, failed on CI
    with tc3_endpoint(SECRETS) as server:
        yield server


def deployer(endpoint: Tc3Endpoint, plan: ScfPlan, **options: Any) -> ScfDeployer:
    env = {"TENCENTCLOUD_SECRETID": "AKIDexample",
           "TENCENTCLOUD_SECRETKEY": SECRETS["AKIDexample"]}
    call = sdk_call(plan.region, endpoint.url, env)
    return ScfDeployer(call, plan, PACKAGE, wait_s=5, say=lambda _: None, **options)


def plan_of(fn: FunctionSpec, triggers: list[ScfTrigger] | None = None,
            runtime: str = "Python3.10") -> ScfPlan:
    return ScfPlan(region="ap-chongqing", namespace="default", runtime=runtime, src="",
                   functions={fn.key: fn}, triggers=triggers or [])


def actions(endpoint: Tc3Endpoint) -> list[str]:
    return [r.action for r in endpoint.requests]


# The function and its URL as the ListTriggers example shows them: intranet only, open.
DEMO = FunctionSpec(key="create", name="function-demo", handler="index.main", memory_mb=128,
                    timeout_s=3)
DEMO_URL = ScfTrigger(type="http", function="create", name="courier-url", parameters={
    "authType": "NONE", "netConfig": {"enableIntranet": True, "enableExtranet": False}})
INTRANET_URL = "https://1258888888-hulrzrbh9f.in.ap-chongqing.tencentscf.com"


def test_list_triggers_the_url_is_found_and_identical_settings_change_nothing(
        endpoint: Tc3Endpoint) -> None:
    endpoint.answers["ListTriggers"] = answer("tencent-ListTriggers-1.json")
    run = deployer(endpoint, plan_of(DEMO, [DEMO_URL]))
    run.triggers(DEMO)
    # THEN the address inside TriggerDesc.NetConfig is the URL, and the trigger the platform
    # named "hulrzrbh9f" is ours: nothing to create, nothing to update
    assert run.outcome.urls == [("intranet", INTRANET_URL)]
    assert run.outcome.steps == [] and run.outcome.unmanaged == []
    assert actions(endpoint) == ["ListTriggers"]


def test_list_triggers_a_changed_url_is_never_updated(endpoint: Tc3Endpoint) -> None:
    endpoint.answers["ListTriggers"] = answer("tencent-ListTriggers-1.json")
    public = ScfTrigger(type="http", function="create", name="courier-url", parameters={
        "netConfig": {"enableIntranet": True, "enableExtranet": True}})
    # WHEN the descriptor asks for a public URL: the plan says so and stops
    run = deployer(endpoint, plan_of(DEMO, [public]), dry_run=True)
    run.triggers(DEMO)
    (problem,) = run.outcome.blocked
    assert "EnableExtranet" in problem and "--replace-url" in problem
    # WHEN asked to replace it: the old URL is deleted and a new one made, never updated
    endpoint.answers["DeleteTrigger"] = endpoint.answers["CreateTrigger"] = lambda _b: {}
    run = deployer(endpoint, plan_of(DEMO, [public]), replace_url=True)
    run.triggers(DEMO)
    assert "UpdateTrigger" not in actions(endpoint)
    delete = next(r.body for r in endpoint.requests if r.action == "DeleteTrigger")
    assert (delete["TriggerName"], delete["Type"]) == ("hulrzrbh9f", "http")
    assert actions(endpoint)[-3:] == ["DeleteTrigger", "CreateTrigger", "ListTriggers"]


def test_get_function_state_and_runtime_are_read(endpoint: Tc3Endpoint) -> None:
    endpoint.answers["GetFunction"] = answer("tencent-GetFunction-1.json")
    endpoint.answers["ListTriggers"] = lambda _b: {"TotalCount": 0, "Triggers": []}
    fn = FunctionSpec(key="create", name="function-index1", handler="index.main",
                      memory_mb=128, timeout_s=3)
    run = deployer(endpoint, plan_of(fn), dry_run=True)
    assert run._settle(fn)["Status"] == "Active"  # no wait on an Active function
    run.function(fn)
    (problem,) = run.outcome.blocked
    assert "function-index1 runs CustomImage" in problem and "Python3.10" in problem
    assert run.outcome.steps == []


def timer(cron: str) -> ScfTrigger:
    return ScfTrigger(type="timer", function="create", name="TriggerName",
                      parameters={"cronExpression": cron, "enable": False})


def test_create_trigger_a_timer_reads_back_as_created(endpoint: Tc3Endpoint) -> None:
    info = recorded("tencent-CreateTrigger-1.json")["TriggerInfo"]
    endpoint.answers["ListTriggers"] = lambda _b: {"TotalCount": 0, "Triggers": []}
    endpoint.answers["CreateTrigger"] = answer("tencent-CreateTrigger-1.json")
    run = deployer(endpoint, plan_of(DEMO, [timer("0 */2 * * * * *")]))
    run.triggers(DEMO)
    assert [str(s) for s in run.outcome.steps] == ["CreateTrigger function-demo/TriggerName "
                                                   "(timer)"]
    # WHEN the timer is then listed as CreateTrigger described it: identical, nothing to do
    endpoint.answers["ListTriggers"] = lambda _b: {"TotalCount": 1, "Triggers": [info]}
    run = deployer(endpoint, plan_of(DEMO, [timer("0 */2 * * * * *")]))
    run.triggers(DEMO)
    assert run.outcome.steps == [] and run.outcome.urls == []


def test_update_trigger_a_changed_timer_is_updated_in_place(endpoint: Tc3Endpoint) -> None:
    info = recorded("tencent-CreateTrigger-1.json")["TriggerInfo"]
    endpoint.answers["ListTriggers"] = lambda _b: {"TotalCount": 1, "Triggers": [info]}
    endpoint.answers["UpdateTrigger"] = answer("tencent-UpdateTrigger-1.json")
    run = deployer(endpoint, plan_of(DEMO, [timer("0 */5 * * *")]))  # the 5-field form
    run.triggers(DEMO)
    assert [str(s) for s in run.outcome.steps] == ["UpdateTrigger function-demo/TriggerName "
                                                   "(cron)"]
    body = endpoint.requests[-1].body
    assert endpoint.requests[-1].action == "UpdateTrigger"
    assert body["TriggerDesc"] == "0 */5 * * *" and body["TriggerName"] == "TriggerName"
    assert set(body) <= {"FunctionName", "Namespace", "Type", "TriggerName", "Qualifier",
                         "Enable", "TriggerDesc", "Description", "CustomArgument"}


def test_create_function_a_new_function_is_created_and_waited_for(
        endpoint: Tc3Endpoint) -> None:
    seen: list[str] = []

    def get_function(body: dict[str, Any]) -> dict[str, Any]:
        seen.append(body["FunctionName"])
        return not_found(body) if len(seen) == 1 else recorded("tencent-GetFunction-1.json")

    endpoint.answers["GetFunction"] = get_function
    endpoint.answers["CreateFunction"] = answer("tencent-CreateFunction-1.json")
    endpoint.answers["ListTriggers"] = lambda _b: {"TotalCount": 0, "Triggers": []}
    fn = FunctionSpec(key="create", name="function-index1", handler="index.main",
                      memory_mb=128, timeout_s=3)
    run = deployer(endpoint, plan_of(fn, runtime="CustomImage"))
    run.function(fn)
    assert [s.action for s in run.outcome.steps] == ["CreateFunction"]
    assert actions(endpoint) == ["GetFunction", "CreateFunction", "GetFunction", "ListTriggers"]


def existing_function_deploy(endpoint: Tc3Endpoint) -> ScfDeployer:
    """The GetFunction example's function (128 MB, 3 s) deployed with a new package."""
    endpoint.answers["GetFunction"] = answer("tencent-GetFunction-1.json")
    endpoint.answers["UpdateFunctionCode"] = answer("tencent-UpdateFunctionCode-1.json")
    endpoint.answers["UpdateFunctionConfiguration"] = answer(
        "tencent-UpdateFunctionConfiguration-1.json")
    endpoint.answers["ListTriggers"] = lambda _b: {"TotalCount": 0, "Triggers": []}
    fn = FunctionSpec(key="create", name="function-index1", handler="index.main",
                      memory_mb=128, timeout_s=3)
    run = deployer(endpoint, plan_of(fn, runtime="CustomImage"))
    run.function(fn)
    return run


def test_update_function_code_a_new_package_is_sent(endpoint: Tc3Endpoint) -> None:
    run = existing_function_deploy(endpoint)
    code = [r.body for r in endpoint.requests if r.action == "UpdateFunctionCode"]
    assert len(code) == 1 and code[0]["FunctionName"] == "function-index1"
    assert "ZipFile" in code[0]
    assert run.outcome.steps[0].action == "UpdateFunctionCode"


def test_update_function_configuration_only_what_differs(endpoint: Tc3Endpoint) -> None:
    run = existing_function_deploy(endpoint)
    # memory and timeout were read as equal; only the package marker in the environment differs
    assert [str(s) for s in run.outcome.steps][1:] == [
        "UpdateFunctionConfiguration function-index1 (Environment)"]
    config = next(r.body for r in endpoint.requests
                  if r.action == "UpdateFunctionConfiguration")
    assert {v["Key"] for v in config["Environment"]["Variables"]} == {PACKAGE_SHA_ENV}
