"""Installing a package's dependencies for the platform, and trimming them (:mod:`deploy.package`).

``pip install --require-hashes --no-deps --target --platform manylinux2014_x86_64
--only-binary=:all:`` of the lock's pins (:mod:`deploy.lockfile`) for the target's Python,
so the package is the same whichever machine builds it; the few dependencies published only
as source distributions are built into local pure-Python wheels first. Then
what the runtime provides, console scripts, caches, type stubs, the dependencies' own test
suites and optional C accelerators are dropped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from deploy.lockfile import BUILD_LOCK, Pin, sha256

# Dependencies published only as source distributions, all pure Python (or with a Python
# fallback): built into local wheels first, since --platform installs take wheels only.
PURE_SDISTS = ("crcmod", "alibabacloud-tea")
PLATFORM = "manylinux2014_x86_64"
SOURCE_DATE_EPOCH = "1577836800"  # 2020-01-01, the zip's fixed time: for the built wheels
# Test suites that dependencies ship inside their packages: never imported at run time.
PRUNE_PATHS = ("Crypto/SelfTest", "websocket/tests")
JUNK_SUFFIXES = (".pyc", ".pyo", ".pyi")
# A source-only dependency whose import package another pin ships too, compiled: crcmod-plus
# is crcmod's maintained fork, the same ``crcmod`` package with its C extension as wheels
# (the OSS SDK needs it; pyproject.toml names it for the CRC-64 checks). Installed both,
# the pure crcmod would replace the whole ``crcmod`` folder, and CRC-64 would run in
# Python (about 11 MB/s on one core, slower than the copy it checks).
REPLACED_BY = {"crcmod": "crcmod-plus"}
# Packages whose compiled extensions are optional speed-ups with pure-Python fallbacks, and
# which only the DMS SDK's async client (never used: Courier calls it synchronously) needs:
# their .so files are about 7 MB of the package.
OPTIONAL_ACCELERATORS = ("aiohttp", "yarl", "multidict", "frozenlist", "propcache")


def _pip(args: list[str], env: dict[str, str] | None = None) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE,  # noqa: S603
                          stderr=subprocess.STDOUT, text=True, check=False)
    # pip complains about every unusable extra index location; only the rest is news
    for line in done.stdout.splitlines():
        if not line.startswith("WARNING: Location "):
            print(f"  pip: {line}", file=sys.stderr)
    if done.returncode:
        raise SystemExit(f"pip failed ({done.returncode}): {' '.join(args[:2])} …")


def _write(pins: list[Pin], path: Path) -> Path:
    path.write_text("".join(f"{pin.text}\n" for pin in pins), encoding="utf-8")
    return path


def pure_wheels(pins: list[Pin], wheelhouse: Path) -> list[str]:
    """Wheels for the dependencies published only as source (:data:`PURE_SDISTS`), built as
    pure Python so they install on any platform (crcmod falls back to Python without a C
    compiler: ``CC=false`` makes that choice explicit). The sources are checked against the
    lock's hashes and built with the lock's build backend (``deploy/locks/build.txt``), so
    the wheels come out the same everywhere (kept under the build lock's hash: another
    setuptools builds them again). Returns their ``name==version``."""
    wheelhouse = wheelhouse / sha256(BUILD_LOCK)[:16]
    wheelhouse.mkdir(parents=True, exist_ok=True)

    def built(pin: Pin) -> list[Path]:
        return list(wheelhouse.glob(f"{pin.name.replace('-', '_')}-{pin.version}-*.whl"))

    missing = [pin for pin in pins if not built(pin)]
    if missing:
        env = {**os.environ, "CC": "false", "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
        _pip(["wheel", "--quiet", "--no-cache-dir", "--no-deps", "--no-binary", ":all:",
              "--require-hashes", "--build-constraint", str(BUILD_LOCK),
              "--wheel-dir", str(wheelhouse),
              "-r", str(_write(missing, wheelhouse / "sources.txt"))], env=env)
    for pin in pins:
        if not built(pin) or any(not w.name.endswith("-none-any.whl") for w in built(pin)):
            raise SystemExit(f"{pin.name}: expected a pure-Python wheel in {wheelhouse}")
    return [f"{pin.name}=={pin.version}" for pin in pins]


def install_dependencies(pins: list[Pin], into: Path, python: str, wheelhouse: Path) -> None:
    """Install exactly ``pins`` (from the lock: :mod:`deploy.lockfile`), nothing resolved
    again: ``--require-hashes --no-deps``. The source-only ones go in from the wheels
    :func:`pure_wheels` built from their checked sources; one another pin replaces
    (:data:`REPLACED_BY`) stays out."""
    names = {pin.name for pin in pins}
    pins = [pin for pin in pins if REPLACED_BY.get(pin.name) not in names]
    sources = [pin for pin in pins if pin.name in PURE_SDISTS]
    binaries = [pin for pin in pins if pin.name not in PURE_SDISTS]
    platform = ["--target", str(into), "--platform", PLATFORM, "--implementation", "cp",
                "--python-version", python, "--only-binary=:all:"]
    common = ["install", "--quiet", "--no-compile", "--no-warn-conflicts", "--upgrade",
              "--no-deps"]
    _pip([*common, *platform, "--require-hashes",
          "-r", str(_write(binaries, into.parent / "requirements.txt"))])
    if sources:
        built = pure_wheels(sources, wheelhouse)
        _pip([*common, *platform, "--no-index", "--find-links",
              str(wheelhouse / sha256(BUILD_LOCK)[:16]), *built])


def _forget_scripts(directory: Path) -> None:
    """Drop the console scripts' lines from the installed records: the scripts are not
    shipped, and their first line names the interpreter that ran pip."""
    for record in sorted(directory.glob("*.dist-info/RECORD")):
        lines = record.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith("../../bin/")]
        if kept != lines:
            record.write_text("".join(kept), encoding="utf-8")


def prune(directory: Path, provided: tuple[str, ...]) -> None:
    """Drop what the runtime provides, console scripts, caches and type stubs."""
    for name in provided:
        for path in [directory / name, *directory.glob(f"{name}-*.dist-info")]:
            if path.is_dir():
                shutil.rmtree(path)
    for relative in ("bin", *PRUNE_PATHS):
        if (directory / relative).is_dir():
            shutil.rmtree(directory / relative)
    _forget_scripts(directory)
    for path in sorted(directory.rglob("__pycache__"), reverse=True):
        shutil.rmtree(path, ignore_errors=True)
    for path in directory.rglob("*"):
        if path.is_file() and path.suffix in JUNK_SUFFIXES:
            path.unlink()
    for name in OPTIONAL_ACCELERATORS:
        for path in (directory / name).rglob("*.so") if (directory / name).is_dir() else ():
            path.unlink()
