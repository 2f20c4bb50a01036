"""Packages a user can trust: built from the committed locks, the same bytes whichever Python
builds them, the sizes docs/deploy.md shows; `make lock` writes the committed locks and
`make dist` a wheel that installs the `courier` command as docs/development.md says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.lockfile import LOCKS, lock_path, read
from deploy.lockfile import sha256 as file_sha256
from deploy.package import ROOT, TARGETS, BuildResult

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

GUIDE = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
DEVELOPMENT = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
LEFT_BEHIND = (".git", ".venv", "dist", "build", "node_modules", ".tools", ".courier",
               "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", "*.egg-info")
# the rehearsal's package (docs/deploy.md), small enough to build twice
SMALL = {"providers": ("cls",), "state": ("mysql",), "destinations": ("cos",)}


def _missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: required)")
    pytest.skip(reason)


def _size_rows() -> list[tuple[str, str, dict[str, Any], float, float]]:
    """docs/deploy.md's size table: (label, target, build options, zip MB, unzipped MB)."""
    rows = []
    flags = {"--providers": "providers", "--state": "state", "--destination": "destinations"}
    for line in GUIDE.splitlines():
        found = re.fullmatch(r"\| (SCF|Lambda), (.+?) \| ([\d.]+) MB \| ([\d.]+) MB \|", line)
        if not found:
            continue
        options: dict[str, Any] = {}
        for flag, value in re.findall(r"(--\w+) ([\w,]+)", found.group(2)):
            options[flags[flag]] = tuple(value.split(","))
        if "--with-parquet" in found.group(2):
            options["parquet"] = True
        rows.append((f"{found.group(1)}, {found.group(2)}", found.group(1).lower(), options,
                     float(found.group(3)), float(found.group(4))))
    return rows


def test_the_size_table_has_the_default_and_the_rehearsal_rows() -> None:
    rows = {(target, tuple(sorted(options.items()))) for _, target, options, _, _ in _size_rows()}
    assert ("scf", ()) in rows and ("lambda", ()) in rows
    assert ("scf", tuple(sorted(SMALL.items()))) in rows
    assert ("lambda", (("parquet", True),)) in rows and ("scf", (("parquet", True),)) in rows


@pytest.mark.parametrize(("label", "target", "options", "zip_mb", "unzipped_mb"), _size_rows(),
                         ids=[row[0] for row in _size_rows()])
def test_the_size_table_holds_to_the_build_within_ten_percent(
        package_builds: Callable[..., BuildResult], label: str, target: str,
        options: dict[str, Any], zip_mb: float, unzipped_mb: float) -> None:
    built = package_builds(target, **options)
    measured = (built.zip_bytes / 1048576, built.unzipped_bytes / 1048576)
    # the same figures `make package` prints
    assert f"zip_mb={measured[0]:.1f}" in built.summary()
    assert abs(measured[0] - zip_mb) <= 0.1 * zip_mb, (label, measured)
    assert abs(measured[1] - unzipped_mb) <= 0.1 * unzipped_mb, (label, measured)


def _other_interpreter() -> tuple[str, str]:
    """Another CPython of this one's version (the system's, beside the .venv's pyenv one),
    or this one again; and what it is."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    mine = Path(sys.executable).resolve()
    for candidate in (f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"):
        if Path(candidate).exists() and Path(candidate).resolve() != mine:
            return candidate, candidate
    return sys.executable, f"{sys.executable} again"


def test_one_lock_gives_one_zip_whichever_python_builds_it(
        package_builds: Callable[..., BuildResult], tmp_path: Path) -> None:
    first = package_builds("scf", **SMALL)
    interpreter, which = _other_interpreter()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "PYTHONHASHSEED": "4242", "TMPDIR": str(scratch),
           # the .venv's packages (pip among them) for an interpreter outside it
           "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    done = subprocess.run([interpreter, "deploy/package.py", "--target", "scf",
                           "--providers", "cls", "--state", "mysql", "--destination", "cos",
                           "--out", str(tmp_path / "again")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if " sha256=" in x)
    lock = lock_path("scf", TARGETS["scf"].python)
    assert line == (f"package: target=scf sha256={file_sha256(first.zip_path)} "
                    f"lock={lock.relative_to(ROOT)} lock_sha256={file_sha256(lock)}"), which
    assert first.compiled == ("pyc=yes" in done.stdout)


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of this checkout using its .venv, for commands that write into the tree."""
    copy = tmp_path_factory.mktemp("checkout") / "export-courier"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*LEFT_BEHIND))
    venv = copy / ".venv"
    venv.mkdir()
    for part in ("bin", "lib", "pyvenv.cfg"):
        (venv / part).symlink_to(ROOT / ".venv" / part)
    (venv / ".installed").touch()  # installed already: make must not install again
    yield copy


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None,
         timeout: int = 600) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-3000:])
    return done.stdout


