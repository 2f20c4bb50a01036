"""The parameter tables of ``docs/api.md``, made from the provider registry.

``python -m courier.docs_tables`` writes them between the ``params:begin`` and ``params:end``
markers; ``tests/unit/providers/test_registry.py`` fails while the page and the registry
disagree. One table per provider: each field, its type, whether it is required, its default,
its rules (choices, range, length, format) and what it is.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

PAGE = Path(__file__).resolve().parent.parent / "docs" / "api.md"
BEGIN = "<!-- params:begin (made by python -m courier.docs_tables; do not edit) -->"
END = "<!-- params:end -->"


def _type(prop: dict[str, Any]) -> str:
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {prop.get('items', {}).get('type', 'any')}"
    return str(kind)


def _rules(prop: dict[str, Any]) -> str:
    rules = []
    if "enum" in prop:
        rules.append("one of " + ", ".join(f"`{v}`" for v in prop["enum"]))
    if "minimum" in prop and "maximum" in prop:
        rules.append(f"{prop['minimum']:,} to {prop['maximum']:,}")
    elif "minimum" in prop:
        rules.append(f"at least {prop['minimum']:,}")
    elif "maximum" in prop:
        rules.append(f"at most {prop['maximum']:,}")
    if "maxLength" in prop:
        rules.append(f"at most {prop['maxLength']:,} characters")
    pattern = prop.get("pattern") or prop.get("items", {}).get("pattern")
    if pattern and pattern != "\\S":
        rules.append(f"format `{pattern.replace('|', '&#124;')}`")
    if "maxItems" in prop:
        rules.append(f"at most {prop['maxItems']:,} items")
    return "; ".join(rules)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(name: str, schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    rows = [f"### {name}", "", _cell(schema.get("description", "")), "",
            "| field | type | required | default | rules | what it is |",
            "|---|---|---|---|---|---|"]
    for field, prop in schema["properties"].items():
        default = f"`{json.dumps(prop['default'])}`" if "default" in prop else ""
        rows.append(f"| `{field}` | {_type(prop)} | {'yes' if field in required else ''} | "
                    f"{_cell(default)} | {_rules(prop)} | {_cell(prop.get('description', ''))} |")
    return "\n".join(rows)


def render() -> str:
    """The generated section: one table per registered provider, in key order."""
    from shared.providers import params_schemas

    tables = [table(name, schema) for name, schema in params_schemas().items()]
    return BEGIN + "\n\n" + "\n\n".join(tables) + "\n\n" + END


def current(page: str) -> str | None:
    """The generated section as the page has it, or None without the markers."""
    found = re.search(re.escape(BEGIN) + r".*?" + re.escape(END), page, re.S)
    return found.group(0) if found else None


def main() -> int:
    page = PAGE.read_text(encoding="utf-8")
    if current(page) is None:
        print(f"{PAGE}: no {BEGIN!r} … {END!r} markers", file=sys.stderr)
        return 1
    PAGE.write_text(page.replace(current(page) or "", render()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
