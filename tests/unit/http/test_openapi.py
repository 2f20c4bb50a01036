"""The OpenAPI document against the code: every route of the app, every rule of every
provider's validator, every problem kind; and the file in the repository is up to date."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from shared.bundle import Bundle
from shared.config import Settings
from shared.http import openapi, spec
from shared.http.problem import ERROR_STATUS, TITLES
from shared.providers import REGISTRY
from shared.providers import validate as pv


def test_the_document_in_the_repository_is_the_generated_one() -> None:
    # python -m shared.http.openapi writes it
    assert spec.DOCUMENT.read_text(encoding="utf-8") == openapi.render()


def test_the_document_is_valid_openapi_3_1() -> None:
    from jsonschema import Draft202012Validator

    doc = openapi.build()
    assert doc["openapi"] == "3.1.0"
    for schema in doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_every_route_of_the_app_is_in_the_document_and_nothing_else() -> None:
    app = Bundle(Settings(profile="sandbox", auth="none")).api.app
    routes = {(m.upper(), r.rule.pattern) for r in app._static_routes + app._dynamic_routes
              for m in ([r.method] if isinstance(r.method, str) else r.method)}
    documented = set()
    for template, item in openapi.build()["paths"].items():
        for method in item:
            documented.add(method.upper())
            path = re.sub(r"\{[^}]+\}", "x_1", template)
            assert any(m == method.upper() and re.fullmatch(rule, path) for m, rule in routes), (
                f"{method.upper()} {template} is documented but not served")
    for method, rule in routes:
        assert any(re.fullmatch(rule, re.sub(r"\{[^}]+\}", "x_1", t)) and method.lower() in i
                   for t, i in openapi.build()["paths"].items()), f"{method} {rule} undocumented"


def test_every_problem_kind_is_documented() -> None:
    kinds = {kind for _, _, kind in ERROR_STATUS} | {"method_not_allowed", "provider_refused",
                                                     "internal"}
    assert kinds <= set(TITLES)
    problem = openapi.build()["components"]["schemas"]["Problem"]["properties"]
    assert set(problem["error"]["enum"]) == set(TITLES)


# ---------------------------------------------------------------- validator rules
EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "cloudwatch": [{"logGroupName": "/aws/lambda/fn", "from": 1_700_000_000_000,
                    "to": 1_700_003_600_000, "logStreamNamePrefix": "2026/"},
                   {"logGroupNamePrefix": "/aws/", "from": 1, "to": 1_700_003_600_000},
                   {"logGroupNames": ["a", "b"], "from": 1, "to": 1_700_003_600_000}],
    "cls": [{"TopicId": "t", "From": 1_700_000_000_000, "To": 1_700_003_600_000}],
    "dlc": [{"SQL": "select 1", "DatabaseName": "db", "DataEngineName": "e",
             "DatasourceConnectionName": "c"}, {"TaskId": "task-1"}],
    "dms": [{"Tid": 1, "DbId": 2, "ExeSQL": "select 1", "InstanceId": 3, "AffectRows": 4,
             "Comment": "c"}, {"Tid": 1, "OrderId": 5}],
    "mongodb": [{"InstanceId": "cmgo-abcdef12", "StartTime": "2026-01-01 00:00:00",
                 "EndTime": "2026-01-02 00:00:00", "NodeNames": ["n"]}],
    "tcss": [{"Action": "CreateExportComplianceStatusListJob"}],
}


class Recorder:
    """Params' readers, wrapped: each rule a validator applies, with its arguments."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rules: list[tuple[str, str, dict[str, Any]]] = []
        self.known: list[set[str]] = []
        original_init = pv.Params.__init__

        def init(this: Any, params: Any, *, known: Any, prefix: str = "params") -> None:
            self.known.append(set(known))
            original_init(this, params, known=known, prefix=prefix)

        monkeypatch.setattr(pv.Params, "__init__", init)
        for kind in ("text", "integer", "boolean", "choice", "obj", "strings"):
            monkeypatch.setattr(pv.Params, kind, self.wrap(kind, getattr(pv.Params, kind)))

    def wrap(self, kind: str, method: Any) -> Any:
        def recorded(this: Any, name: str, *args: Any, **kwargs: Any) -> Any:
            if kind == "choice":
                kwargs["choices"] = args[0] if args else kwargs["choices"]
            self.rules.append((name, kind, kwargs))
            return method(this, name, *args, **{k: v for k, v in kwargs.items()
                                               if k != "choices"}) if kind != "choice" else (
                method(this, name, *args, **{k: v for k, v in kwargs.items() if k != "choices"}))
        return recorded


def defaults(func: Any) -> dict[str, Any]:
    import inspect

    return {k: p.default for k, p in inspect.signature(func).parameters.items()
            if p.default is not inspect.Parameter.empty and k != "default"}


@pytest.mark.parametrize("provider", sorted(REGISTRY))
def test_every_validator_rule_is_in_the_params_schema(provider: str, bundle: Bundle,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    schema = openapi.build()["components"]["schemas"]["CreateExport"]["oneOf"]
    params = next(v["properties"]["params"] for v in schema
                  if v["properties"]["provider"]["const"] == provider)
    real = {k: getattr(pv.Params, k) for k in ("text", "integer", "strings")}
    recorder = Recorder(monkeypatch)
    for example in EXAMPLES[provider]:
        bundle.providers.get(provider).validate(json.loads(json.dumps(example)))
    assert recorder.rules, "the validator applied no rule"
    for known in recorder.known:
        assert set(params["properties"]) == known
    assert params["additionalProperties"] is False
    for name, kind, kwargs in recorder.rules:
        prop = params["properties"].get(name)
        assert prop is not None, f"{provider}: params.{name} missing from the schema"
        rule = {**defaults(real.get(kind, lambda: None)), **kwargs}
        if kind == "text" and "enum" in prop:  # a text the validator then holds to a list
            assert all(len(v) <= rule["max_len"] for v in prop["enum"]), name
        elif kind == "text":
            assert prop["type"] == "string" and prop["maxLength"] == rule["max_len"], name
            if rule.get("pattern"):
                assert prop["pattern"] == f"^(?:{rule['pattern']})$", name
            else:  # non-blank, or a stricter format the validator checks in code
                assert prop["pattern"], name
        elif kind == "integer":
            assert prop["type"] == "integer", name
            for key in ("minimum", "maximum"):
                if rule.get(key) is not None:
                    assert prop.get(key, None) is not None and prop[key] >= rule[key] if (
                        key == "minimum") else prop[key] == rule[key], (name, key)
        elif kind == "choice":
            assert prop["enum"] == list(rule["choices"]), name
        elif kind == "boolean":
            assert prop["type"] == "boolean", name
        elif kind == "strings":
            assert prop["type"] == "array" and prop["maxItems"] == rule["max_items"], name
        elif kind == "obj":
            assert prop["type"] == "object", name
        if "default" in kwargs and kwargs["default"] is not None:
            assert prop.get("default") == kwargs["default"], (name, "default")
