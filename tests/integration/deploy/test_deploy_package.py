"""The deployment zips: built for real (pip, Linux wheels), unzipped, imported by a fresh
interpreter of the runtime's Python version with nothing else installed."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.localrun import clean_env, fresh_python, runtime_path, unpack
from deploy.package import TARGETS, BuildResult, build
from tests.events import load_event
from tests.integration.deploy.packaged import handler_specs, probe

# Building both zips (pip for two runtimes) is most of this module's time and falls in its
# first test; under load it can pass the suite's 120 s default.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

DEV_ONLY = ("tests/", "sandbox/", "bench/", "events/", "deploy/", "courier/", "pytest/",
            "_pytest/", "moto/", ".venv/")


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: required)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("packages")


@pytest.fixture(scope="module")
def packages(package_builds: Callable[..., BuildResult]) -> dict[str, BuildResult]:
    return {name: package_builds(name) for name in sorted(TARGETS)}


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_package_holds_the_code_and_its_dependencies_only(packages: dict[str, BuildResult],
                                                          target: str) -> None:
    result = packages[target]
    with zipfile.ZipFile(result.zip_path) as zf:
        names = zf.namelist()
        assert zf.testzip() is None
    tops = {n.split("/", 1)[0] for n in names}
    assert {"shared", "functions", "tencentcloud", "aws_lambda_powertools"} <= tops
    assert not [n for n in names if n.startswith(DEV_ONLY)]
    if target == "scf":
        assert {"create_export.py", "poll_tasks.py", "complete_export.py"} <= tops
        assert "boto3" in tops  # an S3 destination from SCF needs it
        assert "tencentcloud/ssm/v20190923/ssm_client.pyc" in names  # tencent-ssm: settings
    else:
        assert not tops & {"boto3", "botocore", "s3transfer"}  # the runtime's
        assert "jmespath" in tops  # Powertools imports it itself
    assert result.files == len([n for n in names if not n.endswith("/")])
    assert 0 < result.zip_bytes < result.unzipped_bytes


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_fresh_runtime_imports_every_handler_and_module(packages: dict[str, BuildResult],
                                                        workdir: Path, target: str) -> None:
    version = TARGETS[target].python
    where = workdir / f"run-{target}"
    python = fresh_python(version, where)
    if python is None:
        _missing(f"no CPython {version} on this machine to stand in for the {target} runtime")
    assert python is not None
    task = unpack(packages[target].zip_path, where)
    report = probe(python, runtime_path(target, task, where), handler_specs(target), cwd=where)
    assert report["version"] == version
    assert report["handlers"] == {"create": True, "poll": True, "complete": True}
    failed = {k: v for k, v in report["modules"].items() if v is not True}
    assert failed == {}
    assert "shared.runtime.dispatch" in report["modules"]
    assert all(Path(p).is_relative_to(task) for p in report["paths"].values())
    assert all(report["absent"].values()), report["absent"]



SERVE = r"""
import json, sys
from functions.create_export import handler
for event in json.loads(sys.stdin.read()):
    answer = handler(event, None)
    print(json.dumps([answer["statusCode"], json.loads(answer["body"])]))
