"""Emulator answers held against the vendor SDKs' own models of each action.

Every answer the sandbox sends (and every request it accepts) can be checked against what the
real client library knows of that action: no field the model lacks, and each value of the
type the model documents, nested objects and lists included.

* Tencent Cloud: ``tencentcloud.<svc>.v<version>.models``, ``<Action>Request`` /
  ``<Action>Response`` and the nested model classes (types from the models' ``:type`` lines,
  which their ``_deserialize`` follows).
* Alibaba DMS: the Tea models ``alibabacloud_dms_enterprise20181101.models``,
  ``<Action>ResponseBody`` (wire names from ``to_map``, types from ``__init__``) and
  ``<Action>ShrinkRequest`` / ``<Action>Request``.
* AWS (the CloudWatch Logs JSON API behind :mod:`sandbox.aws_gateway`): botocore's service
  model, ``input_shape`` / ``output_shape``.

``check_*`` return human-readable problems (``DescribeExports: Response.Exports[0].Foo: not in
the SDK model``). :class:`Conformance` is one sandbox's switch and record: on when built with
mode ``strict`` (default: the ``SANDBOX_CONFORMANCE`` environment variable); every problem it
finds is kept in :attr:`Conformance.problems` and in a process-wide list that :func:`drain`
empties (the test suite fails the test during which one appeared). Model introspection is
cached per model class, so a check costs a walk over the answer.

Where a model is known to lack a documented field, :data:`ALLOWED` names it with its source.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import re
import threading
from collections.abc import Callable
from typing import Any, Union

from sandbox.page_models import PAGE_MODELS

MODE_ENV = "SANDBOX_CONFORMANCE"
MODES = ("off", "strict")

# (vendor, action, field path without list indexes) the SDK model lacks although a vendor page
# documents it; each with its source (see also sandbox/SOURCES.md). Empty: none needed so far.
ALLOWED: dict[tuple[str, str, str], str] = {}


class Obj:
    """A model with named fields; the fields are read from the SDK on first use."""

    def __init__(self, name: str, load: Callable[[], dict[str, Any]]) -> None:
        self.name = name
        self._load = load
        self._fields: dict[str, Any] | None = None

    @property
    def fields(self) -> dict[str, Any]:
        if self._fields is None:
            self._fields = self._load()
        return self._fields


# A type: "str", "int", "float", "bool", "timestamp", "any", ("list", T), ("map", T) or Obj.
Type = Union[str, tuple, Obj]


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


_SCALARS: dict[str, Callable[[Any], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "timestamp": lambda v: isinstance(v, (int, float, str)) and not isinstance(v, bool),
    "any": lambda v: True,
}
_TEXT_FORMS: dict[str, Callable[[str], bool]] = {  # query-string values: all text
    "int": lambda v: v.strip().lstrip("-").isdigit(),
    "float": lambda v: re.fullmatch(r"\s*-?\d+(\.\d*)?([eE][-+]?\d+)?\s*", v) is not None,
    "bool": lambda v: v.lower() in ("true", "false"),
}


def walk(value: Any, typ: Type, path: str, out: list[str], text: bool = False) -> None:
    """Append to ``out`` every way ``value`` (at ``path``) departs from ``typ``. ``null`` fits
    any type. With ``text``, scalars are query-string text of the scalar's form."""
    if value is None:
        return
    if isinstance(typ, Obj):
        if not isinstance(value, dict):
            out.append(f"{path}: {_kind(value)} where the SDK model has an object "
                       f"({typ.name})")
            return
        fields = typ.fields
        for name, sub in value.items():
            if name not in fields:
                out.append(f"{path}.{name}: not in the SDK model ({typ.name})")
            else:
                walk(sub, fields[name], f"{path}.{name}", out, text)
    elif isinstance(typ, tuple):
        if typ[0] == "list":
            if not isinstance(value, list):
                out.append(f"{path}: {_kind(value)} where the SDK model has a list")
                return
            for i, item in enumerate(value):
                walk(item, typ[1], f"{path}[{i}]", out, text)
        elif not isinstance(value, dict):
            out.append(f"{path}: {_kind(value)} where the SDK model has a map")
        else:
            for name, sub in value.items():
                walk(sub, typ[1], f"{path}.{name}", out, text)
    elif text and isinstance(value, str):
        if not _TEXT_FORMS.get(typ, lambda v: True)(value):
            out.append(f"{path}: {value[:40]!r} is not the {typ} the SDK model has")
    elif not _SCALARS.get(typ, _SCALARS["any"])(value):
        out.append(f"{path}: {_kind(value)} where the SDK model has {typ}")


def _allowed(vendor: str, action: str, problems: list[str]) -> list[str]:
    keep = []
    for problem in problems:
        path = re.sub(r"\[\d+\]", "", problem.split(":", 1)[0])
        if (vendor, action, path) not in ALLOWED:
            keep.append(f"{action}: {problem}")
    return keep


