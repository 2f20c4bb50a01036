"""serverless.yml (SCF) and deploy/aws/serverless.yml (Lambda) agree with the code, events."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import shared.setting_names
from deploy.cron import cron_problems
from deploy.descriptors import (
    AWS_DESCRIPTOR,
    OPTIONAL_ENV,
    PLATFORM_ENV,
    ROOT,
    SCF_DESCRIPTOR,
    aws_functions,
    check_aws,
    check_scf,
    config_env_names,
)
from deploy.spec import load_yaml, scf_functions, scf_triggers
from tests.events import load_event


def test_scf_descriptor_agrees_with_the_code() -> None:
    assert check_scf().problems == []


def test_aws_descriptor_agrees_with_the_code() -> None:
    assert check_aws().problems == []


def test_the_env_scan_finds_every_variable_config_reads() -> None:
    constants = {k: v for k, v in vars(shared.setting_names).items() if k.startswith("ENV_")}
    assert config_env_names() == constants
    # every exemption names a variable that exists
    assert set(OPTIONAL_ENV) <= set(constants.values())
    assert set(PLATFORM_ENV["scf"]) <= set(constants.values())


@pytest.mark.parametrize("expression", [
    "0 */1 * * * * *", "0 5 */1 * * * *", "0 0 2 1 * * *", "0 30 9 * * MON-FRI *",
    "0 0 0 1 JAN,JUL * 2030", "*/10 0-59/5 8-18 1,15 1-12 0-6 *",
    # the older 5-field syntax (minute hour day month weekday), documented beside it
    "*/5 * * * *", "30 9 * * MON-FRI", "0 0 1 JAN,JUL *",
], ids=lambda e: e.replace(" ", "_"))
def test_valid_scf_crons(expression: str) -> None:
    assert cron_problems(expression) == []


@pytest.mark.parametrize("expression, problem", [
    ("0 */1 * * * *", "has 7 fields"),  # 6 fields: neither syntax
    ("* * * *", "or 5"),
    ("60 * * * *", "minute"),  # 5 fields: the first is the minute
    ("0 0 * * 7", "weekday"),
    ("60 * * * * * *", "second"),
    ("0 0 24 * * * *", "hour"),
    ("0 0 0 0 * * *", "day"),
    ("0 0 0 1 13 * *", "month"),
    ("0 0 0 * * 7 *", "weekday"),
    ("0 */0 * * * * *", "bad step"),
    ("0 1-2-3 * * * * *", "bad range"),
], ids=["6-fields", "4-fields", "minute-5", "weekday-5", "second", "hour", "day", "month",
        "weekday", "step", "range"])
def test_invalid_scf_crons(expression: str, problem: str) -> None:
    problems = cron_problems(expression)
    assert problems and problem in problems[0]


Mutation = Callable[[dict[str, Any]], None]


def _scf_fn(doc: dict[str, Any], key: str) -> dict[str, Any]:
    fn: dict[str, Any] = doc["inputs"]["functions"][key]
    return fn


def _scf_env(doc: dict[str, Any], key: str) -> dict[str, Any]:
    fn = _scf_fn(doc, key)
    fn["environment"] = copy.deepcopy(fn["environment"])  # un-share the YAML alias
    variables: dict[str, Any] = fn["environment"]["variables"]
    return variables


SCF_BREAKAGES: dict[str, tuple[Mutation, str]] = {
    "handler-moved": (lambda d: _scf_fn(d, "poll").update(handler="functions.poll.handler"),
                      "handler"),
    "cron-6-fields": (lambda d: d["inputs"]["triggers"][0]["parameters"].update(
        cronExpression="0 */1 * * * *"), "7 fields"),
    "state-url-missing": (lambda d: _scf_env(d, "create").pop("COURIER_STATE_URL"),
                          "COURIER_STATE_URL"),
    "typo": (lambda d: _scf_env(d, "create").update(COURIER_LEASE="120"), "COURIER_LEASE"),
    "bad-value": (lambda d: _scf_env(d, "complete").update(COURIER_LEASE_S="1"),
                  "settings rejected"),
    "wrong-target": (lambda d: _scf_env(d, "poll").update(
        COURIER_COMPLETE_FUNCTION="default/other"), "not the complete function"),
    "timeout": (lambda d: _scf_fn(d, "complete").update(timeout=1200), "timeout"),
    "memory": (lambda d: _scf_fn(d, "poll").update(memorySize=300), "memorySize"),
    "source": (lambda d: d["inputs"]["src"].update(src="./"), "built package"),
    "apigw-trigger": (lambda d: d["inputs"]["triggers"].append(
        {"type": "apigw", "parameters": {"name": "old"}}), "retired"),
    "url-unreachable": (lambda d: _scf_url(d).update(netConfig={}), "enableExtranet"),
    "url-auth": (lambda d: _scf_url(d).update(authType="APIKEY"), "authType"),
    "url-missing": (lambda d: d["inputs"].update(triggers=[
        t for t in d["inputs"]["triggers"] if t["type"] != "http"]), "exactly one http"),
    "url-on-poll": (lambda d: d["inputs"]["triggers"].append(
        {"type": "http", "function": "poll", "parameters": {}}), "exactly one http"),
    "trigger-unknown-function": (lambda d: d["inputs"]["triggers"][0].update(function="pol"),
                                 "'pol' is not one of"),
}


def _scf_url(doc: dict[str, Any]) -> dict[str, Any]:
    url = next(t for t in doc["inputs"]["triggers"] if t["type"] == "http")
    params: dict[str, Any] = url["parameters"]
    return params


def _broken(descriptor: Path, mutate: Mutation, tmp_path: Path) -> Path:
    """A copy of ``descriptor`` with one breakage in it."""
    doc = load_yaml(descriptor)
    mutate(doc)
    broken = tmp_path / "serverless.yml"
    broken.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return broken


@pytest.mark.parametrize("name", sorted(SCF_BREAKAGES), ids=sorted(SCF_BREAKAGES))
def test_scf_check_catches(name: str, tmp_path: Path) -> None:
    mutate, expected = SCF_BREAKAGES[name]
    problems = check_scf(_broken(SCF_DESCRIPTOR, mutate, tmp_path)).problems
    assert any(expected in p for p in problems), problems


AWS_BREAKAGES: dict[str, tuple[Mutation, str]] = {
    "handler-missing": (lambda d: d["functions"]["create"].update(
        handler="functions/create.handler"), "not found"),
    "runtime": (lambda d: d["provider"].update(runtime="python3.8"), "runtime"),
    "dispatch-typo": (lambda d: d["provider"]["environment"].update(COURIER_DISPATCH="sqs"),
                      "settings rejected"),
    "unlisted": (lambda d: d["provider"]["environment"].pop("COURIER_API_KEYS"),
                 "COURIER_API_KEYS"),
    "ui-unrouted": (lambda d: d["functions"]["create"].update(events=[
        e for e in d["functions"]["create"]["events"]
        if (e.get("httpApi") or {}).get("path") != "/ui"]), "no httpApi route for GET /ui"),
}


@pytest.mark.parametrize("name", sorted(AWS_BREAKAGES), ids=sorted(AWS_BREAKAGES))
def test_aws_check_catches(name: str, tmp_path: Path) -> None:
    mutate, expected = AWS_BREAKAGES[name]
    problems = check_aws(_broken(AWS_DESCRIPTOR, mutate, tmp_path)).problems
    assert any(expected in p for p in problems), problems


def test_sample_timer_events_name_the_descriptors_triggers() -> None:
    scf = scf_functions(load_yaml(SCF_DESCRIPTOR), {})
    assert load_event("scf_timer")["TriggerName"] in {n for n, _ in scf["poll"].crons}
    aws = aws_functions(load_yaml(AWS_DESCRIPTOR), stage="prod")
    rule = load_event("aws_eventbridge_scheduled")["resources"][0].rsplit("/", 1)[-1]
    assert rule in {n for n, _ in aws["poll"].crons}


def _api_routes() -> set[tuple[str, str]]:
    """Every route the HTTP API serves: the app's own and those of the routers it includes."""
    routes = set()
    for module in sorted((ROOT / "shared" / "http").glob("*.py")):
        source = module.read_text(encoding="utf-8")
        routes |= {(m.upper(), re.sub(r"<[^>]+>", "{}", p)) for m, p in re.findall(
            r"@(?:app|r)\.(get|post|put|delete)\(\"([^\"]+)\"", source)}
    return routes


