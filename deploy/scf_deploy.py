"""Create or update the SCF functions of ``serverless.yml`` through the SCF API.

What Tencent's own CLI (``scf deploy`` of serverless-cloud-framework, component multi-scf) does
for this descriptor, with tencentcloud-sdk-python-scf: for each function GetFunction, then
CreateFunction or UpdateFunctionCode / UpdateFunctionConfiguration when something differs,
then its timers and its function URL (:mod:`deploy.scf_triggers`: a timer is updated in
place, a function URL only replaced on request). Re-running with nothing changed calls only
the reads. The package's SHA-256 is kept in each function's environment
(``COURIER_PACKAGE_SHA256``, read by nothing) so a code change is seen. The code goes inline
when the request carrying it fits the API's request limit, else from a COS object
(:mod:`deploy.scf_code`).

A run first plans with reads only (what ``--dry-run`` shows) and changes nothing when the
plan has a blocking problem; then it makes the writes, each reported as it is made. A call
refused part way stops the run, naming the action, what was already changed and what to do.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy.scf_code import REQUEST_LIMIT, CodeSource, InlineCode
from deploy.scf_triggers import differs, find, timer_update, trigger_request, urls_in
from deploy.spec import FunctionSpec, ScfPlan, ScfTrigger, load_yaml, scf_plan, unresolved

PACKAGE_SHA_ENV = "COURIER_PACKAGE_SHA256"
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
    urls: list[tuple[str, str]] = field(default_factory=list)  # (public|intranet, address)
    unmanaged: list[str] = field(default_factory=list)  # triggers not in the descriptor
    blocked: list[str] = field(default_factory=list)  # what stops the run before any change


def read_plan(descriptor: Path, env: dict[str, str]) -> ScfPlan:
    """The descriptor with the shell's settings filled in; every missing one named."""
    if not descriptor.is_file():
        raise DeployError(f"{descriptor}: no such descriptor")
    try:
        plan = scf_plan(load_yaml(descriptor), env)
    except (ValueError, TypeError, AttributeError) as exc:
        raise DeployError(f"{descriptor.name}: cannot read it: {exc}") from exc
    if set(plan.functions) != set(ORDER):
        raise DeployError(f"{descriptor.name}: functions are {sorted(plan.functions)}, "
                          f"expected {', '.join(sorted(ORDER))}")
    return plan


def missing_settings(plan: ScfPlan, descriptor: Path) -> list[str]:
    """The ``${env:…}`` settings the deploying shell did not give, as one problem."""
    missing: set[str] = set()
    for fn in plan.functions.values():
        for value in [fn.name, fn.role or "", *fn.env.values(), *fn.vpc.values()]:
            missing |= {ref[4:] if ref.startswith("env:") else ref for ref in unresolved(value)}
    if not missing:
        return []
    return [f"{descriptor.name} needs {', '.join(sorted(missing))}: set "
            f"{'it' if len(missing) == 1 else 'them'} in the deploying shell"]


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


def read_package(path: Path) -> bytes:
    if not path.is_file():
        raise DeployError(f"package {path} not found: build it first "
                          "(make package, or python deploy/package.py --target scf)")
    return path.read_bytes()


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


Call = Callable[[str, dict[str, Any]], dict[str, Any]]


