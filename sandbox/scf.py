"""SCF management API (service ``scf``, API 2018-04-16): functions, their code, timers and the
function URL — what a deploy tool calls.

Written from the request/response models of tencentcloud-sdk-python-scf
(``scf/v20180416/models.py``: CreateFunctionRequest, UpdateFunctionCodeRequest,
UpdateFunctionConfigurationRequest, GetFunctionResponse, CreateTriggerRequest, UpdateTriggerRequest,
ListTriggersResponse, Trigger/TriggerInfo), its ``errorcodes.py``, and the function URL pages
(Tencent docs 583/96099, 583/100227). Limits from the models' docstrings: names 2-60 characters,
letter first, no ``-``/``_`` last; memory 64 or 128-3072 MB in steps of 128; timeout 1-900 s;
a ZipFile is base64 (CreateFunction ≤ 50 MB, UpdateFunctionCode ≤ 20 MB); ``Runtime`` cannot be
changed after creation; one function URL per version or alias. Code may instead come from COS
(``Code.CosBucketName`` without ``-<appid>``, ``CosObjectName`` starting with ``/``,
``CosBucketRegion``; top-level on UpdateFunctionCode): read from ``self.cos`` (the sandbox COS
gateway), ``ResourceNotFound.CosObject`` / ``ResourceNotFound.Cos`` when the object / bucket is
missing (errorcodes.py); at most 500 MB unzipped (SCF quota page, doc 583/11637).

Triggers follow the UpdateTrigger page (583/96828: only timer and ckafka triggers are updated,
fields Enable, TriggerDesc, Description, CustomArgument; 5- and 7-field crons) and the
published ListTriggers / CreateTrigger examples: a timer's TriggerDesc reads back as
``{"cron": …}``; a function URL is named after its id and its addresses sit inside
``TriggerDesc.NetConfig`` (sandbox/SOURCES.md has the details and the disagreements).

Assumptions (no document settles them): a function is ``Creating``/``Updating`` for
``settle_s`` after a change and refuses further changes meanwhile with
``FailedOperation.FunctionStatusError``; the environment is capped at 4 KB (keys plus values).
"""

from __future__ import annotations

import collections
import hashlib
import json
import re
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable, Optional

from sandbox.errors import ApiError
from sandbox.params import Params
from sandbox.scf_code import CREATE_ZIP_LIMIT, UPDATE_ZIP_LIMIT, CosReader, read_code

if TYPE_CHECKING:
    from sandbox.host import Host



NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,58}[A-Za-z0-9]")
HANDLER_RE = re.compile(r"[A-Za-z][\w-]*\.[A-Za-z][\w-]*")
RUNTIMES = ("Python2.7", "Python3.6", "Python3.7", "Python3.9", "Python3.10", "Python3.12")
ENV_LIMIT = 4096
ASYNC_EVENT_LIMIT = 128 * 1024
CONFIG_FIELDS = ("Description", "MemorySize", "Timeout", "Role", "ClsLogsetId", "ClsTopicId")


def _now_text() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


