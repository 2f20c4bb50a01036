"""Builders of a provider's parameter schema (JSON Schema, as the OpenAPI document shows it).

Each provider declares ``params_schema`` beside its validator, from these builders; the
registry serves it to everything that describes parameters: the OpenAPI document, the CLI's
help, the status page's provider filter and the docs' parameter tables. The validator reads
the schema's field names (an unknown field is refused), and the tests hold the schema to every
rule the validator enforces.

Rules between fields (e.g. ``From`` before ``To``) are told in the descriptions: JSON Schema
says them badly, and the API answers them with a ``400`` naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

NON_BLANK = "\\S"  # Params.text: a string with something other than white space


def text(max_len: int = 4096, pattern: str | None = None, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": max_len,
                              "pattern": f"^(?:{pattern})$" if pattern else NON_BLANK}
    return {**schema, **extra}


def integer(minimum: int | None = None, maximum: int | None = None, **extra: Any
            ) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return {**schema, **extra}


def choice(values: Iterable[str], default: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "enum": list(values)}
    if default is not None:
        schema["default"] = default
    return schema


def strings(max_items: int = 100) -> dict[str, Any]:
    return {"type": "array", "maxItems": max_items,
            "items": {"type": "string", "minLength": 1}}


def obj(props: dict[str, Any], required: list[str], description: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required,
            "properties": props, "description": description}


def fields(schema: dict[str, Any]) -> frozenset[str]:
    """The field names a schema allows: what the validator accepts."""
    return frozenset(schema["properties"])
