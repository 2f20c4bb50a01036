"""Write the lock files the deployment packages install from (``make lock``).

    python deploy/lock.py                  # deploy/locks/{scf-py3.10,lambda-py3.13,build}.txt
    python deploy/lock.py --upgrade        # the newest versions pyproject.toml allows
    python deploy/lock.py --target lambda --python-version 3.12   # deploy/locks/lambda-py3.12.txt

``uv pip compile --generate-hashes`` of ``pyproject.toml``'s runtime dependencies, resolved
for each target's Python on ``manylinux2014_x86_64`` (what deploy/package.py installs), so
markers such as ``python_version < "3.11"`` are decided for the runtime, not for this
machine. An existing lock is the starting point: a version changes only when
``pyproject.toml`` no longer allows it, or with ``--upgrade``. ``build.txt`` pins the build
backend of the dependencies published only as source (:mod:`deploy.wheels`).
``<target>-py<python>-parquet.txt`` pins the ``parquet`` extra (DuckDB) for packages built
``--with-parquet``, from ``parquet.in`` (written here from ``pyproject.toml``), wheels only:
DuckDB publishes ``manylinux2014`` wheels up to 1.2.2, so that is what the lock holds.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as ``python deploy/lock.py``
    sys.path.insert(0, str(ROOT))

from deploy.dependencies import PARQUET_EXTRA, extra_requirements  # noqa: E402
from deploy.lockfile import BUILD_LOCK, LOCKS, REFRESH, lock_path  # noqa: E402
from deploy.package import TARGETS  # noqa: E402
from deploy.wheels import PLATFORM  # noqa: E402

UV_PLATFORM = {"manylinux2014_x86_64": "x86_64-manylinux2014"}[PLATFORM]
BUILD_IN = Path("deploy/locks/build.in")  # the build backend, unpinned
BUILD_PYTHON = "3.9"  # the oldest Python that builds the package; the pins suit the newer ones
PARQUET_IN = Path("deploy/locks/parquet.in")  # pyproject.toml's parquet extra, written here


def uv() -> str:
    try:
        from uv import find_uv_bin
    except ImportError:
        found = shutil.which("uv")
        if not found:
            raise SystemExit("uv is not installed: `make .venv/.installed` puts it in .venv "
                             "(the dev extra)") from None
        return found
    return str(find_uv_bin())


def compile_lock(source: Path, out: Path, python: str, *, upgrade: bool,
                 platform: str | None = UV_PLATFORM, wheels_only: bool = False) -> None:
    command = [uv(), "pip", "compile", "--quiet", "--generate-hashes", "--no-config",
               "--python-version", python, "--custom-compile-command", REFRESH,
               "--output-file", str(out), str(source)]
    if wheels_only:  # a version with no wheel for the platform is passed over
        command[3:3] = ["--only-binary", ":all:"]
    if platform:
        command[3:3] = ["--python-platform", platform]
    if upgrade:
        command.append("--upgrade")
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,  # noqa: S603
                          check=False)
    if done.returncode:
        raise SystemExit(f"uv pip compile failed for {out.name}:\n{done.stderr.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=sorted(TARGETS), action="append",
                        help="scf or lambda (default: both)")
    parser.add_argument("--python-version", dest="python",
                        help="the runtime's Python (default: each target's)")
    parser.add_argument("--upgrade", action="store_true",
                        help="move every pin to the newest version pyproject.toml allows")
    args = parser.parse_args(argv)
    LOCKS.mkdir(parents=True, exist_ok=True)
    (ROOT / PARQUET_IN).write_text(
        "# pyproject.toml's parquet extra, written by deploy/lock.py (`make lock`)\n"
        + "".join(f"{line}\n" for line in extra_requirements(PARQUET_EXTRA)), encoding="utf-8")
    for name in args.target or sorted(TARGETS):
        python = args.python or TARGETS[name].python
        out = lock_path(name, python)
        compile_lock(Path("pyproject.toml"), out, python, upgrade=args.upgrade)
        print(f"lock: {out.relative_to(ROOT)}")
        out = lock_path(name, python, PARQUET_EXTRA)
        compile_lock(PARQUET_IN, out, python, upgrade=args.upgrade, wheels_only=True)
        print(f"lock: {out.relative_to(ROOT)}")
    compile_lock(BUILD_IN, BUILD_LOCK, BUILD_PYTHON, upgrade=args.upgrade, platform=None)
    print(f"lock: {BUILD_LOCK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
