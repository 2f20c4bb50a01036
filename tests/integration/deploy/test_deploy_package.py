"""The deployment zips: built for real (pip, Linux wheels), unzipped, imported by a fresh
interpreter of the runtime's Python version with nothing else installed."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.localrun import fresh_python, runtime_path, unpack
from deploy.package import TARGETS, BuildResult, build
from tests.integration.deploy.packaged import handler_specs, probe

pytestmark = pytest.mark.integration

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
def packages(workdir: Path) -> dict[str, BuildResult]:
    return {name: build(name, workdir / "dist") for name in sorted(TARGETS)}


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
    assert "shared.dispatch" in report["modules"]
    assert all(Path(p).is_relative_to(task) for p in report["paths"].values())
    assert all(report["absent"].values()), report["absent"]