def test_every_api_route_is_exposed_on_both_platforms() -> None:
    routes = _api_routes()
    assert {("POST", "/exports"), ("POST", "/deliveries/{}/resend")} <= routes
    # SCF: one function URL passes every method and path to create, whose router answers;
    # so the URL must be on create, reachable, and create must serve each route.
    urls = [t for t in scf_triggers(load_yaml(SCF_DESCRIPTOR)) if t.type == "http"]
    assert [u.function for u in urls] == ["create"]
    assert urls[0].parameters["netConfig"]["enableExtranet"] is True
    assert urls[0].parameters.get("authType", "NONE") == "NONE"  # Courier checks keys itself
    aws = load_yaml(AWS_DESCRIPTOR)
    aws_routes = {(e["httpApi"]["method"], re.sub(r"\{[^}]+\}", "{}", e["httpApi"]["path"]))
                  for e in aws["functions"]["create"]["events"] if "httpApi" in e}
    assert routes <= aws_routes


def test_every_api_route_answers_through_the_function_url_event() -> None:
    """Each route, sent as an SCF function URL event, reaches a route of the app (not 404)."""
    from shared.bundle import Bundle
    from shared.config import Settings

    api = Bundle(Settings(profile="sandbox", auth="none",
                          state_url="sqlite:///:memory:")).api
    for method, path in sorted(_api_routes()):
        event = load_event("scf_function_url_get_export", method=method,
                           path=path.replace("{}", "exp_nope"))
        answer = api.handle(event, None)
        body = answer["body"]
        assert "no such route" not in body, (method, path, body)


