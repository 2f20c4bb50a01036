"""Export ids as a person types them: the whole id, or any unique prefix of it (like git),
with or without the ``exp_`` in front."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from courier.client import Client, NotFound, RequestFailed

PAGE = 200  # the API's largest page
SHOWN = 8  # candidates named when a prefix is ambiguous


def every_export(c: Client, **filters: Any) -> Iterator[dict[str, Any]]:
    """Every export, page after page, following the API's cursor."""
    cursor = None
    while True:
        page = c.list(limit=PAGE, cursor=cursor, **filters)
        yield from page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def resolve(c: Client, text: str) -> str:
    """The one export id ``text`` is, or starts; NotFound when none, RequestFailed naming
    the candidates when more than one."""
    text = text.strip()
    try:
        return str(c.get(text)["id"])
    except NotFound:
        pass
    if not text:
        raise NotFound("no export id given")
    wanted = text if text.startswith("exp_") else f"exp_{text}"
    found = [str(v["id"]) for v in every_export(c) if str(v["id"]).startswith(wanted)]
    if not found:
        raise NotFound(f"no export with id or id prefix {text!r}")
    if len(found) > 1:
        named = ", ".join(found[:SHOWN]) + (f" and {len(found) - SHOWN} more"
                                            if len(found) > SHOWN else "")
        raise RequestFailed(f"{text!r} is the start of {len(found)} exports: {named}; "
                            "give more of the id")
    return found[0]
