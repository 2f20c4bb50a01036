"""Cold start: how long a fresh interpreter takes to import each handler from the built package.

    python bench/bench_coldstart.py [--target lambda|scf] [--runs 7] [--rebuild]

For each function, a new interpreter of the runtime's Python version (a fresh virtual
environment, nothing installed, the unpacked zip on its path, as the platform does it) starts
and imports the handler module; the wall time of that whole process is ``import_s``. The
baseline, measured in the same run and interleaved with it, is the same interpreter starting
with the same path and importing nothing: ``ratio = import_s / baseline_s``. Medians of
``--runs`` runs. Two variants: ``pyc`` (the package as shipped, bytecode compiled ahead of
time; dependencies as bytecode only) and ``source`` (a package built with every ``.py`` and
no ``.pyc``, so every module is compiled at import, as on a read-only code directory
without them).

Uses ``dist/<target>/courier.zip`` when it exists, else builds it (deploy/package.py); the
``source`` variant's package is built into a temporary folder each run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deploy.localrun import clean_env, fresh_python, runtime_path, unpack  # noqa: E402
from deploy.package import HANDLERS, TARGETS, build  # noqa: E402


def wall(python: Path, code: str, env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run([str(python), "-c", code], env=env, cwd=cwd,  # noqa: S603
                          capture_output=True, text=True, timeout=120, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    return elapsed


def module_of(target: str, key: str) -> str:
    return TARGETS[target].handler(key).rsplit(".", 1)[0].replace("/", ".")


def bench(target: str, zips: dict[str, Path], runs: int, work: Path) -> int:
    version = TARGETS[target].python
    python = fresh_python(version, work)
    if python is None:
        print(f"bench coldstart: target={target} skipped: no CPython {version} here")
        return 0
    failures = 0
    for variant, zip_path in zips.items():
        where = work / variant
        task = unpack(zip_path, where, strip_bytecode=variant == "source")
        env = clean_env(runtime_path(target, task, where))
        wall(python, "pass", env, where)  # warm the page cache once
        for key in HANDLERS:
            code = f"import {module_of(target, key)}"
            try:
                wall(python, code, env, where)
            except RuntimeError as exc:
                print(f"bench coldstart: function={key} variant={variant} error={exc}")
                failures += 1
                continue
            imports, bases = [], []
            for _ in range(runs):  # interleaved, so drift hits both alike
                bases.append(wall(python, "pass", env, where))
                imports.append(wall(python, code, env, where))
            import_s, baseline_s = statistics.median(imports), statistics.median(bases)
            print(f"bench coldstart: function={key} import_s={import_s:.3f} "
                  f"baseline_s={baseline_s:.3f} ratio={import_s / baseline_s:.1f} "
                  f"target={target} python={version} variant={variant} runs={runs}")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=sorted(TARGETS), default="lambda")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="build the package first")
    args = parser.parse_args(argv)
    zip_path = ROOT / "dist" / args.target / "courier.zip"
    if args.rebuild or not zip_path.exists():
        result = build(args.target)
        print(result.summary())
        zip_path = result.zip_path
    with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
        source = build(args.target, Path(tmp) / "dist", sources="all", compile_mode="no")
        failures = bench(args.target, {"pyc": zip_path, "source": source.zip_path},
                         max(1, args.runs), Path(tmp))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
