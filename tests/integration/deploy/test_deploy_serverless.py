"""`serverless package` for real (Serverless Framework v3 from npm), run the way docs/deploy.md
says — from ``deploy/aws`` — offline with fake credentials, then the CloudFormation template it
wrote is checked.

The run happens in a copy of the repository's layout: the Tencent ``serverless.yml`` at the top
(which Serverless v3 refuses to run, and must therefore never be the one it reads),
``deploy/aws/`` as it is in the tree, and a stand-in ``dist/lambda/courier.zip`` two levels up,
where the descriptor's ``package.artifact`` points."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from deploy.descriptors import (
    AWS_DESCRIPTOR,
    ROOT,
    SAMPLE_DEPLOY_ENV,
    SCF_DESCRIPTOR,
    Report,
    check_env,
    check_settings,
    module_handler_exists,
)
from deploy.package import TARGETS

pytestmark = pytest.mark.integration

INSTALLER = ROOT / "deploy" / "install_serverless.sh"
LOCAL_BIN = ROOT / "deploy" / ".tools" / "node_modules" / ".bin" / "serverless"


def _serverless() -> Path:
    override = os.environ.get("SERVERLESS_BIN")
    if override:
        return Path(override)
    if not LOCAL_BIN.exists() and os.environ.get("CI") == "true" and shutil.which("npm"):
        subprocess.run(["bash", str(INSTALLER)], check=False, timeout=600)  # noqa: S603,S607
    if LOCAL_BIN.exists():
        return LOCAL_BIN
    reason = "Serverless Framework v3 is not installed: run bash deploy/install_serverless.sh"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: required)")
    pytest.skip(reason)


GUIDE = ROOT / "docs" / "deploy.md"
DOCUMENTED = "cd deploy/aws && serverless deploy --stage prod --region eu-west-1"


def test_the_guide_documents_the_command_this_test_runs() -> None:
    guide = GUIDE.read_text(encoding="utf-8")
    assert DOCUMENTED in guide
    assert "--config" not in guide  # v3 reads ./serverless.yml whatever --config says


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    binary = _serverless()
    repo = tmp_path_factory.mktemp("repo")
    shutil.copy2(SCF_DESCRIPTOR, repo / "serverless.yml")
    shutil.copytree(AWS_DESCRIPTOR.parent, repo / "deploy" / "aws",
                    ignore=shutil.ignore_patterns(".serverless", "node_modules"))
    service = repo / "deploy" / "aws"
    # The artifact only has to exist for `package`; our sources stand in for the full build.
    artifact = repo / "dist" / "lambda" / "courier.zip"
    artifact.parent.mkdir(parents=True)
    with zipfile.ZipFile(artifact, "w") as zf:
        for package in ("shared", "functions"):
            for path in sorted((ROOT / package).rglob("*.py")):
                zf.write(path, path.relative_to(ROOT).as_posix())
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(repo),
        "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off",
        "SLS_DEPRECATION_DISABLE": "*", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEFAKE000",
        "AWS_SECRET_ACCESS_KEY": "fake-secret", "AWS_REGION": "eu-west-1",
        **SAMPLE_DEPLOY_ENV,
    }
    # The documented command, with `package` (build the stack locally) in place of `deploy`.
    command = DOCUMENTED.split("&& ", 1)[1].replace("serverless deploy", "package").split()
    done = subprocess.run(  # noqa: S603
        [str(binary), *command], cwd=service, env=env, capture_output=True, text=True,
        timeout=180, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "no longer bundled" not in output and "Tencent" not in output, output[-3000:]
    path = service / ".serverless" / "cloudformation-template-update-stack.json"
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data["_artifact_names"] = zipfile.ZipFile(artifact).namelist()
    data["_packaged"] = sorted(p.name for p in (service / ".serverless").iterdir())
    return data


def test_the_stack_uploads_the_built_package(template: dict[str, Any]) -> None:
    functions = _of_type(template, "AWS::Lambda::Function")
    keys = {json.dumps(f["Properties"]["Code"]["S3Key"]) for f in functions.values()}
    assert len(keys) == 1 and "courier.zip" in keys.pop()  # one artifact, ours, for all three
    assert len(template["Resources"]) >= 30


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_template_names_the_three_handlers_which_exist(template: dict[str, Any]) -> None:
    functions = _of_type(template, "AWS::Lambda::Function")
    handlers = {f["Properties"]["Handler"] for f in functions.values()}
    assert handlers == {TARGETS["lambda"].handler(k) for k in ("create", "poll", "complete")}
    for handler in handlers:
        assert module_handler_exists(handler), handler
        assert handler.rsplit(".", 1)[0] + ".py" in template["_artifact_names"]
    for fn in functions.values():
        assert fn["Properties"]["Runtime"] == f"python{TARGETS['lambda'].python}"


def test_template_environment_passes_the_settings_check(template: dict[str, Any]) -> None:
    report = Report()
    for name, fn in _of_type(template, "AWS::Lambda::Function").items():
        env = fn["Properties"]["Environment"]["Variables"]
        assert all(isinstance(v, str) for v in env.values()), name
        check_env(env, "lambda", report, name)
        check_settings(env, report, name)
        assert env["COURIER_COMPLETE_FUNCTION"] == "export-courier-prod-complete"
        assert env["COURIER_STATE_URL"] == "dynamodb://export-courier-prod-state"
    assert report.problems == []


def test_complete_is_async_with_bounded_retries_and_a_failure_queue(
        template: dict[str, Any]) -> None:
    configs = _of_type(template, "AWS::Lambda::EventInvokeConfig")
    complete = next(c["Properties"] for c in configs.values()
                    if c["Properties"]["FunctionName"] == {"Ref": "CompleteLambdaFunction"})
    assert complete["MaximumRetryAttempts"] == 2
    assert complete["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["CompleteFailures", "Arn"]}
    rules = _of_type(template, "AWS::Events::Rule")
    targets = {r["Properties"]["Name"]: r["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]
               for r in rules.values()}
    assert targets["export-courier-prod-poll"] == "PollLambdaFunction"
    assert "CompleteLambdaFunction" not in targets.values()  # no trigger of its own
    assert "DynamoDB" in template["Resources"]["StateTable"]["Type"]


# Actions IAM grants only on '*' (they name no resource: listing and cancelling export
# tasks, listing log groups); nothing else may have '*'.
STAR_ONLY = {"logs:DescribeExportTasks", "logs:CancelExportTask", "logs:DescribeLogGroups"}


def test_iam_is_least_privilege(template: dict[str, Any]) -> None:
    role = template["Resources"]["IamRoleLambdaExecution"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [
            statement["Action"]]
        assert not any(a.endswith(":*") or a == "*" for a in actions), statement
        text = json.dumps(statement["Resource"])
        assert text != '"*"' or set(actions) <= STAR_ONLY, statement
        if "logs:CreateExportTask" in actions:
            assert ":log-group:" in text
        if "lambda:InvokeFunction" in actions:
            assert "export-courier-prod-complete" in text
            assert actions == ["lambda:InvokeFunction"]
        if actions == ["s3:DeleteObject"] and "courier-probe-*" in text:
            # the probe's own objects and unpacked archives' raw copies, nothing else
            bucket = SAMPLE_DEPLOY_ENV["COURIER_BUCKET"]
            assert [json.dumps(r) for r in statement["Resource"]] == [
                json.dumps(r) for r in statement["Resource"]
                if f"{bucket}/exports/courier-probe-*" in json.dumps(r)
                or f"{bucket}/exports/raw/*" in json.dumps(r)], statement
            assert len(statement["Resource"]) == 2, statement
            continue
        if any(a.startswith("s3:") for a in actions):
            bucket = SAMPLE_DEPLOY_ENV["COURIER_BUCKET"]
            # the destination prefix, or the cloudwatch staging prefix (listing it only
            # under that prefix)
            assert (f"{bucket}/exports/*" in text or f"{bucket}/courier-staging/*" in text
                    or (actions == ["s3:ListBucket"] and "courier-staging/*" in json.dumps(
                        statement.get("Condition", {})))), statement
        if any(a.startswith("dynamodb:") for a in actions):
            assert "StateTable" in text
        if any(a.startswith(("secretsmanager:", "ssm:")) for a in actions):
            assert actions in (["secretsmanager:GetSecretValue"], ["ssm:GetParameter"])
            assert ":secret:courier/*" in text or ":parameter/courier/*" in text, statement


def test_http_api_routes_reach_create(template: dict[str, Any]) -> None:
    routes = {r["Properties"]["RouteKey"] for r in
              _of_type(template, "AWS::ApiGatewayV2::Route").values()}
    assert routes == {"POST /exports", "GET /exports", "GET /exports/{id}",
                      "POST /exports/{id}/cancel", "POST /exports/{id}/retry",
                      "POST /exports/{id}/check", "GET /exports/{id}/deliveries",
                      "POST /deliveries/{id}/resend", "POST /endpoints/recover",
                      "GET /ui", "GET /openapi.json", "GET /summary"}


def test_each_function_logs_to_its_own_group_with_a_retention(template: dict[str, Any]) -> None:
    groups = {g["Properties"]["LogGroupName"]: g["Properties"]
              for g in _of_type(template, "AWS::Logs::LogGroup").values()}
    assert set(groups) == {f"/aws/lambda/export-courier-prod-{k}"
                           for k in ("create", "poll", "complete")}
    assert {g["RetentionInDays"] for g in groups.values()} == {30}
    guide = GUIDE.read_text(encoding="utf-8")
    assert "/aws/lambda/export-courier-prod-complete" in guide and "30 days" in guide