"""


def answers(stdout: str) -> list[Any]:
    """SERVE's lines (JSON lists), without the handler's metric lines (JSON objects)."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("[")]


def test_package_for_chosen_providers_serves_them_and_refuses_the_rest(
        packages: dict[str, BuildResult], workdir: Path, sandbox: Any, tmp_path: Path) -> None:
    settings_dir = workdir / "my-config"
    settings_dir.mkdir()
    now = 1_763_800_000_000
    (settings_dir / "schedules.json").write_text(json.dumps([
        {"name": "cls-hourly", "provider": "cls", "params": {"TopicId": "topic-a"}}]))
    trimmed = build("lambda", workdir / "dist-cls", providers=("cls",), state=("sqlite",),
                    destinations=("file", "cos"), secret_stores=("secretsmanager",),
                    config=(settings_dir,))
    with zipfile.ZipFile(trimmed.zip_path) as zf:
        names = set(zf.namelist())
    tops = {n.split("/", 1)[0] for n in names}
    assert not tops & {"alibabacloud_dms_enterprise20181101", "aiohttp", "psycopg",
                       "psycopg_binary", "pymysql", "alibabacloud_oss_v2"}
    assert "qcloud_cos" in tops
    sdks = {n.split("/")[1] for n in names if n.startswith("tencentcloud/") and n.count("/") > 1}
    assert sdks == {"common", "cls", "scf"}  # no tencent-ssm: its SDK stays out
    assert "config/schedules.json" in names
    assert "secrets=secretsmanager" in trimmed.summary()
    assert trimmed.unzipped_bytes < packages["lambda"].unzipped_bytes
    # dependencies ship as bytecode only; our own code keeps its sources
    assert "tencentcloud/cls/v20201016/models.pyc" in names
    assert "tencentcloud/cls/v20201016/models.py" not in names
    assert "shared/exports.py" in names

    where = workdir / "run-cls"
    python = fresh_python(TARGETS["lambda"].python, where)
    if python is None:
        _missing(f"no CPython {TARGETS['lambda'].python} on this machine to stand in for "
                 "the lambda runtime")
    assert python is not None
    task = unpack(trimmed.zip_path, where)
    secret_id, secret_key = sandbox.credentials
    env = clean_env(runtime_path("lambda", task, where), COURIER_PROFILE="sandbox",
                    COURIER_AUTH="none", COURIER_STATE_URL=f"sqlite:///{tmp_path / 's.db'}",
                    COURIER_DESTINATION=f"file://{tmp_path / 'bucket'}",
                    COURIER_ALLOW_PRIVATE_HOSTS="127.0.0.1", TENCENTCLOUD_SECRETID=secret_id,
                    TENCENTCLOUD_SECRETKEY=secret_key, COURIER_TENCENT_ENDPOINT=sandbox.url,
                    POWERTOOLS_LOG_LEVEL="ERROR",
                    # relative to the package root, wherever the process runs
                    COURIER_SCHEDULES="file:config/schedules.json")
    events = [load_event("aws_http_api_post_exports", body=body) for body in (
        {"provider": "dms", "params": {"Tid": 1, "DbId": 2, "InstanceId": 77,
                                       "ExeSQL": "SELECT 1"}},
        {"provider": "cls", "params": {"TopicId": "topic-a", "From": now - 3_600_000,
                                       "To": now}})]
    done = subprocess.run([str(python), "-c", SERVE], input=json.dumps(events), cwd=where,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    (dms_status, dms), (cls_status, cls) = answers(done.stdout)[-2:]
    assert (dms_status, dms.get("field")) == (400, "provider"), dms
    assert "not in this deployment" in dms["message"]
    assert (cls_status, cls["state"]) == (202, "submitted")
    assert sandbox.calls[("cls", "CreateExport")] == 1

    # a state store whose driver was left out is refused, naming the setting and the driver
    env["COURIER_STATE_URL"] = "postgresql://courier@127.0.0.1:5432/courier"
    done = subprocess.run([str(python), "-c", SERVE], input=json.dumps(events[1:]), cwd=where,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    status, answer = answers(done.stdout)[-1]
    assert status == 503
    assert "COURIER_STATE_URL" in answer["message"] and "psycopg" in answer["message"]


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_full_package_creates_a_dms_export_through_its_sdk(packages: dict[str, BuildResult],
                                                          workdir: Path, sandbox: Any,
                                                          tmp_path: Path, target: str) -> None:
    """The DMS SDK from the package, whose aiohttp family ships without C accelerators."""
    with zipfile.ZipFile(packages[target].zip_path) as zf:
        assert not [n for n in zf.namelist() if n.startswith(("aiohttp/", "yarl/", "multidict/"))
                    and n.endswith(".so")]
    where = workdir / f"run-{target}"
    python = fresh_python(TARGETS[target].python, where)
    if python is None:
        _missing(f"no CPython {TARGETS[target].python} here to stand in for {target}")
    assert python is not None
    task = unpack(packages[target].zip_path, workdir / f"dms-{target}")
    ali_key, ali_secret = sandbox.dms.credentials
    env = clean_env(runtime_path(target, task, where), COURIER_PROFILE="sandbox",
                    COURIER_AUTH="none", COURIER_STATE_URL=f"sqlite:///{tmp_path / 's.db'}",
                    COURIER_DESTINATION=f"file://{tmp_path / 'bucket'}",
                    ALIBABA_CLOUD_ACCESS_KEY_ID=ali_key,
                    ALIBABA_CLOUD_ACCESS_KEY_SECRET=ali_secret,
                    COURIER_DMS_ENDPOINT=sandbox.url, POWERTOOLS_LOG_LEVEL="ERROR")
    events = [load_event("aws_http_api_post_exports", body={
        "provider": "dms", "params": {"Tid": 1, "DbId": 9, "InstanceId": 77,
                                      "ExeSQL": "SELECT * FROM t"}})]
    if target == "scf":
        events = [load_event("scf_apigw_post_exports", body=events[0]["body"])]
    done = subprocess.run([str(python), "-c", SERVE], input=json.dumps(events), cwd=where,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    status, created = answers(done.stdout)[-1]
    assert (status, created["state"]) == (202, "submitted"), created
    assert created["remote"]["OrderId"] > 0
    assert sandbox.calls[("dms", "CreateDataExportOrder")] == 1
