"""Build the deployment zip for Tencent SCF or AWS Lambda.

    python deploy/package.py --target scf       # -> dist/scf/courier.zip    (Python 3.10)
    python deploy/package.py --target lambda    # -> dist/lambda/courier.zip (Python 3.13)

What goes in: ``shared/`` and ``functions/`` (an allow-list: tests, sandbox, bench, events,
deploy and the ``courier`` CLI stay out by construction) plus the runtime dependencies of
``pyproject.toml`` as Linux x86_64 wheels for the target's Python (``pip install --target
--platform manylinux2014_x86_64 --only-binary=:all:``), so the zip is the same whichever
machine builds it.

* SCF wants each entry file at the zip root (``index.main_handler`` style), so the SCF package
  adds three one-line entry modules, ``create_export.py``, ``poll_tasks.py`` and
  ``complete_export.py``, each re-exporting ``functions.<name>.handler``.
* The Lambda Python runtime already carries boto3, botocore and s3transfer: they are left out
  (about 30 MB unzipped), unless ``--bundle-aws-sdk`` pins our own copy. jmespath stays in:
  Powertools imports it itself.
* Bytecode is compiled ahead of time (``unchecked-hash`` .pyc: the code directory is read-only
  on both platforms, so nothing is cached at run time) when an interpreter of the target's
  version is at hand; ``--compile no`` skips it.
* The zip is reproducible: sorted entries with fixed timestamps.
* ``--with-parquet`` adds the Parquet converter's DuckDB (pyproject.toml's ``parquet`` extra,
  from its own lock ``deploy/locks/<target>-py<python>-parquet.txt``) for ``format: parquet``;
  without it the package carries no DuckDB, and a deployment asking for Parquet is refused
  with "this package was built without the Parquet converter (make package
  PACKAGE_ARGS=--with-parquet)". Its size is printed like any package's, against Lambda's
  250 MB unzipped and SCF's 500 MB (code and layers, before compression).
* ``--settings PATH`` (repeatable; a JSON file, or a folder of them) puts settings too big for
  the platforms' 4 KB environment into the package's ``config/`` folder, where
  ``COURIER_SCHEDULES=file:config/schedules.json`` finds them. ``--secrets`` names the secret
  stores settings may be read from (the others' SDKs are left out).

Which dependencies go in is :mod:`deploy.dependencies`; installing and trimming them for the
platform, :mod:`deploy.wheels`. Prints one line per package: zip size, unzipped size, file
count.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as ``python deploy/package.py``
    sys.path.insert(0, str(ROOT))

from deploy.config_files import config_files  # noqa: E402 - needs ROOT on sys.path
from deploy.dependencies import (  # noqa: E402
    DESTINATION_DRIVERS,
    PARQUET_EXTRA,
    PROVIDER_SDKS,
    SECRET_STORE_SDKS,
    STATE_DRIVERS,
    extra_requirements,
    select,
)
from deploy.lockfile import lock_path, reach, read  # noqa: E402
from deploy.lockfile import sha256 as lock_sha256  # noqa: E402
from deploy.wheels import install_dependencies, prune  # noqa: E402

SOURCES = ("shared", "functions")
# function key -> module holding ``handler(event, context)``
HANDLERS = {
    "create": "functions.create_export",
    "poll": "functions.poll_tasks",
    "complete": "functions.complete_export",
}
AWS_SDK = ("boto3", "botocore", "s3transfer")
FIXED_TIME = (2020, 1, 1, 0, 0, 0)
COMPILE_ENV = {"PYTHONHASHSEED": "0", "PYTHONNOUSERSITE": "1", "LC_ALL": "C.UTF-8",
               "PATH": os.defpath}
LAMBDA_ZIP_LIMIT = 50 * 1024 * 1024  # direct upload
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
# Tencent doc 583/11637: a function version's code, with its layers, before compression
SCF_UNZIPPED_LIMIT = 500 * 1024 * 1024


@dataclass(frozen=True)
class Target:
    name: str
    python: str  # the platform runtime's Python, "3.9"
    entry_shims: bool  # SCF: handler modules at the zip root
    code_dir: str  # where the platform unpacks the zip
    provided: tuple[str, ...] = ()  # top-level packages the platform runtime already has

    def handler(self, key: str) -> str:
        """The handler string the descriptor names for function ``key``."""
        module = HANDLERS[key]
        if self.entry_shims:
            return f"{module.rsplit('.', 1)[-1]}.handler"
        return f"{module.replace('.', '/')}.handler"


TARGETS = {
    "scf": Target("scf", "3.10", entry_shims=True, code_dir="/var/user"),
    "lambda": Target("lambda", "3.13", entry_shims=False, code_dir="/var/task",
                     provided=AWS_SDK),
}


@dataclass
class BuildResult:
    target: Target
    zip_path: Path
    build_dir: Path
    zip_bytes: int
    unzipped_bytes: int
    files: int
    compiled: bool
    left_out: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    providers: tuple[str, ...] = tuple(PROVIDER_SDKS)
    state: tuple[str, ...] = tuple(STATE_DRIVERS)
    destinations: tuple[str, ...] = tuple(DESTINATION_DRIVERS)
    secret_stores: tuple[str, ...] = tuple(SECRET_STORE_SDKS)
    config: tuple[str, ...] = ()  # files put in config/
    sources: str = "ours"  # "ours": dependencies ship as .pyc only; "all": with their .py
    lock: Path = ROOT / "deploy" / "locks"  # the lock file the dependencies came from
    parquet: bool = False  # built --with-parquet: DuckDB, from its own lock

    def summary(self) -> str:
        shown = self.zip_path
        kept = self.sources == "all" or not self.compiled
        if shown.is_relative_to(ROOT):
            shown = shown.relative_to(ROOT)
        parts = [f"package: target={self.target.name}", f"python={self.target.python}",
                 f"zip={shown}", f"zip_mb={self.zip_bytes / 1048576:.1f}",
                 f"unzipped_mb={self.unzipped_bytes / 1048576:.1f}", f"files={self.files}",
                 f"pyc={'yes' if self.compiled else 'no'}",
                 f"providers={','.join(self.providers)}",
                 f"state={','.join(self.state)}",
                 f"destinations={','.join(self.destinations)}",
                 f"secrets={','.join(self.secret_stores) or 'none'}",
                 f"parquet={'yes' if self.parquet else 'no'}",
                 f"dependency_py={'kept' if kept else 'dropped'}"]
        if self.config:
            parts.append(f"config={','.join(self.config)}")
        if self.left_out:
            parts.append(f"runtime_provided={','.join(self.left_out)}")
        return " ".join(parts)


def find_interpreter(version: str) -> str | None:
    """A working CPython of exactly ``version`` on this machine (for byte-compiling)."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [str(p / "bin" / "python") for p in sorted(pyenv.glob(f"{version}.*"))]
    candidates.append(shutil.which(f"python{version}") or "")
    for candidate in candidates:
        if candidate and Path(candidate).exists() and _reports(candidate, version):
            return candidate
    return None


