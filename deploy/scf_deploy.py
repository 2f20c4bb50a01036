"""Create or update the SCF functions of ``serverless.yml`` through the SCF API.

What Tencent's own CLI (``scf deploy`` of serverless-cloud-framework, component multi-scf) does
for this descriptor, with tencentcloud-sdk-python-scf: for each function GetFunction, then
CreateFunction or UpdateFunctionCode / UpdateFunctionConfiguration when something differs,
then its timers and its function URL with CreateTrigger / UpdateTrigger (after ListTriggers).
Re-running with nothing changed calls only the reads. The package's SHA-256 is kept in each
function's environment (``COURIER_PACKAGE_SHA256``, read by nothing) so a code change is seen.
The code goes inline or, above SCF's 20 MB inline limit, from a COS object
(:mod:`deploy.scf_code`).

Every write is reported as it is made; a refused call stops the run with the action and the
function named, after what was already done.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.scf_code import BUCKET_ENV, CodeSource, InlineCode
from deploy.spec import FunctionSpec, ScfPlan, ScfTrigger, load_yaml, scf_plan, unresolved

PACKAGE_SHA_ENV = "COURIER_PACKAGE_SHA256"
ZIP_LIMIT = 20 * 1024 * 1024  # UpdateFunctionCode's ZipFile limit (models.py), the lower one
ORDER = ("complete", "poll", "create")  # create last: its URL is what the run prints


class DeployError(Exception):
    """Stops a deploy with a message naming the setting or the refused action."""


@dataclass
class Step:
    action: str
    target: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.action} {self.target}" + (f" ({self.detail})" if self.detail else "")


@dataclass
class Outcome:
    steps: list[Step] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)  # triggers not in the descriptor


def read_plan(descriptor: Path, env: dict[str, str]) -> ScfPlan:
    """The descriptor with the shell's settings filled in; every missing one named."""
    if not descriptor.is_file():
        raise DeployError(f"{descriptor}: no such descriptor")
    try:
        plan = scf_plan(load_yaml(descriptor), env)
    except (ValueError, TypeError, AttributeError) as exc:
        raise DeployError(f"{descriptor.name}: cannot read it: {exc}") from exc
    missing: set[str] = set()
    for fn in plan.functions.values():
        for value in [fn.name, fn.role or "", *fn.env.values(), *fn.vpc.values()]:
            missing |= {ref[4:] if ref.startswith("env:") else ref for ref in unresolved(value)}
    if missing:
        raise DeployError(f"{descriptor.name} needs {', '.join(sorted(missing))}: set "
                          f"{'it' if len(missing) == 1 else 'them'} in the deploying shell")
    if set(plan.functions) != set(ORDER):
        raise DeployError(f"{descriptor.name}: functions are {sorted(plan.functions)}, "
                          f"expected {', '.join(sorted(ORDER))}")
    return plan


def plan_warnings(plan: ScfPlan) -> list[str]:
    """What will deploy but not work: a state store at a private address (TencentDB in a
    VPC) reached by a function outside any VPC."""
    import ipaddress
    from urllib.parse import urlsplit

    outside: dict[str, list[str]] = {}
    for fn in plan.functions.values():
        try:
            host = urlsplit(fn.env.get("COURIER_STATE_URL", "")).hostname or ""
            private = ipaddress.ip_address(host).is_private
        except ValueError:
            continue
        if private and not fn.vpc:
            outside.setdefault(host, []).append(fn.name)
    return [f"COURIER_STATE_URL is at {host}, a private address, and {', '.join(names)} "
            f"{'has' if len(names) == 1 else 'have'} no vpc: a function reaches the database "
            "only from inside the database's VPC (vpc: {vpcId, subnetId}; docs/deploy.md)"
            for host, names in outside.items()]


def read_package(path: Path, through_cos: bool = False) -> bytes:
    if not path.is_file():
        raise DeployError(f"package {path} not found: build it first "
                          "(make package, or python deploy/package.py --target scf)")
    data = path.read_bytes()
    if len(data) > ZIP_LIMIT and not through_cos:
        raise DeployError(f"package {path} is {len(data) / 2**20:.1f} MB; SCF takes at most "
                          f"{ZIP_LIMIT // 2**20} MB inline (UpdateFunctionCode ZipFile): set "
                          f"{BUCKET_ENV} (a COS bucket, <name>-<appid>) to deploy it through "
                          "COS, or build a trimmed one (--providers, --state, --destination; "
                          "docs/deploy.md)")
    return data


