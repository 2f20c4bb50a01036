"""serverless.yml through tencent-component-toolkit's own formatters, offline, and the requests
it would send checked against tencentcloud-sdk-python-scf's models.

:func:`toolkit_inputs` builds what Tencent's multi-scf component hands the toolkit (its
``src/formatter.ts``: each function is the common inputs — namespace, runtime, description, the
uploaded code's bucket and object — overlaid with the function's own block, ``vpc`` renamed
``vpcConfig``, the name defaulting to ``<key>-<name>-<stage>-<app>``; each trigger gets the
namespace and ``function: {name}``). :func:`toolkit_requests` runs deploy/toolkit_requests.js
on them. :func:`model_problems` holds one request to the SDK's request model: every field known,
every value of the documented type (the models' ``:type X:`` lines), nested types included.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from deploy.spec import context_of, substitute

ROOT = Path(__file__).resolve().parent.parent
TOOLKIT_DIR = ROOT / "deploy" / ".tools" / "node_modules" / "tencent-component-toolkit"
SCRIPT = ROOT / "deploy" / "toolkit_requests.js"
WIRE_ONLY = {"Action", "Version"}  # common parameters, not fields of the request model
_TYPE = re.compile(r":type (\w+): (.+)")


class ToolkitError(Exception):
    """The toolkit or node is missing, or the script failed."""


def _resolve(value: Any, context: dict[str, str], env: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _resolve(v, context, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, context, env) for v in value]
    return substitute(value, context, env)


def toolkit_inputs(doc: dict[str, Any], env: dict[str, str],
                   code: dict[str, str]) -> dict[str, Any]:
    context = context_of(doc)
    inputs = _resolve(doc.get("inputs") or {}, context, env)
    namespace = inputs.get("namespace") or "default"
    common = {"namespace": namespace, "runtime": inputs.get("runtime"),
              "description": inputs.get("description"), "code": dict(code)}
    functions, names = [], {}
    for key, fn in (inputs.get("functions") or {}).items():
        scf = {**common, **(fn or {})}
        scf["name"] = scf.get("name") or (f"{key}-{context.get('name')}-{context.get('stage')}"
                                          f"-{context.get('app')}")
        if scf.get("vpc"):
            scf["vpcConfig"] = scf["vpc"]
        names[key] = scf["name"]
        functions.append(scf)
    triggers = []
    for item in inputs.get("triggers") or []:
        trigger = {**item, "namespace": namespace,
                   "function": {"name": names.get(str(item.get("function")), "")}}
        triggers.append(trigger)
    return {"region": inputs.get("region") or "ap-guangzhou", "namespace": namespace,
            "functions": functions, "triggers": triggers}


def toolkit_requests(payload: dict[str, Any], toolkit_dir: Path = TOOLKIT_DIR,
                     timeout_s: float = 120.0) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        raise ToolkitError("node not found (Node.js 18+)")
    if not (toolkit_dir / "package.json").is_file():
        raise ToolkitError(f"tencent-component-toolkit not in {toolkit_dir}: run "
                           "bash deploy/install_serverless.sh")
    done = subprocess.run(  # noqa: S603 - our script, our input
        [node, str(SCRIPT)], input=json.dumps(payload), capture_output=True, text=True,
        timeout=timeout_s, env={"TOOLKIT_DIR": str(toolkit_dir), "PATH": "/usr/bin:/bin"},
        check=False)
    if done.returncode != 0:
        raise ToolkitError(f"toolkit_requests.js failed: {done.stderr.strip()[-2000:]}")
    recorded: list[dict[str, Any]] = json.loads(done.stdout)
    return recorded


def _field_types(model: type) -> dict[str, str]:
    return dict(_TYPE.findall(model.__init__.__doc__ or ""))


def _type_problems(where: str, value: Any, declared: str, models: Any) -> list[str]:
    declared = declared.strip()
    if declared.startswith("list of "):
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__}, expected a list"]
        inner = declared[len("list of "):]
        out = []
        for i, item in enumerate(value):
            out += _type_problems(f"{where}[{i}]", item, inner, models)
        return out
    klass = re.fullmatch(r":class:`[\w.]+\.(\w+)`", declared)
    name = klass.group(1) if klass else declared
    if name in ("str",):
        ok = isinstance(value, str)
    elif name in ("int",):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif name in ("float",):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif name in ("bool",):
        ok = isinstance(value, bool)
    else:
        model = getattr(models, name, None)
        if model is None:
            return [f"{where}: the model's type {declared!r} is unknown here"]
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, expected an object ({name})"]
        return _object_problems(where, value, model, models)
    return [] if ok else [f"{where}: {type(value).__name__} {value!r}, expected {name}"]


def _object_problems(where: str, value: dict[str, Any], model: type, models: Any) -> list[str]:
    types = _field_types(model)
    out = []
    for key, item in value.items():
        if key not in types:
            out.append(f"{where}.{key}: not a field of {model.__name__}")
            continue
        out += _type_problems(f"{where}.{key}", item, types[key], models)
    return out


def model_problems(request: dict[str, Any]) -> list[str]:
    """What in one recorded SCF request tencentcloud-sdk-python-scf's model would not take."""
    from tencentcloud.scf.v20180416 import models

    action = str(request.get("Action") or "")
    model = getattr(models, f"{action}Request", None)
    if model is None:
        return [f"{action}: no {action}Request in the SDK"]
    if request.get("Version") != "2018-04-16":
        return [f"{action}: Version {request.get('Version')!r}, the SDK's is 2018-04-16"]
    fields = {k: v for k, v in request.items() if k not in WIRE_ONLY}
    return _object_problems(action, fields, model, models)