def _reports(interpreter: str, version: str) -> bool:
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    try:
        done = subprocess.run([interpreter, "-c", probe], capture_output=True,  # noqa: S603
                              text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == version


def _copy_sources(build: Path, target: Target) -> None:
    for package in SOURCES:
        shutil.copytree(ROOT / package, build / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyi"))
    if target.entry_shims:
        for module in HANDLERS.values():
            short = module.rsplit(".", 1)[-1]
            (build / f"{short}.py").write_text(
                f'"""SCF entry point, written by deploy/package.py: SCF loads entry files from '
                f'the zip root."""\n\nfrom {module} import handler\n\n__all__ = ["handler"]\n',
                encoding="utf-8")


def _compile(build: Path, interpreter: str, code_dir: str, *, dependency_sources: bool) -> None:
    """Byte-compile everything. Our code keeps its sources (tracebacks show the lines). With
    ``dependency_sources=False`` the dependencies are compiled next to their modules
    (``x.pyc`` beside ``x.py``, which Python imports without the source) and their ``.py``
    files are dropped: the vendor SDKs' generated model files are most of the package."""
    ours = {build / name for name in SOURCES}
    ours |= {p for p in build.glob("*.py") if p.stem in {m.rsplit(".", 1)[-1]
                                                         for m in HANDLERS.values()}}
    theirs = sorted(p for p in build.iterdir() if p not in ours and (
        p.is_dir() or p.suffix == ".py"))

    def one(path: Path, *extra: str) -> None:
        # -s/-p: tracebacks name the path on the platform, and the bytes do not depend on ours
        command = [interpreter, "-m", "compileall", "-q", "-s", str(build),
                   "-p", code_dir, "--invalidation-mode", "unchecked-hash", *extra, str(path)]
        # The same bytes on every build: marshal marks objects by reference count, which
        # depends on everything the process did before. So one process per top-level path
        # compiles its files in order (compileall -j would hand them to workers at random),
        # in an environment of its own (no PYTHONPATH, no user site) with a fixed hash seed
        # (set and frozenset constants are marshalled in hash order).
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=COMPILE_ENV)  # noqa: S603

    def run(paths: list[Path], *extra: str) -> None:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(lambda path: one(path, *extra), paths))

    run(sorted(ours))
    if dependency_sources:
        run(theirs)
        return
    run(theirs, "-b")
    for root in theirs:
        for source in ([root] if root.is_file() else root.rglob("*.py")):
            if source.with_suffix(".pyc").is_file():
                source.unlink()