# -- Tencent Cloud ---------------------------------------------------------------------------

_TC_TYPE = re.compile(r":type (\w+): (.+)")
_TC_SCALARS = {"str": "str", "int": "int", "float": "float", "bool": "bool"}


@functools.cache
def _tc_models(service: str, version: str) -> Any:
    return importlib.import_module(f"tencentcloud.{service}.v{version.replace('-', '')}"
                                   ".models")


@functools.cache
def _tc_obj(service: str, version: str, name: str) -> Obj | None:
    try:
        models = _tc_models(service, version)
    except ModuleNotFoundError:  # no SDK package for it here: the API page's fields
        return page_obj("tencent", name)
    cls = getattr(models, name, None)
    if cls is None:
        return None

    def load() -> dict[str, Any]:
        return {field: _tc_type(service, version, spec.strip())
                for field, spec in _TC_TYPE.findall(cls.__init__.__doc__ or "")}
    return Obj(name, load)


def _tc_type(service: str, version: str, spec: str) -> Type:
    if spec.startswith("list of "):
        return ("list", _tc_type(service, version, spec[len("list of "):].split()[0]))
    if spec in _TC_SCALARS:
        return _TC_SCALARS[spec]
    name = spec.rsplit(".", 1)[-1].strip("`")
    return _tc_obj(service, version, name) or "any"


def check_tencent(service: str, version: str, action: str, answer: dict[str, Any]
                  ) -> list[str]:
    """Problems of ``answer`` (``{"Response": {...}}``) against ``<Action>Response``."""
    model = _tc_obj(service, version, f"{action}Response")
    if model is None:
        return [f"{action}: the SDK has no model {action}Response ({service} {version})"]
    out: list[str] = []
    walk(answer.get("Response"), model, "Response", out)
    out += [f"{k}: not in the SDK model" for k in answer if k != "Response"]
    return _allowed("tencent", action, out)


def check_tencent_request(service: str, version: str, action: str, params: dict[str, Any],
                          text: bool = False) -> list[str]:
    """Problems of a request's parameters against ``<Action>Request``."""
    model = _tc_obj(service, version, f"{action}Request")
    if model is None:
        return [f"{action}: the SDK has no model {action}Request ({service} {version})"]
    out: list[str] = []
    walk(params, model, "Request", out, text)
    return _allowed("tencent", action, out)


# -- models from API pages (services whose SDK package is not installed) ----------------------

def page_obj(vendor: str, name: str) -> Obj | None:
    """``<Action>Request`` / ``<Action>Response`` of an action whose fields an API page gives
    (:data:`sandbox.page_models.PAGE_MODELS`)."""
    action, which = (name[:-len("Request")], 0) if name.endswith("Request") else (
        name[:-len("Response")], 1)
    model = PAGE_MODELS.get((vendor, action))
    return None if model is None else _page_type(name, model[which])  # type: ignore[return-value]


def _page_type(name: str, spec: Any) -> Type:
    if isinstance(spec, dict):
        fields = {k: _page_type(f"{name}.{k}", v) for k, v in spec.items()}
        return Obj(name, lambda: fields)
    if isinstance(spec, tuple):
        return (spec[0], _page_type(name, spec[1]))
    return str(spec)


def check_page(vendor: str, action: str, request: dict[str, Any], answer: dict[str, Any]
               ) -> list[str]:
    """Problems of a request (query text) and its answer against the API page's fields."""
    out: list[str] = []
    for which, value, text in (("Request", request, True), ("Response", answer, False)):
        model = page_obj(vendor, f"{action}{which}")
        if model is None:
            return [f"{action}: no page model of {action}{which}"]
        walk(value, model, which, out, text)
    return _allowed(vendor, action, out)


# -- Alibaba DMS (Tea models) ----------------------------------------------------------------

_TEA_KEY = re.compile(r"result\['(\w+)'\] = (?:self\.(\w+)|(?:\[\]|\{\})\s*if self\.(\w+))")
_TEA_SCALARS = {"str": "str", "int": "int", "float": "float", "bool": "bool", "Any": "any"}


@functools.cache
def _dms_obj(name: str) -> Obj | None:
    models = importlib.import_module("alibabacloud_dms_enterprise20181101.models")
    cls = getattr(models, name, None)
    if cls is None:
        return None

    def load() -> dict[str, Any]:
        hints = {p.name: str(p.annotation)
                 for p in inspect.signature(cls.__init__).parameters.values()}
        return {wire: _tea_type(hints.get(attr or listed, "Any"))
                for wire, attr, listed in _TEA_KEY.findall(inspect.getsource(cls.to_map))}
    return Obj(name, load)


