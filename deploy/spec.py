"""The SCF descriptor (``serverless.yml``, component multi-scf) read into plain data.

Both the descriptor checks (:mod:`deploy.descriptors`) and ``courier deploy scf``
(:mod:`deploy.scf_deploy`) read the file through here, so what is checked is what is deployed.
Variables are resolved as multi-scf does: ``${app}``, ``${stage}``, ``${name}``, ``${org}`` from
the top of the file and ``${env:NAME}`` from the deploying shell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Trigger types this descriptor may use. `apigw` is retired for SCF (offline 2025-06-30).
SCF_TRIGGER_TYPES = {"timer", "http"}
_VAR = re.compile(r"\$\{([^}]+)\}")


@dataclass
class FunctionSpec:
    key: str
    name: str
    handler: str
    memory_mb: int
    timeout_s: int
    env: dict[str, str] = field(default_factory=dict)
    crons: list[tuple[str, str]] = field(default_factory=list)  # (trigger name, expression)
    role: str | None = None
    description: str | None = None
    vpc: dict[str, str] = field(default_factory=dict)  # vpcId, subnetId
    cls: dict[str, str] = field(default_factory=dict)  # logsetId, topicId


@dataclass
class ScfTrigger:
    type: str  # timer | http
    function: str  # the key under inputs.functions
    name: str
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class ScfPlan:
    region: str
    namespace: str
    runtime: str
    src: str
    functions: dict[str, FunctionSpec]
    triggers: list[ScfTrigger]


def load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    # Serverless v3 tags (!Ref, !GetAtt …) are not used in our descriptors; safe_load suffices.
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: not a mapping")
    return data


def substitute(value: Any, context: dict[str, str], env: dict[str, str]) -> Any:
    """Resolve ``${app}``, ``${stage}``, ``${name}``, ``${env:X}`` (multi-scf variables).
    A reference that cannot be resolved stays as written, for the checks to name."""
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        ref = match.group(1).strip()
        if ref.startswith("env:"):
            return env.get(ref[4:], match.group(0))
        return context.get(ref, match.group(0))

    return _VAR.sub(one, value)


def context_of(doc: dict[str, Any]) -> dict[str, str]:
    return {k: str(doc[k]) for k in ("app", "stage", "name", "org") if k in doc}


def _text_map(value: Any, context: dict[str, str], env: dict[str, str]) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(substitute(v, context, env)) for k, v in value.items() if v is not None}


def scf_functions(doc: dict[str, Any], env: dict[str, str]) -> dict[str, FunctionSpec]:
    context = context_of(doc)
    inputs = doc.get("inputs") or {}
    specs: dict[str, FunctionSpec] = {}
    for key, fn in (inputs.get("functions") or {}).items():
        fn = fn or {}
        variables = ((fn.get("environment") or {}).get("variables") or {})
        role = substitute(fn.get("role"), context, env)
        description = fn.get("description") or inputs.get("description")
        specs[key] = FunctionSpec(
            key=key,
            name=substitute(fn.get("name") or f"{key}-{context.get('name')}-"
                            f"{context.get('stage')}-{context.get('app')}", context, env),
            handler=str(fn.get("handler") or ""),
            memory_mb=int(fn.get("memorySize") or 128),
            timeout_s=int(fn.get("timeout") or 3),
            env={k: str(substitute(v, context, env)) for k, v in variables.items()},
            role=str(role) if role else None,
            description=str(description) if description else None,
            # multi-scf takes `vpc` (renamed vpcConfig for the toolkit) or `vpcConfig`
            vpc=_text_map(fn.get("vpc") or fn.get("vpcConfig"), context, env),
            cls=_text_map(fn.get("cls"), context, env),
        )
    for trigger in scf_triggers(doc):
        if trigger.type == "timer" and trigger.function in specs:
            specs[trigger.function].crons.append(
                (trigger.name, str(trigger.parameters.get("cronExpression"))))
    return specs


def scf_triggers(doc: dict[str, Any]) -> list[ScfTrigger]:
    triggers = []
    for item in (doc.get("inputs") or {}).get("triggers") or []:
        item = item or {}
        params = dict(item.get("parameters") or {})
        kind = str(item.get("type") or "")
        default = "url-trigger" if kind == "http" else kind
        triggers.append(ScfTrigger(type=kind, function=str(item.get("function") or ""),
                                   name=str(params.get("name") or default), parameters=params))
    return triggers


def scf_plan(doc: dict[str, Any], env: dict[str, str]) -> ScfPlan:
    inputs = doc.get("inputs") or {}
    context = context_of(doc)
    return ScfPlan(
        region=str(substitute(inputs.get("region") or "ap-guangzhou", context, env)),
        namespace=str(substitute(inputs.get("namespace") or "default", context, env)),
        runtime=str(inputs.get("runtime") or ""),
        src=str((inputs.get("src") or {}).get("src", "")),
        functions=scf_functions(doc, env),
        triggers=scf_triggers(doc),
    )


def unresolved(value: str) -> list[str]:
    """The ``${…}`` references left in a resolved value (a setting the shell did not give)."""
    return [m.group(1) for m in _VAR.finditer(value)]
