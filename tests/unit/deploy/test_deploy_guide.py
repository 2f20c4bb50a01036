"""docs/deploy.md's operator sections hold: the VPC example deploys as VpcConfig, the alarm
table names metrics Courier emits, and the Tencent commands and files it shows exist and run."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.descriptors import ROOT, SAMPLE_DEPLOY_ENV, SCF_DESCRIPTOR, check_scf
from deploy.scf_code import BUCKET_ENV, PREFIX_ENV, REGION_ENV
from deploy.scf_deploy import function_request, plan_warnings
from deploy.spec import load_yaml, scf_plan
from shared.runtime import metrics

GUIDE = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
VPC_ENV = {"COURIER_SCF_VPC_ID": "vpc-0abc1234", "COURIER_SCF_SUBNET_ID": "subnet-0def5678"}


def _section(title: str) -> str:
    start = GUIDE.index(title)
    end = GUIDE.find("\n#", start + len(title))
    return GUIDE[start:end if end > 0 else None]


def _vpc_example() -> dict[str, Any]:
    block = re.search(r"```yaml\n(.*?)```", _section("### VPC for a TencentDB state store"),
                      re.S)
    assert block, "the VPC section shows a yaml block"
    example: dict[str, Any] = yaml.safe_load(textwrap.dedent(block.group(1)))
    return example


def _descriptor_with(tmp_path: Path, functions: dict[str, Any]) -> Path:
    doc = load_yaml(SCF_DESCRIPTOR)
    for key, extra in functions.items():
        doc["inputs"]["functions"][key].update(extra)
    path = tmp_path / "serverless.yml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def test_the_vpc_example_reaches_every_function_as_vpcconfig(tmp_path: Path) -> None:
    example = _vpc_example()
    assert set(example) == {"create", "poll", "complete"}
    path = _descriptor_with(tmp_path, example)
    assert check_scf(path).problems == []
    plan = scf_plan(load_yaml(path), {**SAMPLE_DEPLOY_ENV, **VPC_ENV})
    for fn in plan.functions.values():
        assert function_request(plan, fn, "0" * 64)["VpcConfig"] == {
            "VpcId": "vpc-0abc1234", "SubnetId": "subnet-0def5678"}
    assert plan_warnings(plan) == []


def test_a_private_database_without_a_vpc_is_warned_about() -> None:
    plan = scf_plan(load_yaml(SCF_DESCRIPTOR), dict(SAMPLE_DEPLOY_ENV))  # 10.0.0.8, no vpc
    (warning,) = plan_warnings(plan)
    assert "10.0.0.8" in warning and "have no vpc" in warning
    assert all(fn.name in warning for fn in plan.functions.values())
    public = {**SAMPLE_DEPLOY_ENV, "COURIER_STATE_URL": "postgresql://u:p@db.example.com/c"}
    assert plan_warnings(scf_plan(load_yaml(SCF_DESCRIPTOR), public)) == []


@pytest.mark.parametrize("vpc, expected", [
    ({"vpcId": "vpc-1"}, "vpc needs subnetId"),
    ({"vpcId": "vpc-1", "subnetId": "subnet-1", "securityGroup": "sg-1"},
     "vpcId and subnetId only"),
    ({"vpcId": "10.0.0.0/16", "subnetId": "subnet-1"}, "should look like vpc-"),
], ids=["no-subnet", "extra-key", "not-an-id"])
def test_the_descriptor_check_catches_a_bad_vpc(vpc: dict[str, str], expected: str,
                                                tmp_path: Path) -> None:
    problems = check_scf(_descriptor_with(tmp_path, {"poll": {"vpc": vpc}})).problems
    assert any(expected in p for p in problems), problems


def test_the_alarm_table_names_metrics_courier_emits() -> None:
    emitted = {v for k, v in vars(metrics).items() if k.isupper() and isinstance(v, str)
               and re.fullmatch(r"[A-Z][A-Za-z]+", v)}
    table = _section("### Alarms worth setting")
    named = set(re.findall(r"^\| [^|]+ \| `([A-Za-z]+)`", table, re.M))
    assert {"WebhookDeadLetters", "ExportsFailed", "PollLagSeconds", "ProviderThrottles"} <= named
    assert named <= emitted, named - emitted


def test_the_tencent_commands_and_files_shown_exist() -> None:
    tencent = _section("## 2a. Tencent Cloud SCF")
    commands = re.search(r"```sh\n(.*?)```", tencent, re.S)
    assert commands
    lines = [line.split("#", 1)[0].strip() for line in commands.group(1).splitlines()]
    # the commands tests/integration/deploy/test_courier_deploy_scf*.py run
    assert ".venv/bin/courier deploy scf --dry-run" in lines
    assert ".venv/bin/courier deploy scf" in lines
    for name in (BUCKET_ENV, REGION_ENV, PREFIX_ENV):
        assert f"`{name}`" in GUIDE
    for path in re.findall(r"`(deploy/(?:tencent|alibaba)/[\w.-]+\.json)`", GUIDE):
        assert (ROOT / path).is_file(), path


def test_the_documented_policy_check_runs() -> None:
    assert "python deploy/policies.py" in GUIDE
    done = subprocess.run([sys.executable, str(ROOT / "deploy" / "policies.py")],  # noqa: S603
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "policies: agree with the code" in done.stdout
