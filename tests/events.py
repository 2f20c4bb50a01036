"""The one helper that loads the sample trigger events in ``events/``.

    from tests.events import load_event

    event = load_event("scf_function_url_post_exports")               # as the platform sends it
    event = load_event("aws_http_api_post_exports", body={"provider": "cls", "params": {...}})
    event = load_event("scf_apigw_get_export", path="/exports/exp_123")
    event = load_event("aws_apigw_rest_post_exports", headers={"X-Api-Key": None})  # drop one

Every call returns a fresh copy. Overrides apply to the top level of the event:

* a dict merges into the dict already there (recursively); ``None`` inside it removes a key;
* ``None`` at the top level removes the key; any other value replaces it;
* ``headers`` match names case-insensitively (``None`` removes one) and are mirrored into
  ``multiValueHeaders`` where the event has them;
* ``body`` given as a dict or list is sent as JSON text (and ``isBase64Encoded`` is cleared);
* ``path``, ``method`` and ``query`` are shortcuts for HTTP events: they rewrite every field of
  that event's shape that carries the request path, method or query string (``rawPath``,
  ``requestContext.http.path``, ``queryString``, ``rawQueryString`` …), so the event stays
  self-consistent whichever platform it imitates.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"

_MISSING = object()


def event_names() -> list[str]:
    """Every sample event, by name (file name without ``.json``)."""
    return sorted(p.stem for p in EVENTS_DIR.glob("*.json"))


def load_event(name: str, **overrides: Any) -> dict[str, Any]:
    stem = name[:-5] if name.endswith(".json") else name
    path = EVENTS_DIR / f"{stem}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no sample event {stem!r}; have: {', '.join(event_names())}")
    event: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    method = overrides.pop("method", _MISSING)
    query = overrides.pop("query", _MISSING)
    http_path = overrides.pop("path", _MISSING)
    headers = overrides.pop("headers", _MISSING)
    if method is not _MISSING:
        _set_method(event, str(method).upper())
    if http_path is not _MISSING:
        _set_path(event, str(http_path))
    if query is not _MISSING:
        _set_query(event, dict(query or {}))
    if headers is not _MISSING:
        _set_headers(event, headers)
    if "body" in overrides and isinstance(overrides["body"], (dict, list)):
        overrides["body"] = json.dumps(overrides["body"])
        if "isBase64Encoded" in event:
            event["isBase64Encoded"] = False
    _merge(event, overrides)
    return event


def _merge(target: dict[str, Any], changes: dict[str, Any]) -> None:
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _set_headers(event: dict[str, Any], headers: dict[str, Any] | None) -> None:
    if headers is None:
        event.pop("headers", None)
        event.pop("multiValueHeaders", None)
        return
    for mapping_name in ("headers", "multiValueHeaders"):
        mapping = event.get(mapping_name)
        if mapping_name == "headers" and mapping is None:
            mapping = event["headers"] = {}
        if not isinstance(mapping, dict):
            continue
        for name, value in headers.items():
            for existing in [k for k in mapping if k.lower() == name.lower()]:
                del mapping[existing]
            if value is not None:
                mapping[name] = [str(value)] if mapping_name == "multiValueHeaders" else str(value)


def _is_v2(event: dict[str, Any]) -> bool:
    return isinstance((event.get("requestContext") or {}).get("http"), dict)


def _set_method(event: dict[str, Any], method: str) -> None:
    ctx = event.get("requestContext") or {}
    if _is_v2(event):
        ctx["http"]["method"] = method
        if event.get("routeKey", "$default") != "$default":
            route = event["routeKey"].split(" ", 1)[-1]
            event["routeKey"] = ctx["routeKey"] = f"{method} {route}"
        return
    event["httpMethod"] = method
    if "httpMethod" in ctx:
        ctx["httpMethod"] = method


def _set_path(event: dict[str, Any], path: str) -> None:
    ctx = event.get("requestContext") or {}
    if _is_v2(event):
        event["rawPath"] = ctx["http"]["path"] = path
        return
    event["path"] = path
    if "serviceId" in ctx:  # SCF: requestContext.path is the API's template; keep it
        return
    if "resourcePath" in ctx:  # REST v1: requestContext.path carries the stage prefix
        stage = ctx.get("stage")
        ctx["path"] = f"/{stage}{path}" if stage and stage != "$default" else path


def _set_query(event: dict[str, Any], query: dict[str, Any]) -> None:
    flat = {str(k): str(v) for k, v in query.items()}
    ctx = event.get("requestContext") or {}
    if _is_v2(event):
        event["rawQueryString"] = urlencode(flat)
        if flat:
            event["queryStringParameters"] = flat
        else:
            event.pop("queryStringParameters", None)
        return
    if "serviceId" in ctx:  # SCF sends both maps, empty when there is no query
        event["queryString"] = dict(flat)
        event["queryStringParameters"] = dict(flat)
        return
    if "requestContext" not in event and "queryString" in event:  # SCF function URL
        event["queryString"] = dict(flat)
        return
    event["queryStringParameters"] = dict(flat) or None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in flat.items()} or None