def test_make_lock_writes_the_committed_locks(checkout: Path) -> None:
    """The committed locks are what `make lock` writes from pyproject.toml (PyPI answers)."""
    if not shutil.which("make"):
        _missing("make is not installed")
    out = _run(["make", "lock"], checkout)
    assert "lock: deploy/locks/scf-py3.10.txt" in out
    for lock in sorted(LOCKS.glob("*.txt")):
        written = checkout / "deploy" / "locks" / lock.name
        assert written.read_bytes() == lock.read_bytes(), f"{lock.name}: run `make lock`"
    # another runtime Python, as docs/deploy.md shows it
    command = re.search(r"^(\.venv/bin/python deploy/lock\.py [^#\n]+?)\s+#", GUIDE, re.M)
    assert command, "docs/deploy.md shows the lock command for another Python"
    _run(["bash", "-c", command.group(1)], checkout)
    other = read(checkout / "deploy" / "locks" / "lambda-py3.12.txt")
    assert {"aws-lambda-powertools", "urllib3", "requests"} <= set(other)


def _block(title: str) -> str:
    start = DEVELOPMENT.index(title)
    found = re.search(r"```sh\n(.*?)```", DEVELOPMENT[start:], re.S)
    assert found, f"{title} shows a sh block"
    return found.group(1)


def _pipx_env(tmp_path: Path) -> dict[str, str]:
    """pipx (the dev extra's) installing into ``tmp_path``, its bin folder first on PATH."""
    bin_dir = tmp_path / "bin"
    return {**os.environ, "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(bin_dir),
            "PIPX_MAN_DIR": str(tmp_path / "man"),
            "PATH": os.pathsep.join([str(bin_dir), str(ROOT / ".venv" / "bin"),
                                     os.environ.get("PATH", "")])}


def test_make_dist_and_pipx_install_the_command_as_documented(checkout: Path,
                                                              tmp_path: Path) -> None:
    if not shutil.which("make"):
        _missing("make is not installed")
    bin_dir = tmp_path / "bin"
    env = _pipx_env(tmp_path)
    out = _run(["bash", "-euo", "pipefail", "-c", _block("## Installing the `courier` command")],
               checkout, env=env, timeout=900)
    assert "exports" in out and "sandbox" in out  # courier --help lists its groups
    assert (bin_dir / "courier").exists()
    wheels = sorted((checkout / "dist").glob("export_courier-*-py3-none-any.whl"))
    assert len(wheels) == 1 and list((checkout / "dist").glob("export_courier-*.tar.gz"))
    with zipfile.ZipFile(wheels[0]) as zf:
        names = zf.namelist()
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        entry = zf.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "courier = courier.cli:main" in entry
    assert re.search(r"^License(-Expression)?: Apache-2.0$", meta, re.M)
    tops = {n.split("/", 1)[0] for n in names}
    assert {"courier", "shared", "functions", "sandbox"} <= tops
    assert "shared/http/openapi.json" in names  # GET /openapi.json of `courier` servers
    assert not tops & {"tests", "deploy", "bench"}


def test_pipx_installs_the_command_from_a_checkout(checkout: Path, tmp_path: Path) -> None:
    env = _pipx_env(tmp_path)
    _run(["pipx", "install", ".[cli]"], checkout, env=env, timeout=900)
    out = _run([str(tmp_path / "bin" / "courier"), "exports", "--help"], checkout, env=env)
    assert "create" in out and "list" in out
