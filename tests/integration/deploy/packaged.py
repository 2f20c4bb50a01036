"""Run the import probe against an unpacked deployment package (see deploy/localrun.py)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from deploy.localrun import clean_env
from deploy.package import TARGETS

PROBE = r"""
import importlib, json, pkgutil, sys
report = {"handlers": {}, "modules": {}, "absent": {}, "paths": {}}
for name, spec in HANDLERS.items():
    module_name, attr = spec.rsplit(".", 1)
    try:
        module = importlib.import_module(module_name.replace("/", "."))
        report["handlers"][name] = callable(getattr(module, attr, None))
    except Exception as exc:
        report["handlers"][name] = "%s: %s" % (type(exc).__name__, exc)
for package in ("shared", "functions"):
    root = importlib.import_module(package)
    report["paths"][package] = root.__path__[0]
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        try:
            importlib.import_module(info.name)
            report["modules"][info.name] = True
        except Exception as exc:
            report["modules"][info.name] = "%s: %s" % (type(exc).__name__, exc)
for name in ("sandbox", "tests", "courier", "deploy", "pytest", "moto"):
    try:
        importlib.import_module(name)
        report["absent"][name] = False
    except ImportError:
        report["absent"][name] = True
report["version"] = "%d.%d" % sys.version_info[:2]
print(json.dumps(report))
"""


def probe(python: Path, path: list[Path], handlers: dict[str, str], cwd: Path) -> dict[str, Any]:
    """Import every handler and every module of the package; report what failed."""
    env = clean_env(path)
    code = f"HANDLERS = {json.dumps(handlers)}\n{PROBE}"
    done = subprocess.run([str(python), "-c", code], cwd=cwd, env=env,  # noqa: S603
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def handler_specs(target: str) -> dict[str, str]:
    return {key: TARGETS[target].handler(key) for key in ("create", "poll", "complete")}
