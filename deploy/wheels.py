"""Installing a package's dependencies for the platform, and trimming them (:mod:`deploy.package`).

``pip install --target --platform manylinux2014_x86_64 --only-binary=:all:`` for the target's
Python, so the package is the same whichever machine builds it; the few dependencies
published only as source distributions are built into local pure-Python wheels first. Then
what the runtime provides, console scripts, caches, type stubs, the dependencies' own test
suites and optional C accelerators are dropped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# Dependencies published only as source distributions, all pure Python (or with a Python
# fallback): built into local wheels first, since --platform installs take wheels only.
PURE_SDISTS = ("crcmod", "alibabacloud-tea")
PLATFORM = "manylinux2014_x86_64"
# Test suites that dependencies ship inside their packages: never imported at run time.
PRUNE_PATHS = ("Crypto/SelfTest", "websocket/tests")
JUNK_SUFFIXES = (".pyc", ".pyo", ".pyi")
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


def pure_wheels(wheelhouse: Path) -> None:
    """Wheels for the dependencies published only as source (:data:`PURE_SDISTS`), built as
    pure Python so they install on any platform (crcmod falls back to Python without a C
    compiler: ``CC=false`` makes that choice explicit)."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    missing = [n for n in PURE_SDISTS
               if not list(wheelhouse.glob(f"{n.replace('-', '_')}-*-none-any.whl"))]
    if missing:
        _pip(["wheel", "--quiet", "--no-cache-dir", "--no-deps", "--no-binary", ":all:",
              "--wheel-dir", str(wheelhouse), *missing], env={**os.environ, "CC": "false"})
    for name in PURE_SDISTS:
        built = list(wheelhouse.glob(f"{name.replace('-', '_')}-*.whl"))
        if not built or any(not w.name.endswith("-none-any.whl") for w in built):
            raise SystemExit(f"{name}: expected a pure-Python wheel in {wheelhouse}")


def install_dependencies(requirements: list[str], into: Path, python: str,
                         wheelhouse: Path) -> None:
    pure_wheels(wheelhouse)
    _pip(["install", "--quiet", "--no-compile", "--no-warn-conflicts", "--upgrade",
          "--target", str(into),
          "--platform", PLATFORM, "--implementation", "cp", "--python-version", python,
          "--only-binary=:all:", "--find-links", str(wheelhouse), *requirements])


def prune(directory: Path, provided: tuple[str, ...]) -> None:
    """Drop what the runtime provides, console scripts, caches and type stubs."""
    for name in provided:
        for path in [directory / name, *directory.glob(f"{name}-*.dist-info")]:
            if path.is_dir():
                shutil.rmtree(path)
    for relative in ("bin", *PRUNE_PATHS):
        if (directory / relative).is_dir():
            shutil.rmtree(directory / relative)
    for path in sorted(directory.rglob("__pycache__"), reverse=True):
        shutil.rmtree(path, ignore_errors=True)
    for path in directory.rglob("*"):
        if path.is_file() and path.suffix in JUNK_SUFFIXES:
            path.unlink()
    for name in OPTIONAL_ACCELERATORS:
        for path in (directory / name).rglob("*.so") if (directory / name).is_dir() else ():
            path.unlink()