def function_request(plan: ScfPlan, fn: FunctionSpec, sha: str) -> dict[str, Any]:
    """The configuration fields of CreateFunction / UpdateFunctionConfiguration."""
    env = {**fn.env, PACKAGE_SHA_ENV: sha}
    request: dict[str, Any] = {
        "FunctionName": fn.name, "Namespace": plan.namespace, "MemorySize": fn.memory_mb,
        "Timeout": fn.timeout_s,
        "Environment": {"Variables": [{"Key": k, "Value": v} for k, v in sorted(env.items())]},
    }
    if fn.role:
        request["Role"] = fn.role
    if fn.description:
        request["Description"] = fn.description
    if fn.vpc:
        request["VpcConfig"] = {"VpcId": fn.vpc.get("vpcId", ""),
                                "SubnetId": fn.vpc.get("subnetId", "")}
    if fn.cls:
        request.update(ClsLogsetId=fn.cls.get("logsetId", ""), ClsTopicId=fn.cls.get("topicId", ""))
    return request


def trigger_request(plan: ScfPlan, fn: FunctionSpec, trigger: ScfTrigger) -> dict[str, Any]:
    """CreateTrigger's fields, as tencent-component-toolkit's timer and http modules form them."""
    params = trigger.parameters
    request: dict[str, Any] = {
        "FunctionName": fn.name, "Namespace": plan.namespace, "Type": trigger.type,
        "TriggerName": trigger.name, "Qualifier": str(params.get("qualifier") or "$DEFAULT"),
    }
    if trigger.type == "timer":
        request["TriggerDesc"] = str(params.get("cronExpression") or "")
        request["Enable"] = "OPEN" if params.get("enable") else "CLOSE"
        if params.get("argument") is not None:
            request["CustomArgument"] = str(params["argument"])
    else:
        net = params.get("netConfig") or {}
        request["TriggerDesc"] = json.dumps({
            "AuthType": str(params.get("authType") or "NONE"),
            "NetConfig": {"EnableIntranet": bool(net.get("enableIntranet", False)),
                          "EnableExtranet": bool(net.get("enableExtranet", False))}})
        request["Enable"] = "OPEN"
    return request