def _zip(build: Path, zip_path: Path) -> tuple[int, int]:
    files = sorted(p for p in build.rglob("*") if p.is_file())
    unzipped = 0
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(build).as_posix(), date_time=FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            unzipped += len(data)
            zf.writestr(info, data, compresslevel=9)
    tmp.replace(zip_path)
    return unzipped, len(files)


def build(target_name: str, out: Path | None = None, *, python: str | None = None,
          bundle_aws_sdk: bool = False, compile_mode: str = "auto",
          interpreter: str | None = None, providers: tuple[str, ...] | None = None,
          sources: str = "ours", state: tuple[str, ...] | None = None,
          destinations: tuple[str, ...] | None = None,
          secret_stores: tuple[str, ...] | None = None,
          config: tuple[Path, ...] = (), parquet: bool = False) -> BuildResult:
    """Build ``<out>/<target>/courier.zip`` (``out`` defaults to ``dist/``).

    ``providers``: the providers whose vendor SDKs go in (default: all); a request for
    another one is refused by the deployed API with a 400 naming it. ``sources``: ``"ours"``
    ships the dependencies as bytecode only (when compiled), ``"all"`` keeps their sources.
    ``state`` / ``destinations``: the state stores and destination schemes the deployment
    uses (default: all); the drivers of the others are left out, and the deployed function
    refuses those schemes at start with a message naming the setting. ``secret_stores``:
    the stores settings may name (default: all); ``config``: JSON files (or folders of them)
    put in the package's ``config/`` folder; ``parquet``: add the Parquet converter's DuckDB.
    """
    if sources not in ("ours", "all"):
        raise SystemExit("sources: 'ours' or 'all'")
    picked = select(providers, state, destinations, secret_stores)
    extra = config_files(config)
    base = TARGETS[target_name]
    target = Target(base.name, python or base.python, base.entry_shims, base.code_dir,
                    () if bundle_aws_sdk else base.provided)
    out_dir = (out or ROOT / "dist") / target.name
    build_dir = out_dir / "build"
    if build_dir.exists():
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True)
    lock = lock_path(target.name, target.python)
    pins = reach(read(lock), picked.requirements(target.provided), target.python)
    if parquet:
        parquet_lock = lock_path(target.name, target.python, PARQUET_EXTRA)
        pins += reach(read(parquet_lock), extra_requirements(PARQUET_EXTRA), target.python)
    install_dependencies(pins, build_dir, target.python, (out or ROOT / "dist") / ".wheelhouse")
    prune(build_dir, target.provided)
    _copy_sources(build_dir, target)
    for key, source in extra.items():
        (build_dir / key).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, build_dir / key)
    warnings: list[str] = []
    compiled = False
    if compile_mode != "no":
        interp = interpreter or find_interpreter(target.python)
        if interp:
            _compile(build_dir, interp, target.code_dir,
                     dependency_sources=sources == "all")
            compiled = True
        elif compile_mode == "yes":
            raise SystemExit(f"--compile: no Python {target.python} interpreter found")
        else:
            warnings.append(f"no Python {target.python} here: shipped without .pyc "
                            "(cold starts compile every module)")
    zip_path = out_dir / "courier.zip"
    unzipped, count = _zip(build_dir, zip_path)
    result = BuildResult(target, zip_path, build_dir, zip_path.stat().st_size, unzipped,
                         count, compiled, list(target.provided), warnings,
                         providers=picked.providers, state=picked.state,
                         destinations=picked.destinations, secret_stores=picked.secret_stores,
                         config=tuple(extra), sources=sources, lock=lock, parquet=parquet)
    if target.name == "scf" and unzipped > SCF_UNZIPPED_LIMIT:
        warnings.append("unzipped size is over SCF's 500 MB limit (code and layers)")
    if target.name == "lambda":
        if result.zip_bytes > LAMBDA_ZIP_LIMIT:
            warnings.append("zip is over Lambda's 50 MB direct-upload limit: upload via S3")
        if unzipped > LAMBDA_UNZIPPED_LIMIT:
            warnings.append("unzipped size is over Lambda's 250 MB limit")
    return result


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=sorted(TARGETS), action="append", required=True,
                        help="scf or lambda (repeat for both)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="default: dist/")
    parser.add_argument("--python-version", dest="python",
                        help="the runtime's Python (default: scf 3.10, lambda 3.13)")
    parser.add_argument("--bundle-aws-sdk", action="store_true",
                        help="lambda: ship our own boto3/botocore instead of the runtime's")
    parser.add_argument("--compile", dest="compile_mode", choices=("auto", "yes", "no"),
                        default="auto", help="ahead-of-time .pyc (auto: when an interpreter "
                        "of the target's version is found)")
    parser.add_argument("--interpreter", help="that interpreter, if not found by itself")
    parser.add_argument("--providers", help="comma-separated providers to include (default: "
                        f"all of {','.join(PROVIDER_SDKS)}); leaves the others' SDKs out")
    parser.add_argument("--dependency-sources", dest="sources", choices=("ours", "all"),
                        default="ours", help="ours (default): dependencies as .pyc only; "
                        "all: keep their .py too")
    parser.add_argument("--state", help="comma-separated state stores the deployment uses "
                        f"(default: all of {','.join(STATE_DRIVERS)})")
    parser.add_argument("--destination", help="comma-separated destination schemes "
                        f"(default: all of {','.join(DESTINATION_DRIVERS)})")
    parser.add_argument("--secrets", help="comma-separated secret stores settings may name "
                        f"(default: all of {','.join(SECRET_STORE_SDKS)}; 'none': no store)")
    parser.add_argument("--with-parquet", dest="parquet", action="store_true",
                        help="add the Parquet converter (DuckDB) for format: parquet")
    parser.add_argument("--settings", dest="config", type=Path, action="append", default=[],
                        help="a JSON file, or a folder of them, to put in the package's "
                        "config/ (COURIER_SCHEDULES=file:config/schedules.json); repeatable")
    args = parser.parse_args(argv)

    def listed(value: str | None) -> tuple[str, ...] | None:
        return tuple(p.strip() for p in value.split(",") if p.strip()) if value else None

    providers = listed(args.providers)
    for name in args.target:
        result = build(name, args.out, python=args.python, bundle_aws_sdk=args.bundle_aws_sdk,
                       compile_mode=args.compile_mode, interpreter=args.interpreter,
                       providers=providers, sources=args.sources,
                       state=listed(args.state), destinations=listed(args.destination),
                       secret_stores=() if args.secrets == "none" else listed(args.secrets),
                       config=tuple(args.config), parquet=args.parquet)
        print(result.summary())
        locked = f"lock={result.lock.relative_to(ROOT)} lock_sha256={lock_sha256(result.lock)}"
        if result.parquet:
            extra = lock_path(result.target.name, result.target.python, PARQUET_EXTRA)
            locked += (f" parquet_lock={extra.relative_to(ROOT)} "
                       f"parquet_lock_sha256={lock_sha256(extra)}")
        print(f"package: target={name} sha256={sha256(result.zip_path)} {locked}")
        for warning in result.warnings:
            print(f"package: target={name} warning: {warning}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
