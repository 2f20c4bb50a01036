"""The triggers of ``serverless.yml`` against those an SCF function has.

What the SCF pages say, and what this module does about it:

* ListTriggers shows a function URL (type ``http``) under a name the platform chose (its URL
  id), with its addresses inside ``TriggerDesc.NetConfig`` (``ExtranetUrl``, ``IntranetUrl``,
  …); the function URL overview shows ``https://<appid>-<id>-<region>.scf.tencentcs.com``.
  So our triggers are found by type and by the description we give them
  (``Description``), a timer also by its name, a URL also by its qualifier (one URL per
  version or alias); and the address is read from either place.
* UpdateTrigger updates timer (and ckafka) triggers only, and only ``Enable``,
  ``TriggerDesc``, ``Description`` and ``CustomArgument``. A function URL is never updated:
  when its settings really differ it is replaced (DeleteTrigger, CreateTrigger) on request
  only, because its address changes and callers break.
"""

from __future__ import annotations

import json
from typing import Any

from deploy.spec import FunctionSpec, ScfPlan, ScfTrigger

DESCRIPTION = "export-courier {name}"  # how our triggers are recognised
TIMER_UPDATE_FIELDS = ("Enable", "TriggerDesc", "Description", "CustomArgument")


def description(trigger: ScfTrigger) -> str:
    return DESCRIPTION.format(name=trigger.name)


def qualifier(trigger: ScfTrigger) -> str:
    return str(trigger.parameters.get("qualifier") or "$DEFAULT")


def trigger_request(plan: ScfPlan, fn: FunctionSpec, trigger: ScfTrigger) -> dict[str, Any]:
    """CreateTrigger's fields, as tencent-component-toolkit's timer and http modules form them,
    with our description."""
    params = trigger.parameters
    request: dict[str, Any] = {
        "FunctionName": fn.name, "Namespace": plan.namespace, "Type": trigger.type,
        "TriggerName": trigger.name, "Qualifier": qualifier(trigger),
        "Description": description(trigger),
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


def timer_update(have: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """UpdateTrigger's request for a timer: the trigger as it is named, the documented fields."""
    request = {k: wanted[k] for k in ("FunctionName", "Namespace", "Type", "Qualifier")}
    request["TriggerName"] = have.get("TriggerName") or wanted["TriggerName"]
    request.update({k: wanted.get(k, "") for k in TIMER_UPDATE_FIELDS})
    return request


def find(trigger: ScfTrigger, listed: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Our trigger among those listed: same type and our description; else a timer of the
    same name, or the function URL of the same qualifier."""
    same_type = [t for t in listed if t.get("Type") == trigger.type]
    for candidate in same_type:
        if candidate.get("Description") == description(trigger):
            return candidate
    for candidate in same_type:
        if trigger.type == "timer" and candidate.get("TriggerName") == trigger.name:
            return candidate
        if trigger.type == "http" and (candidate.get("Qualifier") or "$DEFAULT") == \
                qualifier(trigger):
            return candidate
    return None


def _desc(trigger: dict[str, Any]) -> Any:
    try:
        return json.loads(trigger.get("TriggerDesc") or "{}")
    except ValueError:
        return trigger.get("TriggerDesc") or ""


def differs(have: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """The settings of ``have`` that are not as ``wanted`` (CreateTrigger's fields)."""
    changed = []
    desc = _desc(have)
    if wanted["Type"] == "timer":
        cron = desc.get("cron", "") if isinstance(desc, dict) else str(desc)
        if " ".join(str(cron).split()) != " ".join(wanted["TriggerDesc"].split()):
            changed.append("cron")
        if (have.get("CustomArgument") or "") != wanted.get("CustomArgument", ""):
            changed.append("CustomArgument")
    else:
        want = json.loads(wanted["TriggerDesc"])
        desc = desc if isinstance(desc, dict) else {}
        if (desc.get("AuthType") or "NONE") != want["AuthType"]:
            changed.append("AuthType")
        net = desc.get("NetConfig")
        net = net if isinstance(net, dict) else {}
        for key, value in want["NetConfig"].items():
            if bool(net.get(key, False)) != value:
                changed.append(key)
    if int(have.get("Enable") or 0) != (1 if wanted["Enable"] == "OPEN" else 0):
        changed.append("Enable")
    if (have.get("Qualifier") or "$DEFAULT") != wanted["Qualifier"]:
        changed.append("Qualifier")
    return changed


def urls_in(trigger: dict[str, Any]) -> list[tuple[str, str]]:
    """``(kind, address)`` of a function URL, public first: from ``TriggerDesc.NetConfig``
    (ListTriggers example) or the top level of ``TriggerDesc`` (the form the function URL
    overview shows)."""
    desc = _desc(trigger)
    if not isinstance(desc, dict):
        return []
    net = desc.get("NetConfig")
    net = net if isinstance(net, dict) else {}
    found: list[tuple[str, str]] = []
    for kind, names in (("public", ("ExtranetUrl", "Url", "url")),
                        ("intranet", ("IntranetUrl",))):
        for place in (net, desc):
            for name in names:
                value = place.get(name)
                if isinstance(value, str) and value.startswith("https://") and \
                        value not in [url for _, url in found]:
                    found.append((kind, value))
    return found
