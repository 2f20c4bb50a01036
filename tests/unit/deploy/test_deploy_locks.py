"""The committed lock files (deploy/locks/) against pyproject.toml, the advisories and the
package selections that install part of them."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from deploy.dependencies import runtime_requirements, select
from deploy.lockfile import ADVISORY_FLOORS, BUILD_LOCK, lock_path, reach, read
from deploy.package import ROOT, TARGETS


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_each_target_has_a_hashed_lock_covering_pyproject(target: str) -> None:
    python = TARGETS[target].python
    pins = read(lock_path(target, python))
    assert all(pin.text.count("--hash=sha256:") >= 1 for pin in pins.values())
    everything = reach(pins, runtime_requirements(), python)
    # a complete closure: nothing in the lock is needed by nothing
    assert {pin.name for pin in everything} == set(pins)


def test_the_lock_decides_markers_for_the_runtime_not_for_this_machine() -> None:
    # aiohttp needs async-timeout below Python 3.11 only
    assert "async-timeout" in read(lock_path("scf", TARGETS["scf"].python))
    assert "async-timeout" not in read(lock_path("lambda", TARGETS["lambda"].python))


def test_a_trimmed_package_installs_only_what_its_requirements_reach() -> None:
    python = TARGETS["lambda"].python
    picked = select(("cls",), ("dynamodb",), ("s3",), ("secretsmanager",))
    names = {p.name for p in reach(read(lock_path("lambda", python)),
                                   picked.requirements(TARGETS["lambda"].provided), python)}
    assert {"tencentcloud-sdk-python-cls", "tencentcloud-sdk-python-common", "requests",
            "urllib3", "aws-lambda-powertools", "jmespath"} <= names
    assert not names & {"boto3", "botocore", "s3transfer", "aiohttp", "cryptography",
                        "alibabacloud-tea", "psycopg", "psycopg-binary", "pymysql",
                        "tencentcloud-sdk-python-dlc", "tencentcloud-sdk-python-ssm"}


def test_no_pin_and_no_direct_floor_below_a_published_advisory() -> None:
    locks = [lock_path(t, TARGETS[t].python) for t in TARGETS] + [BUILD_LOCK]
    for lock in locks:
        for pin in read(lock).values():
            floor = ADVISORY_FLOORS.get(pin.name)
            assert floor is None or Version(pin.version) >= Version(floor[0]), (lock, pin)
    for line in runtime_requirements():
        requirement = Requirement(line)
        floor = ADVISORY_FLOORS.get(requirement.name.lower())
        if floor:
            assert not requirement.specifier.contains(_below(floor[0])), line


def _below(version: str) -> str:
    """The release just before ``version`` in the last place (2.32.4 -> 2.32.3)."""
    parts = Version(version).release
    return ".".join(map(str, (*parts[:-1], parts[-1] - 1)))


def _lock(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "scf-py3.10.txt"
    path.write_text(body, encoding="utf-8")
    return path


def test_a_lock_below_an_advisory_is_refused_naming_it(tmp_path: Path) -> None:
    path = _lock(tmp_path, "requests==2.31.0 \\\n    --hash=sha256:" + "a" * 64 +
                 "\n    # via export-courier (pyproject.toml)\n")
    with pytest.raises(SystemExit, match=r"requests==2.31.0, below 2.32.4 \(CVE-2024-47081\)"):
        read(path)


def test_an_unhashed_or_unpinned_lock_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="six carries no hash"):
        read(_lock(tmp_path, "six==1.17.0\n    # via python-dateutil\n"))
    with pytest.raises(SystemExit, match="not pinned with =="):
        read(_lock(tmp_path, "six>=1.16 \\\n    --hash=sha256:" + "b" * 64 + "\n"))


def test_a_lock_behind_pyproject_is_refused_with_the_command(tmp_path: Path) -> None:
    pins = read(_lock(tmp_path, "pymysql==1.1.1 \\\n    --hash=sha256:" + "c" * 64 +
                      "\n    # via export-courier (pyproject.toml)\n"))
    with pytest.raises(SystemExit, match=r"pins no requests.*make lock"):
        reach(pins, ["pymysql>=1.1.1", "requests>=2.32.4"], "3.10")
    with pytest.raises(SystemExit, match=r"pins pymysql==1.1.1.*'pymysql>=1.2'"):
        reach(pins, ["pymysql>=1.2"], "3.10")
    # a requirement whose marker the runtime does not meet needs no pin
    assert [p.name for p in reach(pins, ["pymysql>=1.1", "x>=1; python_version < '3.10'"],
                                  "3.10")] == ["pymysql"]


def test_a_missing_lock_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="no lock file deploy/locks/scf-py3.8.txt: run `make "
                                         "lock`"):
        read(lock_path("scf", "3.8"))


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_the_parquet_extra_has_its_own_lock_and_stays_out_of_the_core_one(target: str
                                                                          ) -> None:
    from deploy.dependencies import PARQUET_EXTRA, extra_requirements
    from deploy.lock import PARQUET_IN

    python = TARGETS[target].python
    assert "duckdb" not in read(lock_path(target, python))
    pins = read(lock_path(target, python, PARQUET_EXTRA))
    assert [p.name for p in reach(pins, extra_requirements(PARQUET_EXTRA), python)] == [
        "duckdb"] == list(pins)
    assert pins["duckdb"].text.count("--hash=sha256:") >= 1
    # `make lock` writes the lock's input from pyproject.toml's extra
    lines = [line for line in (ROOT / PARQUET_IN).read_text().splitlines()
             if line and not line.startswith("#")]
    assert lines == extra_requirements(PARQUET_EXTRA) == ["duckdb>=1.1,<3"]
