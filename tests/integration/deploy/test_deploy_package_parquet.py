"""The Parquet converter is packaged apart: the core zips carry no DuckDB, a zip built
``--with-parquet`` carries the locked one (wheels for ``manylinux2014_x86_64``) within the
platforms' size limits, and a fresh interpreter of the runtime's Python converts with it;
the core zip's functions refuse ``format: parquet`` saying how to build the other."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.localrun import clean_env, fresh_python, runtime_path, unpack
from deploy.lockfile import lock_path, read
from deploy.package import LAMBDA_UNZIPPED_LIMIT, SCF_UNZIPPED_LIMIT, TARGETS, BuildResult
from tests.events import load_event

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

LIMITS = {"lambda": LAMBDA_UNZIPPED_LIMIT, "scf": SCF_UNZIPPED_LIMIT}
HINT = "make package PACKAGE_ARGS=--with-parquet"

CONVERT = r"""
import json
import duckdb
from shared.convert.parquet import ParquetConverter
csv = b"seq,amount,at\n" + b"".join(
    f"{i},{i * 0.5},2026-11-20 07:00:{i % 60:02d}\n".encode() for i in range(1000))
with ParquetConverter(64 * 1024 * 1024) as converter:
    made = [converter.convert(converter.spool(name, iter([data])))
            for name, data in (("a.csv", csv), ("b.json", b'{"seq": 1}\n{"seq": 2}\n'))]
    print(json.dumps({"duckdb": duckdb.__version__,
                      "converted": [[m.rows, m.columns] for m in made]}))
"""

SERVE = r"""
import json, sys
from functions.create_export import handler
for event in json.loads(sys.stdin.read()):
    answer = handler(event, None)
    print(json.dumps([answer["statusCode"], json.loads(answer["body"])]))
"""


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: required)")
    pytest.skip(reason)


def _tops(result: BuildResult) -> set[str]:
    with zipfile.ZipFile(result.zip_path) as zf:
        return {n.split("/", 1)[0] for n in zf.namelist()}


def _python(target: str, where: Path) -> Path:
    python = fresh_python(TARGETS[target].python, where)
    if python is None:
        _missing(f"no CPython {TARGETS[target].python} here to stand in for {target}")
    assert python is not None
    return python


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_only_the_package_built_with_parquet_carries_duckdb_within_the_limits(
        package_builds: Callable[..., BuildResult], target: str) -> None:
    core, parquet = package_builds(target), package_builds(target, parquet=True)
    assert not {"duckdb", "_duckdb"} & _tops(core) and "parquet=no" in core.summary()
    assert "duckdb" in _tops(parquet) and "parquet=yes" in parquet.summary()
    assert "shared" in _tops(parquet) and "functions" in _tops(parquet)
    pinned = read(lock_path(target, TARGETS[target].python, "parquet"))["duckdb"].version
    with zipfile.ZipFile(parquet.zip_path) as zf:
        assert f"duckdb-{pinned}.dist-info/METADATA" in zf.namelist()
    # what DuckDB adds, and still under the platform's unzipped limit
    assert parquet.unzipped_bytes - core.unzipped_bytes > 20 * 1024 * 1024
    assert parquet.unzipped_bytes < LIMITS[target] and not parquet.warnings


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_the_packaged_duckdb_converts_in_a_fresh_runtime(
        package_builds: Callable[..., BuildResult], tmp_path: Path, target: str) -> None:
    python = _python(target, tmp_path)
    task = unpack(package_builds(target, parquet=True).zip_path, tmp_path / "task")
    done = subprocess.run([str(python), "-c", CONVERT], cwd=tmp_path,  # noqa: S603
                          env=clean_env(runtime_path(target, task, tmp_path)),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["duckdb"] == read(lock_path(target, TARGETS[target].python,
                                              "parquet"))["duckdb"].version
    assert report["converted"] == [
        [1000, {"seq": "BIGINT", "amount": "DOUBLE", "at": "TIMESTAMP"}],
        [2, {"seq": "BIGINT"}]]


def test_the_core_package_refuses_parquet_saying_how_to_build_it(
        package_builds: Callable[..., BuildResult], tmp_path: Path) -> None:
    python = _python("lambda", tmp_path)
    task = unpack(package_builds("lambda").zip_path, tmp_path / "task")
    base = dict(COURIER_PROFILE="sandbox", COURIER_AUTH="none",
                COURIER_STATE_URL=f"sqlite:///{tmp_path / 's.db'}",
                COURIER_DESTINATION=f"file://{tmp_path / 'bucket'}", COURIER_UNPACK="on",
                TENCENTCLOUD_SECRETID="AKIDfake", TENCENTCLOUD_SECRETKEY="fake",
                POWERTOOLS_LOG_LEVEL="ERROR")
    request = load_event("aws_http_api_post_exports", body={
        "provider": "cls", "format": "parquet",
        "params": {"TopicId": "t", "From": 1_763_600_000_000, "To": 1_763_603_600_000}})

    def serve(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603
            [str(python), "-c", SERVE], input=json.dumps([request]), cwd=tmp_path,
            env=clean_env(runtime_path("lambda", task, tmp_path), **{**base, **env}),
            capture_output=True, text=True, timeout=120, check=False)

    # a request for Parquet: 400 naming the field
    done = serve()
    assert done.returncode == 0, done.stderr[-3000:]
    status, answer = [json.loads(line) for line in done.stdout.splitlines()
                      if line.startswith("[")][-1]
    assert (status, answer.get("field")) == (400, "format"), answer
    assert HINT in answer["message"]
    # the deployment's COURIER_FORMAT=parquet: the function does not start, saying why
    done = serve(COURIER_FORMAT="parquet")
    assert done.returncode != 0
    assert (f"COURIER_FORMAT=parquet: this package was built without the Parquet converter "
            f"({HINT})") in done.stderr.strip().splitlines()[-1]
