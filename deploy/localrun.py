"""Stand-ins for the platform runtimes on this machine: run Python against an unpacked package.

A package is run the way the platform runs it: unzipped into an empty directory, imported by a
fresh interpreter of the runtime's Python version that sees nothing else. The Lambda runtime's
own boto3 is imitated by a second directory on the path, after the code, holding copies of the
AWS SDK packages from the current environment (as ``/var/runtime`` on Lambda).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

from deploy.package import AWS_SDK, find_interpreter

# what the Lambda runtime carries besides boto3 itself, and boto3 needs
RUNTIME_EXTRAS = ("jmespath", "dateutil", "six.py", "urllib3")


def unpack(zip_path: Path, where: Path, *, strip_bytecode: bool = False) -> Path:
    """Unzip into ``where/task`` (once); ``strip_bytecode`` leaves the .pyc files out."""
    task = where / "task"
    if not task.exists():
        with zipfile.ZipFile(zip_path) as zf:
            members = [n for n in zf.namelist()
                       if not (strip_bytecode and (n.endswith(".pyc") or "__pycache__/" in n))]
            zf.extractall(task, members)
    return task


def lambda_runtime_dir(where: Path) -> Path:
    """``where/runtime``: the AWS SDK as the Lambda Python runtime provides it."""
    runtime = where / "runtime"
    if runtime.exists():
        return runtime
    runtime.mkdir(parents=True)
    import boto3

    site = Path(boto3.__file__).resolve().parent.parent
    for name in (*AWS_SDK, *RUNTIME_EXTRAS):
        source = site / name
        if source.is_dir():
            shutil.copytree(source, runtime / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.is_file():
            shutil.copy2(source, runtime / name)
    return runtime


def fresh_python(version: str, where: Path) -> Path | None:
    """A new, empty virtual environment of CPython ``version``; None if none is installed."""
    interpreter = find_interpreter(version)
    if interpreter is None:
        return None
    env_dir = where / f"venv{version}"
    python = env_dir / "bin" / "python"
    if not python.exists():
        if Path(interpreter).resolve() == Path(sys.executable).resolve():
            venv.EnvBuilder(with_pip=False, clear=True).create(env_dir)
        else:
            subprocess.run([interpreter, "-m", "venv", "--without-pip",  # noqa: S603
                            str(env_dir)], check=True, timeout=120)
    return python


def runtime_path(target: str, task: Path, where: Path) -> list[Path]:
    """What the platform puts on ``sys.path`` for our code, in order."""
    return [task] + ([lambda_runtime_dir(where)] if target == "lambda" else [])


def clean_env(path: list[Path], **extra: str) -> dict[str, str]:
    """An environment with nothing of ours in it but ``PYTHONPATH``."""
    return {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.pathsep.join(map(str, path)),
            "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8",
            **extra}