def _differs(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    changed = []
    for key, value in wanted.items():
        if key in ("FunctionName", "Namespace"):
            continue
        have = current.get(key)
        if key == "Environment":
            have = {v["Key"]: v["Value"] for v in (have or {}).get("Variables") or []}
            value = {v["Key"]: v["Value"] for v in value["Variables"]}
        elif key == "VpcConfig":
            have = {k: (have or {}).get(k) or "" for k in ("VpcId", "SubnetId")}
        if have != value:
            changed.append(key)
    return changed


def _trigger_differs(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    changed = []
    have_desc, want_desc = current.get("TriggerDesc") or "", wanted["TriggerDesc"]
    if wanted["Type"] == "timer":
        try:
            have_desc = json.loads(have_desc).get("cron", have_desc)
        except (ValueError, AttributeError):
            pass
        if have_desc != want_desc:
            changed.append("cron")
    else:
        try:
            have = json.loads(have_desc)
        except ValueError:
            have = {}
        want = json.loads(want_desc)
        if {k: have.get(k) for k in want} != want:
            changed.append("TriggerDesc")
    if int(current.get("Enable") or 0) != (1 if wanted["Enable"] == "OPEN" else 0):
        changed.append("Enable")
    if (current.get("Qualifier") or "$DEFAULT") != wanted["Qualifier"]:
        changed.append("Qualifier")
    if (current.get("CustomArgument") or "") != wanted.get("CustomArgument", ""):
        changed.append("CustomArgument")
    return changed


def urls_in(trigger: dict[str, Any]) -> list[str]:
    """The function URL addresses in a trigger's TriggerDesc (field name unconfirmed: any
    ``https://…scf.tencentcs.com`` value)."""
    try:
        desc = json.loads(trigger.get("TriggerDesc") or "{}")
    except ValueError:
        return []
    values = desc.values() if isinstance(desc, dict) else []
    return sorted(v for v in values if isinstance(v, str) and v.startswith("https://")
                  and ".scf.tencentcs.com" in v)


Call = Callable[[str, dict[str, Any]], dict[str, Any]]


class ScfDeployer:
    """``call(action, params) -> response`` is the SCF API (an SDK client in production)."""

    def __init__(self, call: Call, plan: ScfPlan, package: bytes, *, dry_run: bool = False,
                 wait_s: float = 60.0, say: Callable[[str], None] = print,
                 code: CodeSource | None = None) -> None:
        self.call, self.plan, self.package = call, plan, package
        self.sha = hashlib.sha256(package).hexdigest()
        self.code: CodeSource = code or InlineCode(package)
        self.dry_run, self.wait_s, self.say = dry_run, wait_s, say
        self.outcome = Outcome()

    def run(self) -> Outcome:
        for key in ORDER:
            self.function(self.plan.functions[key])
        return self.outcome

    def _write(self, action: str, target: str, params: dict[str, Any], detail: str = "",
               ) -> dict[str, Any]:
        step = Step(action, target, detail)
        self.say(("would " if self.dry_run else "") + str(step))
        if self.dry_run:
            self.outcome.steps.append(step)
            return {}
        answer = self._call(action, target, params)
        self.outcome.steps.append(step)
        return answer

    def _call(self, action: str, target: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.call(action, params)
        except DeployError:
            raise
        except Exception as exc:  # noqa: BLE001 - every SDK error becomes a named refusal
            code = getattr(exc, "code", None) or type(exc).__name__
            message = getattr(exc, "message", None) or str(exc)
            done = "; ".join(str(s) for s in self.outcome.steps) or "nothing"
            raise DeployError(f"SCF refused {action} for {target}: {code}: {message} "
                              f"(done before it: {done})") from exc

    def _get(self, fn: FunctionSpec) -> dict[str, Any] | None:
        try:
            return self.call("GetFunction", {"FunctionName": fn.name,
                                             "Namespace": self.plan.namespace})
        except Exception as exc:  # noqa: BLE001
            if str(getattr(exc, "code", "")).startswith("ResourceNotFound"):
                return None
            return self._call("GetFunction", fn.name, {"FunctionName": fn.name,
                                                       "Namespace": self.plan.namespace})

    def _settle(self, fn: FunctionSpec) -> dict[str, Any]:
        """Wait until the function is Active again (creates and updates are asynchronous)."""
        deadline = time.monotonic() + self.wait_s
        while True:
            current = self._get(fn) or {}
            status = current.get("Status", "Active")
            if status == "Active":
                return current
            if status.endswith("Failed"):
                raise DeployError(f"{fn.name} is {status}: {current.get('StatusDesc') or ''}")
            if time.monotonic() > deadline:
                raise DeployError(f"{fn.name} is still {status} after {self.wait_s:.0f} s")
            time.sleep(0.2)

    def function(self, fn: FunctionSpec) -> None:
        config = function_request(self.plan, fn, self.sha)
        current = self._get(fn)
        if current is None:
            self._write("CreateFunction", fn.name, {
                **config, "Handler": fn.handler, "Runtime": self.plan.runtime, "Type": "Event",
                "Code": self.code.create_fields()},
                f"{self.plan.runtime}, {fn.memory_mb} MB, code {self.code.describe()}")
            if self.dry_run:
                for trigger in self._triggers(fn):
                    self._write("CreateTrigger", f"{fn.name}/{trigger.name}", {}, trigger.type)
                return
            current = self._settle(fn)
        else:
            if current.get("Runtime") and current["Runtime"] != self.plan.runtime:
                raise DeployError(
                    f"{fn.name} runs {current['Runtime']} and serverless.yml says "
                    f"{self.plan.runtime}: SCF cannot change a function's runtime (inputs."
                    "runtime); remove the function or give it another name")
            env = {v["Key"]: v["Value"] for v in
                   (current.get("Environment") or {}).get("Variables") or []}
            if env.get(PACKAGE_SHA_ENV) != self.sha or current.get("Handler") != fn.handler:
                self._write("UpdateFunctionCode", fn.name, {
                    "FunctionName": fn.name, "Namespace": self.plan.namespace,
                    "Handler": fn.handler, **self.code.update_fields()},
                    f"package {self.sha[:12]}, {self.code.describe()}")
                if not self.dry_run:
                    current = self._settle(fn)
            changed = _differs(current, config)
            if changed:
                self._write("UpdateFunctionConfiguration", fn.name, config, ", ".join(changed))
                if not self.dry_run:
                    current = self._settle(fn)
        self.triggers(fn)

    def _triggers(self, fn: FunctionSpec) -> list[ScfTrigger]:
        return [t for t in self.plan.triggers if t.function == fn.key]

    def triggers(self, fn: FunctionSpec) -> None:
        listed = self._call("ListTriggers", fn.name, {
            "FunctionName": fn.name, "Namespace": self.plan.namespace, "Limit": 100})
        existing = {(t.get("Type"), t.get("TriggerName")): t for t in listed.get("Triggers") or []}
        for trigger in self._triggers(fn):
            wanted = trigger_request(self.plan, fn, trigger)
            target = f"{fn.name}/{trigger.name}"
            have = existing.pop((trigger.type, trigger.name), None)
            if have is None:
                answer = self._write("CreateTrigger", target, wanted, trigger.type)
                have = answer.get("TriggerInfo") or {}
            else:
                changed = _trigger_differs(have, wanted)
                if changed:
                    self._write("UpdateTrigger", target, wanted, ", ".join(changed))
            if trigger.type == "http":
                self.outcome.urls += urls_in(have)
        if any(t.type == "http" for t in self._triggers(fn)) and not self.outcome.urls \
                and not self.dry_run:
            listed = self._call("ListTriggers", fn.name, {
                "FunctionName": fn.name, "Namespace": self.plan.namespace, "Limit": 100})
            for t in listed.get("Triggers") or []:
                if t.get("Type") == "http":
                    self.outcome.urls += urls_in(t)
        self.outcome.unmanaged += [f"{fn.name}/{name} ({kind})" for kind, name in existing]