def _state_table() -> dict[str, Any]:
    aws = load_yaml(AWS_DESCRIPTOR)
    table: dict[str, Any] = aws["resources"]["Resources"]["StateTable"]["Properties"]
    return table


def test_aws_state_table_is_the_one_the_store_uses() -> None:
    from shared.state.dynamodb_items import TTL_ATTRIBUTE, table_definition

    table = _state_table()
    wanted = table_definition()

    def by(key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {item[key]: item for item in items}

    assert by("AttributeName", table["AttributeDefinitions"]) == by(
        "AttributeName", wanted["AttributeDefinitions"])
    assert table["KeySchema"] == wanted["KeySchema"]
    assert by("IndexName", table["GlobalSecondaryIndexes"]) == by(
        "IndexName", wanted["GlobalSecondaryIndexes"])
    assert table["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}


# DynamoDB calls of the store -> the IAM actions they need (a transaction needs the actions
# of the writes inside it)
IAM_FOR_CALL = {
    "get_item": {"GetItem"}, "put_item": {"PutItem"}, "update_item": {"UpdateItem"},
    "delete_item": {"DeleteItem"}, "query": {"Query"}, "batch_write_item": {"BatchWriteItem"},
    "batch_get_item": {"BatchGetItem"},
    "transact_write_items": {"PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"},
}


# S3 calls of the destination store -> the IAM actions they need
S3_IAM_FOR_CALL = {
    "head_object": {"GetObject"}, "get_object": {"GetObject"},
    "get_object_tagging": {"GetObjectTagging"}, "put_object_tagging": {"PutObjectTagging"},
    "delete_object_tagging": {"DeleteObjectTagging"}, "put_object": {"PutObject"},
    "create_multipart_upload": {"PutObject"}, "upload_part": {"PutObject"},
    "complete_multipart_upload": {"PutObject"},
    "abort_multipart_upload": {"AbortMultipartUpload"},
    "copy_object": {"PutObject", "GetObject"}, "upload_part_copy": {"PutObject", "GetObject"},
    "generate_presigned_url": {"GetObject"},
    "delete_object": {"DeleteObject"},  # the destination probe's own objects only
}


@pytest.mark.parametrize("module, call, service, iam_for_call, must", [
    ("shared/state/dynamodb.py", r"_call\(\"([a-z_]+)\"", "dynamodb", IAM_FOR_CALL,
     {"get_item", "query", "transact_write_items"}),
    # the S3 store's own calls and those it inherits from the S3/COS base
    ("shared/storage/s3.py shared/storage/s3like.py", r"client\.([a-z_]+)\b", "s3",
     S3_IAM_FOR_CALL, {"upload_part", "put_object_tagging", "get_object_tagging",
                       "complete_multipart_upload", "abort_multipart_upload"}),
])
def test_aws_role_allows_every_call_the_code_makes(module: str, call: str, service: str,
                                                   iam_for_call: dict[str, set[str]],
                                                   must: set[str]) -> None:
    source = "\n".join((ROOT / m).read_text(encoding="utf-8") for m in module.split())
    calls = set(re.findall(call, source))
    assert must <= calls  # the pattern still finds the calls
    assert calls <= set(iam_for_call), calls - set(iam_for_call)
    aws = load_yaml(AWS_DESCRIPTOR)
    allowed = {a.split(":", 1)[1] for st in aws["provider"]["iam"]["role"]["statements"]
               for a in st["Action"] if a.startswith(service + ":")}
    needed = set().union(*(iam_for_call[c] for c in calls))
    assert needed <= allowed, needed - allowed


def test_aws_role_reads_the_secret_stores_under_their_prefix_only() -> None:
    from shared.secret_stores import ROLE_ACTIONS

    aws = load_yaml(AWS_DESCRIPTOR)
    statements = aws["provider"]["iam"]["role"]["statements"]
    for store, marker in (("secretsmanager", ":secret:"), ("ssm", ":parameter/")):
        [action] = ROLE_ACTIONS[store]
        [granted] = [st for st in statements if action in st["Action"]]
        assert granted["Action"] == [action]
        resource = json.dumps(granted["Resource"])
        assert f"{marker}${{self:custom.secretsPrefix}}*" in resource
    assert aws["custom"]["secretsPrefix"] == "${env:COURIER_SECRETS_PREFIX, 'courier/'}"


def test_tencent_store_actions_are_the_calls_the_code_makes() -> None:
    from shared.secret_stores import ROLE_ACTIONS

    source = (ROOT / "shared" / "secret_stores" / "tencent.py").read_text(encoding="utf-8")
    calls = set(re.findall(r"client\.([A-Z][A-Za-z]+)\(", source))
    assert calls == {a.split(":", 1)[1] for a in ROLE_ACTIONS["tencent-ssm"]}
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for action in {a for actions in ROLE_ACTIONS.values() for a in actions}:
        assert f"`{action}`" in guide, action


def test_deploy_guide_lists_every_dms_action_courier_calls() -> None:
    from shared.providers.alibaba import ACTIONS

    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"`dms:([A-Za-z]+)`", guide))
    assert "ListOrders" in ACTIONS
    assert set(ACTIONS) <= listed, set(ACTIONS) - listed
