"""Parameters are described once: each provider declares its schema beside its validator,
and everything that describes parameters is made from the registry. A registered provider
missing from any of them (the OpenAPI document, the CLI's choices, the status page's filter,
the docs' tables) fails here."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from courier import docs_tables
from courier.cli import app
from shared.http import spec, ui
from shared.providers import REGISTRY, params_schemas, provider_class
from shared.providers.schema import fields

NAMES = sorted(REGISTRY)


def test_the_docs_tables_are_made_from_the_registry() -> None:
    page = docs_tables.PAGE.read_text(encoding="utf-8")
    # python -m courier.docs_tables writes them
    assert docs_tables.current(page) == docs_tables.render()


@pytest.mark.parametrize("name", NAMES)
def test_a_registered_provider_is_described_everywhere(name: str) -> None:
    schema = provider_class(name).params_schema
    assert schema["type"] == "object" and schema["properties"], name
    assert schema["additionalProperties"] is False
    # the OpenAPI document as served
    doc = json.loads(spec.DOCUMENT.read_text(encoding="utf-8"))
    variants = doc["components"]["schemas"]["CreateExport"]["oneOf"]
    served = {v["properties"]["provider"]["const"]: v["properties"]["params"]
              for v in variants}
    assert served.get(name) == schema
    assert name in doc["components"]["schemas"]["Export"]["properties"]["provider"]["enum"]
    # the CLI's choices, in --help
    shown = CliRunner().invoke(app, ["exports", "create", "--help"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    choices = re.search(r"<([a-z|]+)>", shown.output)
    assert choices and name in choices.group(1).split("|"), shown.output
    # the status page's provider filter
    html, _ = ui.page()
    offered = re.search(r"const PROVIDERS = (\[[^\]]*\]);", html)
    assert offered and name in json.loads(offered.group(1))
    # the docs' table
    assert re.search(rf"^### {name}\n", docs_tables.render(), re.M)


@pytest.mark.parametrize("name", NAMES)
def test_the_validator_accepts_exactly_the_schemas_fields(name: str) -> None:
    from shared.errors import ValidationError

    provider = provider_class(name).__new__(provider_class(name))
    unknown = {"NotAField": 1}
    with pytest.raises(ValidationError) as caught:
        provider.validate(unknown)
    assert caught.value.field == "params.NotAField"
    for field in fields(params_schemas()[name]):
        assert field in caught.value.message