class ScfService:
    service = "scf"
    version = "2018-04-16"

    def __init__(self, sandbox: Host, settle_s: float = 0.2, appid: str = "1250000000") -> None:
        self.sb = sandbox
        self.settle_s = settle_s
        self.appid = appid
        self.region = "ap-guangzhou"  # the address's region part (X-TC-Region is not kept)
        self.functions: dict[tuple[str, str], dict[str, Any]] = {}  # (namespace, name)
        # the account's COS, from which code packages are read: anything with
        # read_object(bucket, key) -> bytes raising KeyError("NoSuchBucket"|"NoSuchKey")
        # (sandbox.cos_gateway.CosGateway); None: COS code is refused
        self.cos: Optional[CosReader] = None
        self._lock = threading.Lock()
        self.actions: dict[str, Callable[[Params], dict[str, Any]]] = {
            "GetFunction": self.get_function, "CreateFunction": self.create_function,
            "UpdateFunctionCode": self.update_code,
            "UpdateFunctionConfiguration": self.update_configuration,
            "CreateTrigger": self.create_trigger, "UpdateTrigger": self.update_trigger,
            "DeleteTrigger": self.delete_trigger, "ListTriggers": self.list_triggers,
            "Invoke": self.invoke,
        }
        # events of asynchronous invocations (InvocationType "Event"), per (namespace, name),
        # for whatever plays the platform to run: see :meth:`take_event`
        self.events: dict[tuple[str, str], collections.deque[dict[str, Any]]] = {}

    # -- functions ---------------------------------------------------------------------------

    def _key(self, params: Params) -> tuple[str, str]:
        name = params.text("FunctionName", required=True) or ""
        return params.text("Namespace", default="default") or "default", name

    def _function(self, params: Params) -> dict[str, Any]:
        key = self._key(params)
        fn = self.functions.get(key)
        if fn is None:
            raise ApiError("ResourceNotFound.Function",
                           f"function {key[1]} does not exist in namespace {key[0]}")
        return fn

    def _status(self, fn: dict[str, Any]) -> str:
        if fn["status"] != "Active" and time.monotonic() >= fn["settles_at"]:
            fn["status"] = "Active"
        return str(fn["status"])

    def _busy(self, fn: dict[str, Any], status: str) -> None:
        if self._status(fn) != "Active":
            raise ApiError("FailedOperation.FunctionStatusError",
                           f"function {fn['FunctionName']} is {fn['status']}; retry when Active")
        fn["status"], fn["settles_at"] = status, time.monotonic() + self.settle_s
        fn["ModTime"] = _now_text()

    def get_function(self, params: Params) -> dict[str, Any]:
        with self._lock:
            fn = self._function(params)
            status = self._status(fn)
            variables = [{"Key": k, "Value": v} for k, v in fn["env"].items()]
            out = {k: fn[k] for k in ("FunctionName", "Namespace", "Handler", "Runtime",
                                      "AddTime", "ModTime", "CodeSize", "Type", *CONFIG_FIELDS)
                   if k in fn}
            out.update(Status=status, Qualifier="$LATEST", FunctionVersion="$LATEST",
                       Environment={"Variables": variables}, VpcConfig=dict(fn["vpc"]),
                       Triggers=[self._trigger_info(t) for t in fn["triggers"].values()],
                       FunctionId=fn["FunctionId"])
            return out

    def _config(self, params: Params, fn: dict[str, Any]) -> None:
        memory = params.integer("MemorySize")
        if memory is not None and not (memory == 64 or (128 <= memory <= 3072
                                                        and memory % 128 == 0)):
            raise ApiError("InvalidParameterValue.MemorySize",
                           "MemorySize must be 64 or 128-3072 in steps of 128")
        timeout = params.integer("Timeout")
        if timeout is not None and not 1 <= timeout <= 900:
            raise ApiError("InvalidParameterValue.Timeout", "Timeout must be 1-900 s")
        for name in ("Description", "Role", "ClsLogsetId", "ClsTopicId"):
            params.text(name)
        env = params.data.get("Environment")
        if env is not None:
            fn["env"] = self._environment(env)
        vpc = params.data.get("VpcConfig")
        if vpc is not None:
            if not isinstance(vpc, dict):
                raise ApiError("InvalidParameter", "parameter `VpcConfig` must be an object")
            fn["vpc"] = {k: str(v) for k, v in vpc.items() if k in ("VpcId", "SubnetId")}
        for name in CONFIG_FIELDS:
            if params.data.get(name) is not None:
                fn[name] = params.data[name]

    @staticmethod
    def _environment(env: Any) -> dict[str, str]:
        variables = env.get("Variables") if isinstance(env, dict) else None
        if not isinstance(variables, list) or not all(
                isinstance(v, dict) and isinstance(v.get("Key"), str)
                and isinstance(v.get("Value"), str) for v in variables):
            raise ApiError("InvalidParameter",
                           "parameter `Environment.Variables` must be a list of {Key, Value}")
        out = {v["Key"]: v["Value"] for v in variables}
        if sum(len(k) + len(v) for k, v in out.items()) > ENV_LIMIT:
            raise ApiError("InvalidParameterValue.Environment",
                           f"the environment exceeds {ENV_LIMIT} bytes")
        return out

    def create_function(self, params: Params) -> dict[str, Any]:
        namespace, name = self._key(params)
        if not NAME_RE.fullmatch(name):
            raise ApiError("InvalidParameterValue.FunctionName", f"bad function name {name!r}")
        handler = params.text("Handler", required=True) or ""
        if not HANDLER_RE.fullmatch(handler):
            raise ApiError("InvalidParameterValue.Handler", f"bad handler {handler!r}")
        runtime = params.text("Runtime", default="Python2.7")
        if runtime not in RUNTIMES:
            raise ApiError("InvalidParameterValue.Runtime", f"runtime {runtime!r} unknown here")
        params.text("Type", choices=("Event", "HTTP"))
        raw = read_code(params, CREATE_ZIP_LIMIT, True, self.cos, self.appid, self.region)
        fn: dict[str, Any] = {
            "FunctionName": name, "Namespace": namespace, "Handler": handler,
            "Runtime": runtime, "Type": params.data.get("Type") or "Event", "MemorySize": 128,
            "Timeout": 3, "env": {}, "vpc": {}, "triggers": {}, "status": "Creating",
            "settles_at": time.monotonic() + self.settle_s, "AddTime": _now_text(),
            "ModTime": _now_text(), "FunctionId": "lam-" + uuid.uuid4().hex[:8],
        }
        self._config(params, fn)
        fn.update(CodeSize=len(raw), code_sha256=hashlib.sha256(raw).hexdigest())
        with self._lock:
            if (namespace, name) in self.functions:
                raise ApiError("ResourceInUse.Function", f"function {name} already exists")
            self.functions[(namespace, name)] = fn
        return {}

    def update_code(self, params: Params) -> dict[str, Any]:
        nested = isinstance(params.data.get("Code"), dict)
        raw = read_code(params, UPDATE_ZIP_LIMIT, nested, self.cos, self.appid, self.region)
        handler = params.text("Handler")
        if handler is not None and not HANDLER_RE.fullmatch(handler):
            raise ApiError("InvalidParameterValue.Handler", f"bad handler {handler!r}")
        with self._lock:
            fn = self._function(params)
            self._busy(fn, "Updating")
            fn.update(CodeSize=len(raw), code_sha256=hashlib.sha256(raw).hexdigest())
            if handler:
                fn["Handler"] = handler
        return {}

    def update_configuration(self, params: Params) -> dict[str, Any]:
        with self._lock:
            fn = self._function(params)
            runtime = params.text("Runtime")
            if runtime is not None and runtime != fn["Runtime"]:
                raise ApiError("InvalidParameterValue.Runtime",
                               "the runtime is set at creation and cannot be changed")
            staged = dict(fn)
            self._config(params, staged)
            self._busy(fn, "Updating")
            fn.update({k: v for k, v in staged.items() if k not in ("status", "settles_at")})
        return {}

    # -- triggers ----------------------------------------------------------------------------

    def _trigger_desc(self, kind: str, text: str) -> str:
        if kind == "timer":
            fields = text.split()
            if len(fields) not in (5, 7):
                raise ApiError("InvalidParameterValue.TriggerDesc",
                               f"a timer needs a 7-field or 5-field cron, got {text!r}")
            return json.dumps({"cron": text})
        try:
            desc = json.loads(text)
        except ValueError:
            raise ApiError("InvalidParameterValue.TriggerDesc",
                           "an http TriggerDesc must be JSON") from None
        net = desc.get("NetConfig") if isinstance(desc, dict) else None
        if (not isinstance(desc, dict) or desc.get("AuthType") not in ("NONE", "CAM")
                or not isinstance(net, dict)
                or not all(isinstance(net.get(k), bool)
                           for k in ("EnableIntranet", "EnableExtranet"))):
            raise ApiError("InvalidParameterValue.TriggerDesc",
                           "http TriggerDesc needs AuthType NONE|CAM and NetConfig "
                           "{EnableIntranet, EnableExtranet} as booleans")
        return json.dumps(desc)

    def _net_config(self, trigger: dict[str, Any]) -> dict[str, Any]:
        """NetConfig as ListTriggers shows it: the switches and, beside them, the addresses
        on ``<appid>-<url id>[.in].<region>.tencentscf.com`` (empty when switched off)."""
        net = json.loads(trigger["TriggerDesc"])["NetConfig"]
        out: dict[str, Any] = {"EnableIntranet": net["EnableIntranet"]}
        for side, on, host in (
                ("Intranet", net["EnableIntranet"],
                 f"{self.appid}-{trigger['url_id']}.in.{self.region}.tencentscf.com"),
                ("Extranet", net["EnableExtranet"],
                 f"{self.appid}-{trigger['url_id']}.{self.region}.tencentscf.com")):
            out[f"{side}Url"] = f"https://{host}" if on else ""
            out[f"{side}HTTPUrl"] = f"http://{host}" if on else ""
        for name in ("WssIntranetUrl", "WsIntranetUrl", "WssExtranetUrl", "WsExtranetUrl"):
            out[name] = ""
        out["EnableExtranet"] = net["EnableExtranet"]
        return out

    def _trigger_info(self, trigger: dict[str, Any]) -> dict[str, Any]:
        desc = trigger["TriggerDesc"]
        if trigger["Type"] == "http":
            desc = json.dumps({**json.loads(desc), "NetConfig": self._net_config(trigger)},
                              separators=(",", ":"))
        return {"Enable": 1 if trigger["Enable"] == "OPEN" else 0,
                "Qualifier": trigger["Qualifier"], "TriggerName": trigger["TriggerName"],
                "Type": trigger["Type"], "TriggerDesc": desc,
                "AvailableStatus": "Available", "CustomArgument": trigger["CustomArgument"],
                "Description": trigger["Description"], "AddTime": trigger["AddTime"],
                "ModTime": trigger["ModTime"], "ResourceId": trigger["ResourceId"],
                "BindStatus": "on", "TriggerAttribute": "single"}

    def _trigger_params(self, params: Params) -> tuple[str, str, Optional[str], str]:
        kind = params.text("Type", required=True, choices=("timer", "http")) or ""
        name = params.text("TriggerName", required=True, allow_empty=False) or ""
        enable = params.text("Enable", choices=("OPEN", "CLOSE"))
        qualifier = params.text("Qualifier", default="$DEFAULT") or "$DEFAULT"
        return kind, name, enable, qualifier

    def create_trigger(self, params: Params) -> dict[str, Any]:
        kind, name, enable, qualifier = self._trigger_params(params)
        desc = self._trigger_desc(kind, params.text("TriggerDesc", required=True) or "")
        with self._lock:
            fn = self._function(params)
            if self._status(fn) != "Active":
                raise ApiError("FailedOperation.FunctionStatusError",
                               f"function {fn['FunctionName']} is {fn['status']}")
            url_id = uuid.uuid4().hex[:10]
            if kind == "http":
                # the platform names a function URL after its id, whatever was asked
                name = url_id
            if (kind, name) in fn["triggers"]:
                raise ApiError("ResourceInUse.Trigger", f"trigger {name} already exists")
            if kind == "http" and any(t["Type"] == "http" and t["Qualifier"] == qualifier
                                      for t in fn["triggers"].values()):
                raise ApiError("ResourceInUse.Trigger",
                               f"{qualifier} already has a function URL (one per version/alias)")
            trigger = {"Type": kind, "TriggerName": name, "TriggerDesc": desc,
                       "Enable": enable or "OPEN", "Qualifier": qualifier,
                       "CustomArgument": params.text("CustomArgument", default="") or "",
                       "Description": params.text("Description", default="") or "",
                       "AddTime": _now_text(), "ModTime": _now_text(),
                       "ResourceId": f"qcs::scf:{self.region}:uin/{self.appid}:function/"
                                     f"{fn['FunctionName']}/{name}", "url_id": url_id}
            fn["triggers"][(kind, name)] = trigger
            return {"TriggerInfo": self._trigger_info(trigger)}

    def update_trigger(self, params: Params) -> dict[str, Any]:
        """Only timer (and ckafka) triggers are updated, and only Enable, TriggerDesc,
        Description and CustomArgument; a field not sent keeps its value."""
        kind, name, enable, _ = self._trigger_params(params)
        if kind != "timer":
            raise ApiError("UnsupportedOperation.Trigger",
                           f"UpdateTrigger updates timer and ckafka triggers only, not {kind}")
        text = params.text("TriggerDesc")
        with self._lock:
            fn = self._function(params)
            trigger = fn["triggers"].get((kind, name))
            if trigger is None:
                raise ApiError("ResourceNotFound.Trigger", f"trigger {name} does not exist")
            if text is not None:
                trigger["TriggerDesc"] = self._trigger_desc(kind, text)
            if enable is not None:
                trigger["Enable"] = enable
            for field in ("Description", "CustomArgument"):
                if params.data.get(field) is not None:
                    trigger[field] = params.text(field) or ""
            trigger["ModTime"] = _now_text()
        return {}

    def delete_trigger(self, params: Params) -> dict[str, Any]:
        kind = params.text("Type", required=True) or ""
        name = params.text("TriggerName", required=True, allow_empty=False) or ""
        with self._lock:
            fn = self._function(params)
            if fn["triggers"].pop((kind, name), None) is None:
                raise ApiError("ResourceNotFound.Trigger", f"trigger {name} does not exist")
        return {}

    def list_triggers(self, params: Params) -> dict[str, Any]:
        offset = params.integer("Offset", default=0, minimum=0) or 0
        limit = params.integer("Limit", default=20, minimum=1, maximum=100) or 20
        with self._lock:
            fn = self._function(params)
            triggers = [self._trigger_info(t) for t in fn["triggers"].values()]
        return {"TotalCount": len(triggers), "Triggers": triggers[offset:offset + limit]}

    # -- for tests ---------------------------------------------------------------------------

    # -- invocations -------------------------------------------------------------------------

    def invoke(self, params: Params) -> dict[str, Any]:
        """Invoke with ``InvocationType: "Event"``: the event (``ClientContext``, JSON, at most
        128 KB for an asynchronous call) is queued and the answer carries only a
        ``FunctionRequestId``. The sandbox runs no code, so a synchronous call is refused."""
        with self._lock:
            key = self._key(params)
            self._function(params)
        kind = params.text("InvocationType", default="RequestResponse")
        if kind != "Event":
            raise ApiError("UnsupportedOperation",
                           "the sandbox runs no function code; use InvocationType Event")
        raw = params.text("ClientContext", default="{}") or "{}"
        if len(raw.encode()) > ASYNC_EVENT_LIMIT:
            raise ApiError("InvalidParameterValue.ClientContext",
                           "an asynchronous event holds at most 128 KB")
        try:
            event = json.loads(raw)
        except ValueError:
            raise ApiError("InvalidParameterValue.ClientContext",
                           "ClientContext must be JSON") from None
        request_id = str(uuid.uuid4())
        with self._lock:
            self.events.setdefault(key, collections.deque()).append(event)
        return {"Result": {"FunctionRequestId": request_id, "Log": "", "RetMsg": "",
                           "ErrMsg": "", "MemUsage": 0, "Duration": 0, "BillDuration": 0,
                           "InvokeResult": 0}}

    def take_event(self, name: str, namespace: str = "default") -> Optional[dict[str, Any]]:
        """The oldest queued asynchronous event of a function, or None."""
        with self._lock:
            queue = self.events.get((namespace, name))
            return queue.popleft() if queue else None

    def function(self, name: str, namespace: str = "default") -> Optional[dict[str, Any]]:
        return self.functions.get((namespace, name))