def _tea_type(spec: str) -> Type:
    spec = spec.strip()
    if spec.startswith("List[") and spec.endswith("]"):
        return ("list", _tea_type(spec[5:-1]))
    if spec.startswith("Dict[") and spec.endswith("]"):
        return ("map", _tea_type(spec[5:-1].split(",", 1)[1]))
    if spec in _TEA_SCALARS:
        return _TEA_SCALARS[spec]
    return _dms_obj(spec.rsplit(".", 1)[-1]) or "any"


def check_dms(action: str, body: dict[str, Any]) -> list[str]:
    """Problems of an answer body against ``<Action>ResponseBody``."""
    model = _dms_obj(f"{action}ResponseBody")
    if model is None:
        return [f"{action}: the SDK has no model {action}ResponseBody"]
    out: list[str] = []
    walk(body, model, "Body", out)
    return _allowed("dms", action, out)


def check_dms_request(action: str, params: dict[str, str]) -> list[str]:
    """Problems of an RPC request's parameters (query text) against the request model; the
    SDK sends a JSON-valued parameter through ``<Action>ShrinkRequest``."""
    model = _dms_obj(f"{action}ShrinkRequest") or _dms_obj(f"{action}Request")
    if model is None:
        return [f"{action}: the SDK has no model {action}Request"]
    out: list[str] = []
    walk(params, model, "Request", out, text=True)
    return _allowed("dms", action, out)


# -- AWS (botocore) --------------------------------------------------------------------------

@functools.cache
def _aws_model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


_AWS_SCALARS = {"string": "str", "blob": "str", "integer": "int", "long": "int",
                "boolean": "bool", "double": "float", "float": "float",
                "timestamp": "timestamp"}


def _aws_type(shape: Any, seen: dict[str, Obj]) -> Type:
    kind = shape.type_name
    if kind == "list":
        return ("list", _aws_type(shape.member, seen))
    if kind == "map":
        return ("map", _aws_type(shape.value, seen))
    if kind != "structure":
        return _AWS_SCALARS.get(kind, "any")
    if shape.name not in seen:
        seen[shape.name] = Obj(shape.name, lambda: {
            member.serialization.get("name", name): _aws_type(member, seen)
            for name, member in shape.members.items()})
    return seen[shape.name]


@functools.cache
def _aws_op(service: str, action: str, which: str) -> Type | None:
    model = _aws_model(service)
    if action not in model.operation_names:
        return None
    shape = getattr(model.operation_model(action), which)
    return _aws_type(shape, {}) if shape is not None else Obj(action, dict)


def check_aws(service: str, action: str, body: dict[str, Any], request: bool = False
              ) -> list[str]:
    """Problems of a JSON-protocol answer (or, with ``request``, a request) against
    botocore's ``output_shape`` (``input_shape``)."""
    typ = _aws_op(service, action, "input_shape" if request else "output_shape")
    if typ is None:
        return [f"{action}: botocore has no operation {action} ({service})"]
    out: list[str] = []
    walk(body, typ, "Request" if request else "Body", out)
    return _allowed("aws", action, out)


# -- the record ------------------------------------------------------------------------------

_recorded: list[str] = []
_recorded_lock = threading.Lock()


def drain() -> list[str]:
    """Every problem recorded (by any sandbox in this process) since the last drain."""
    with _recorded_lock:
        out = list(_recorded)
        _recorded.clear()
    return out


class Conformance:
    """One sandbox's checks: off, or ``strict`` (every problem recorded)."""

    def __init__(self, mode: str | None = None) -> None:
        mode = (os.environ.get(MODE_ENV, "") if mode is None else mode).strip() or "off"
        if mode not in MODES:
            raise ValueError(f"{MODE_ENV}: {mode!r} is not one of {', '.join(MODES)}")
        self.enabled = mode == "strict"
        self.problems: list[str] = []
        self._lock = threading.Lock()

    def record(self, problems: list[str]) -> None:
        if not problems:
            return
        with self._lock:
            self.problems.extend(problems)
        with _recorded_lock:
            _recorded.extend(problems)

    def tencent(self, service: str, version: str, action: str, request: dict[str, Any],
                answer: dict[str, Any], text: bool = False) -> None:
        """An accepted request and its answer; ``text`` for a query-string request."""
        if self.enabled:
            self.record(check_tencent_request(service, version, action, request, text)
                        + check_tencent(service, version, action, answer))

    def page(self, vendor: str, action: str, request: dict[str, Any],
             answer: dict[str, Any]) -> None:
        """An action held against its API page's fields (no SDK model installed)."""
        if self.enabled:
            self.record(check_page(vendor, action, request, answer))

    def dms(self, action: str, request: dict[str, str], body: dict[str, Any]) -> None:
        if self.enabled:
            self.record(check_dms_request(action, request) + check_dms(action, body))

    def aws(self, service: str, action: str, request: dict[str, Any],
            body: dict[str, Any]) -> None:
        if self.enabled:
            self.record(check_aws(service, action, request, request=True)
                        + check_aws(service, action, body))