class ScfDeployer:
    """``call(action, params) -> response`` is the SCF API (an SDK client in production).
    With ``dry_run`` only the reads are made; the writes are listed and every blocking
    problem is collected in ``outcome.blocked``."""

    def __init__(self, call: Call, plan: ScfPlan, package: bytes, *, dry_run: bool = False,
                 wait_s: float = 60.0, say: Callable[[str], None] = print,
                 code: CodeSource | None = None, replace_url: bool = False) -> None:
        self.call, self.plan, self.package = call, plan, package
        self.sha = hashlib.sha256(package).hexdigest()
        self.code: CodeSource = code or InlineCode(package)
        self.dry_run, self.wait_s, self.say = dry_run, wait_s, say
        self.replace_url = replace_url
        self.size_checked = False  # True: the caller already refused an oversized package
        self.outcome = Outcome()

    def run(self) -> Outcome:
        for key in ORDER:
            self.function(self.plan.functions[key])
        return self.outcome

    def _block(self, problem: str) -> None:
        if not self.dry_run:  # the plan passed, so the account changed meanwhile
            raise DeployError(f"{problem} (found part way: {self._done()})")
        self.outcome.blocked.append(problem)

    def _done(self) -> str:
        steps = "; ".join(str(s) for s in self.outcome.steps)
        return (f"already changed: {steps}" if steps else "nothing was changed")

    def _write(self, action: str, target: str, params: dict[str, Any], detail: str = "",
               ) -> dict[str, Any]:
        step = Step(action, target, detail)
        self.say(("would " if self.dry_run else "") + str(step))
        size = len(json.dumps(params).encode())
        if size > REQUEST_LIMIT and not self.size_checked:
            self._block(f"{action} {target} would send a {size / 1e6:.1f} MB request; the SCF "
                        f"API takes at most {REQUEST_LIMIT / 1e6:.0f} MB per request")
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
            code = getattr(exc, "code", None) or "error"
            message = getattr(exc, "message", None) or str(exc)
            raise DeployError(
                f"SCF refused {action} for {target}: {code}: {message} (done before it: "
                f"{'; '.join(str(s) for s in self.outcome.steps) or 'nothing'}). Nothing is "
                "rolled back: fix the cause and run the same command again; it changes only "
                "what still differs") from exc

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
                raise DeployError(f"{fn.name} is {status}: {current.get('StatusDesc') or ''} "
                                  f"({self._done()})")
            if time.monotonic() > deadline:
                raise DeployError(f"{fn.name} is still {status} after {self.wait_s:.0f} s "
                                  f"({self._done()}); run again once it is Active")
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
                    self._write("CreateTrigger", f"{fn.name}/{trigger.name}",
                                trigger_request(self.plan, fn, trigger), trigger.type)
                return
            current = self._settle(fn)
        else:
            if current.get("Runtime") and current["Runtime"] != self.plan.runtime:
                self._block(f"{fn.name} runs {current['Runtime']} and serverless.yml says "
                            f"{self.plan.runtime}: SCF cannot change a function's runtime "
                            "(inputs.runtime); remove the function or give it another name")
                self.triggers(fn)
                return
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

    def _list(self, fn: FunctionSpec) -> list[dict[str, Any]]:
        listed = self._call("ListTriggers", fn.name, {
            "FunctionName": fn.name, "Namespace": self.plan.namespace, "Limit": 100})
        return list(listed.get("Triggers") or [])

    def triggers(self, fn: FunctionSpec) -> None:
        listed = self._list(fn)
        for trigger in self._triggers(fn):
            wanted = trigger_request(self.plan, fn, trigger)
            target = f"{fn.name}/{trigger.name}"
            have = find(trigger, listed)
            if have is not None:
                listed.remove(have)
                changed = differs(have, wanted)
                if changed and (trigger.type == "http" or "Qualifier" in changed):
                    have = self._replace(trigger, have, wanted, target, changed)
                elif changed:
                    self._write("UpdateTrigger", target, timer_update(have, wanted),
                                ", ".join(changed))
            if have is None:
                answer = self._write("CreateTrigger", target, wanted, trigger.type)
                have = answer.get("TriggerInfo") or {}
            if trigger.type == "http":
                self.outcome.urls += urls_in(have)
        if any(t.type == "http" for t in self._triggers(fn)) and not self.outcome.urls \
                and not self.dry_run:
            for t in self._list(fn):
                if t.get("Type") == "http":
                    self.outcome.urls += urls_in(t)
        self.outcome.unmanaged += [f"{fn.name}/{t.get('TriggerName')} ({t.get('Type')})"
                                   for t in listed]

    def _replace(self, trigger: ScfTrigger, have: dict[str, Any], wanted: dict[str, Any],
                 target: str, changed: list[str]) -> dict[str, Any] | None:
        """A trigger SCF cannot update in place: the function URL (its address changes, so
        only with ``replace_url``), or a timer moved to another qualifier. None: recreate."""
        what = ", ".join(changed)
        if trigger.type == "http" and not self.replace_url:
            self._block(f"the function URL of {target.split('/')[0]} differs from "
                        f"serverless.yml ({what}); SCF cannot update a function URL in place. "
                        "Run again with --replace-url to delete it and create a new one: its "
                        "address changes and every caller must move to the new one (or undo "
                        "the change in serverless.yml)")
            return have
        self._write("DeleteTrigger", f"{target} ({have.get('TriggerName')})", {
            "FunctionName": wanted["FunctionName"], "Namespace": wanted["Namespace"],
            "Type": trigger.type, "TriggerName": have.get("TriggerName") or trigger.name,
            "Qualifier": have.get("Qualifier") or "$DEFAULT"}, what)
        return None
