"""The API's contract at run time: ``GET /openapi.json`` (no key needed), and what the
document says about a path (its methods, for ``405`` with ``Allow``).

The document is ``openapi.json`` beside this module, written by :mod:`shared.http.openapi`
and kept in the repository; it is read on first use only (cold starts do not pay for it).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

DOCUMENT = Path(__file__).with_name("openapi.json")
OPENAPI_PATH = "/openapi.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@functools.lru_cache(maxsize=1)
def document_text() -> str:
    return DOCUMENT.read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _templates() -> list[tuple[re.Pattern[str], tuple[str, ...]]]:
    doc: dict[str, Any] = json.loads(document_text())
    out = []
    for template, item in doc.get("paths", {}).items():
        pattern = re.sub(r"\\\{[^}/]+\\\}", "[^/]+", re.escape(template))
        methods = tuple(m.upper() for m in METHODS if m in item)
        out.append((re.compile(pattern), methods))
    return out


def allowed_methods(path: str) -> list[str]:
    """The methods the document names for ``path`` (empty when no path template matches)."""
    found: list[str] = []
    for pattern, methods in _templates():
        if pattern.fullmatch(path):
            found += [m for m in methods if m not in found]
    return found


def is_public(method: str, path: str) -> bool:
    """Requests served without credentials: the contract itself."""
    return method == "GET" and path == OPENAPI_PATH


def router() -> Router:
    r = Router()

    @r.get(OPENAPI_PATH)
    def openapi() -> Response:
        return Response(status_code=200, content_type="application/json",
                        body=document_text())

    return r
