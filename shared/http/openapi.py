"""The OpenAPI 3.1 document of the HTTP API, built from this module's tables.

``python -m shared.http.openapi`` writes ``shared/http/openapi.json`` (kept in the repository,
served by :mod:`shared.http.spec`). ``tests/unit/http/test_openapi.py`` fails when a route of
the app, a field or rule of a provider's validator, or an error shape is missing here.
Not imported at run time: only when the document is written or tested.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from shared.http.problem import PROBLEM_JSON, TITLES, TYPE_PREFIX
from shared.model import DeliveryState, TaskState
from shared.providers import REGISTRY, params_schemas

VERSION = "0.1.0"
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"  # one JSON Schema per event


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def problem(description: str, *, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {PROBLEM_JSON: {"schema": ref("Problem")}}}
    out["headers"] = {"X-Request-Id": {"$ref": "#/components/headers/RequestId"},
                      **(headers or {})}
    return out


def ok(description: str, schema: dict[str, Any], *, headers: dict[str, Any] | None = None
       ) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}},
            "headers": {"X-Request-Id": {"$ref": "#/components/headers/RequestId"},
                        **(headers or {})}}


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again",
                               "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
WWW_AUTH = {"WWW-Authenticate": {"description": "The accepted authentication schemes",
                                 "schema": {"type": "string"}}}
ALLOW = {"Allow": {"description": "The methods the resource takes",
                   "schema": {"type": "string"}}}
LOCATION = {"Location": {"description": "Where the export can be read",
                         "schema": {"type": "string"}}}
REPLAYED = {"Idempotent-Replayed": {"description": "`true` when this is the kept answer to an "
                                    "earlier request with the same Idempotency-Key",
                                    "schema": {"type": "string", "enum": ["true"]}}}


def common_errors(*, body: bool) -> dict[str, Any]:
    out = {
        "401": problem("Missing or wrong credentials", headers=WWW_AUTH),
        "405": problem("The path does not take this method", headers=ALLOW),
        "503": problem("The state store, a setting or (a create) the destination it names is "
                       "unavailable",
                       headers=RETRY_AFTER),
        "500": problem("Internal error (a bug: never caused by the request)"),
    }
    out["400"] = problem("Bad input: the body, a query argument or a header (`field` names it)"
                         if body else "Bad input: a query argument or a header")
    return out


def operation(op_id: str, summary: str, responses: dict[str, Any], *,
              body: dict[str, Any] | None = None, params: list[dict[str, Any]] | None = None,
              public: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": op_id, "summary": summary,
                          "responses": {**responses, **({} if public else common_errors(
                              body=body is not None))}}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": body}}}
    if public:
        op["security"] = []
    return op


def path_param(name: str, prefix: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True,
            "schema": {"type": "string", "minLength": 1, "maxLength": 64,
                       "pattern": f"^{prefix}_[A-Za-z0-9]+$"}}


LIST_PARAMS = [
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
    {"name": "cursor", "in": "query", "required": False,
     "description": "`next_cursor` of the previous page, unchanged",
     "schema": {"type": "string", "maxLength": 512, "pattern": "^[A-Za-z0-9_-]*$"}},
]


def state_param(states: list[str]) -> dict[str, Any]:
    return {"name": "state", "in": "query", "required": False,
            "schema": {"type": "string", "enum": states}}


def paths() -> dict[str, Any]:
    task_states = [s.value for s in TaskState]
    export_id = path_param("export_id", "exp")
    delivery_id = path_param("delivery_id", "msg")
    missing = {"404": problem("No such export")}
    state_conflict = {"409": problem("The export is in a state that does not allow this")}
    return {
        "/exports": {
            "post": operation(
                "createExport", "Ask a provider for an export",
                {"202": ok("Accepted: the export is stored and being created", ref("Export"),
                           headers={**LOCATION, **REPLAYED}),
                 "409": problem("The first request with this Idempotency-Key is still being "
                                "processed", headers=RETRY_AFTER),
                 "422": problem("The provider refused the export (`export` shows it), or the "
                                "Idempotency-Key was used for a different request",
                                headers={**LOCATION, **REPLAYED})},
                body=ref("CreateExport"),
                params=[{"name": "Idempotency-Key", "in": "header", "required": False,
                         "description": "1 to 200 printable ASCII characters",
                         "schema": {"type": "string", "minLength": 1, "maxLength": 200,
                                    "pattern": "^[ -~]+$"}}]),
            "get": operation(
                "listExports", "List exports, newest first, a page at a time (a cursor "
                "continues below the last export seen, while new ones arrive)",
                {"200": ok("A page of exports", ref("ExportPage"))},
                params=[state_param(task_states),
                        {"name": "provider", "in": "query", "required": False,
                         "schema": {"type": "string", "enum": sorted(REGISTRY)}}, *LIST_PARAMS]),
        },
        "/exports/{export_id}": {
            "get": operation("getExport", "Read one export",
                             {"200": ok("The export", ref("Export")), **missing},
                             params=[export_id]),
        },
        "/exports/{export_id}/cancel": {
            "post": operation("cancelExport", "Cancel an export (and at the provider)",
                              {"200": ok("Cancelled", ref("Export")), **missing,
                               **state_conflict}, params=[export_id]),
        },
        "/exports/{export_id}/retry": {
            "post": operation("retryExport", "Start a failed export over",
                              {"202": ok("Accepted again", ref("Export")), **missing,
                               **state_conflict}, params=[export_id]),
        },
        "/exports/{export_id}/check": {
            "post": operation("checkExport", "Ask the provider again at the next timer tick",
                              {"202": ok("Due now", ref("Export")), **missing,
                               **state_conflict}, params=[export_id]),
        },
        "/exports/{export_id}/deliveries": {
            "get": operation(
                "listDeliveries", "The export's webhook deliveries and their attempts",
                {"200": ok("A page of deliveries", ref("DeliveryPage")), **missing},
                params=[export_id, state_param([s.value for s in DeliveryState]),
                        *LIST_PARAMS]),
        },
        "/deliveries/{delivery_id}/resend": {
            "post": operation("resendDelivery", "Queue a delivery again (same webhook-id)",
                              {"202": ok("Queued", ref("Delivery")),
                               "404": problem("No such delivery")}, params=[delivery_id]),
        },
        "/endpoints/recover": {
            "post": operation(
                "recoverEndpoint", "Re-enable an endpoint and queue its failed deliveries again",
                {"202": ok("Queued", ref("Recovered"))}, body=ref("RecoverEndpoint")),
        },
        "/summary": {
            "get": operation("getSummary", "Exports by state and provider, the oldest waiting, "
                             "failing endpoints and the last 24 hours",
                             {"200": ok("The summary", ref("Summary"))}),
        },
        "/openapi.json": {
            "get": operation("getOpenApi", "This document (no key needed)",
                             {"200": ok("The OpenAPI document", {"type": "object"})},
                             public=True),
        },
        "/ui": {
            "get": operation("getStatusPage", "The status page (HTML; no key needed: it holds "
                             "no data and asks for the key to read the API)",
                             {"200": {"description": "The page",
                                      "content": {"text/html": {"schema": {"type": "string"}}},
                                      "headers": {"X-Request-Id": {
                                          "$ref": "#/components/headers/RequestId"}}}},
                             public=True),
        },
    }


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def schemas() -> dict[str, Any]:
    text = {"type": "string"}
    stamp = {"type": "string", "format": "date-time"}
    any_object = {"type": "object"}
    count = {"type": "integer", "minimum": 0}
    seconds = {"type": "number", "minimum": 0}
    create_variants = []
    for name, params in params_schemas().items():
        create_variants.append({
            "type": "object", "additionalProperties": False,
            "required": ["provider", "params"],
            "properties": {
                "provider": {"const": name},
                "params": params,
                "subscribers": {"type": "array", "maxItems": 10,
                                "items": {"type": "string", "format": "uri",
                                          "pattern": "^https?://", "maxLength": 2048},
                                "description": "Webhook URLs of this export; public "
                                               "addresses only"},
                "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 200},
                "account": {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$",
                            "description": "A named account (COURIER_ACCOUNTS) whose "
                                           "credentials and region the export is made with; "
                                           "default: the deployment's own"},
                "destination": {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$",
                                "description": "A named destination (COURIER_DESTINATIONS) "
                                               "the files land in, under its key template, "
                                               "unpack default and format, written with its "
                                               "credentials; default: the deployment's "
                                               "COURIER_DESTINATION. A name not configured "
                                               "is a 400 naming destination"},
                "unpack": {"type": "boolean",
                           "description": "Deliver an archive result (.tar.gz, .zip) as one "
                                          "gzip object per member beside manifest.json; "
                                          "default: the destination's (its unpack, else "
                                          "COURIER_UNPACK)"},
                "format": {"type": "string", "enum": ["gzip", "parquet"],
                           "description": "How an unpacked archive's CSV/JSON members land: "
                                          "gzip'd, or one Parquet file each (needs unpacking "
                                          "and a package built --with-parquet); default: the "
                                          "destination's (its format, else COURIER_FORMAT)"},
            }})
    return {
        "CreateExport": {"oneOf": create_variants, "discriminator": {"propertyName": "provider"}},
        "Export": {
            "type": "object",
            "required": ["id", "provider", "state", "params", "created_at", "updated_at"],
            "properties": {
                "id": {"type": "string", "pattern": "^exp_"},
                "provider": {"type": "string", "enum": sorted(REGISTRY)},
                "state": {"type": "string", "enum": [s.value for s in TaskState]},
                "stage": nullable(text), "progress": nullable({"type": "integer"}),
                "params": any_object, "remote": any_object, "result": any_object,
                "destination": nullable(any_object),
                "error": nullable({"type": "object", "properties": {
                    "reason": nullable(text), "code": nullable(text),
                    "retryable": {"type": "boolean"}}}),
                "queue_position": nullable({"type": "integer", "minimum": 1, "description": (
                    "Accepted exports waiting their turn (one CloudWatch Logs export task "
                    "per account and region): 1 is next; read from the queue when asked")}),
                "parts": nullable({"type": "array", "description": (
                    "A CLS window holding more logs than one export carries is split into "
                    "parts, one CLS export each, delivered together under this export"),
                    "items": {"type": "object", "properties": {
                        "from": {"type": "integer"}, "to": {"type": "integer"},
                        "log_count": nullable({"type": "integer"}),
                        "export_id": nullable(text), "status": nullable(text)}}}),
                "round": {"type": "integer", "minimum": 0, "description": (
                    "How many times the export was retried (POST /exports/{id}/retry); "
                    "its webhooks after a retry carry it as data.round")},
                "subscribers": {"type": "array", "items": text},
                "account": nullable(text), "destination_name": nullable(text),
                "idempotency_key": nullable(text),
                "created_at": stamp, "updated_at": stamp, "next_check_at": nullable(stamp),
            }},
        "ExportPage": {"type": "object", "required": ["items", "next_cursor"], "properties": {
            "items": {"type": "array", "items": ref("Export")},
            "next_cursor": nullable(text)}},
        "Delivery": {
            "type": "object",
            "required": ["id", "export_id", "event_type", "endpoint", "state", "attempts"],
            "properties": {
                "id": {"type": "string", "pattern": "^msg_"}, "export_id": text,
                "event_type": text, "endpoint": text, "endpoint_id": text,
                "state": {"type": "string", "enum": [s.value for s in DeliveryState]},
                "attempts": {"type": "array", "items": any_object},
                "attempt_count": {"type": "integer", "minimum": 0},
                "next_attempt_at": nullable(stamp), "created_at": stamp,
                "updated_at": stamp, "payload": any_object}},
        "DeliveryPage": {"type": "object", "required": ["items", "next_cursor"], "properties": {
            "items": {"type": "array", "items": ref("Delivery")},
            "next_cursor": nullable(text)}},
        "Summary": {
            "type": "object",
            "required": ["generated_at", "total", "by_state", "by_provider", "oldest_waiting",
                         "failing_endpoints", "last_24h"],
            "properties": {
                "generated_at": stamp, "total": count,
                "by_state": {"type": "object", "additionalProperties": count},
                "by_provider": {"type": "object", "description": "provider -> state -> count",
                                "additionalProperties": {"type": "object",
                                                         "additionalProperties": count}},
                "oldest_waiting": nullable({"type": "object", "properties": {
                    "id": text, "provider": text, "state": text, "created_at": stamp,
                    "age_s": seconds}}),
                "failing_endpoints": {"type": "array", "items": {"type": "object", "properties": {
                    "endpoint": text, "endpoint_id": text,
                    "state": {"type": "string", "enum": ["failing", "suspended"]},
                    "consecutive_failures": count, "failing_since": nullable(stamp),
                    "last_failure_at": nullable(stamp), "disabled_reason": nullable(text)}}},
                "last_24h": {"type": "object", "description": (
                    "Exports finished in each of the last 24 hours (the last is the current "
                    "one); the accept-to-delivered time of the delivered ones"),
                    "properties": {
                        "since": stamp, "delivered": count, "failed": count,
                        "mean_delivered_s": nullable(seconds),
                        "hours": {"type": "array", "minItems": 24, "maxItems": 24,
                                  "items": {"type": "object", "properties": {
                                      "start": stamp, "delivered": count, "failed": count,
                                      "mean_delivered_s": nullable(seconds),
                                      "max_delivered_s": nullable(seconds)}}}}}}},
        "RecoverEndpoint": {
            "type": "object", "required": ["endpoint", "since"],
            "properties": {"endpoint": {"type": "string", "pattern": "^https?://"},
                           "since": {"type": "string", "format": "date-time",
                                     "description": "ISO 8601; not in the future"}}},
        "Recovered": {"type": "object",
                      "required": ["endpoint", "endpoint_id", "since", "recovered"],
                      "properties": {"endpoint": text, "endpoint_id": text, "since": stamp,
                                     "recovered": {"type": "integer", "minimum": 0}}},
        "Problem": {
            "type": "object", "description": "RFC 9457 problem details",
            "required": ["type", "title", "status", "detail", "error", "message"],
            "properties": {
                "type": {"type": "string", "enum": [TYPE_PREFIX + k for k in TITLES]},
                "title": text, "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": text, "instance": text,
                "error": {"type": "string", "enum": sorted(TITLES),
                          "description": "The problem kind (last part of `type`)"},
                "message": {"type": "string", "description": "Same as `detail`"},
                "field": {"type": "string", "description": "What to fix (400)"},
                "code": nullable(text), "retryable": {"type": "boolean"},
                "request_id": text, "export": ref("Export")}},
    }


def build() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Export Courier", "version": VERSION,
                 "description": "Create cloud data exports, follow them, and manage the "
                                "webhooks that announce them."},
        "paths": paths(),
        "webhooks": webhooks(),
        "components": {
            "schemas": schemas(),
            "headers": {"RequestId": {"description": "The id of this request (the "
                                      "gateway's where it gives one)",
                                      "schema": {"type": "string"}}},
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
                "signature": {"type": "apiKey", "in": "header", "name": "X-Courier-Signature",
                              "description": "v2,base64(HMAC-SHA256(key, the string "
                                             "to sign: v2, timestamp, METHOD, path, "
                                             "query, Idempotency-Key, SHA-256 of the "
                                             "body, one a line)) with "
                                             "X-Courier-Timestamp; each signature is "
                                             "taken once (docs/api-signing.md)"}}},
        "security": [{"apiKey": []}, {"bearer": []}, {"signature": []}],
    }


def webhooks() -> dict[str, Any]:
    """What Courier POSTs to subscribers, one entry per event, from ``schemas/``."""
    out: dict[str, Any] = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        schema = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
        out[path.stem] = {"post": {
            "summary": schema.get("description", path.stem),
            "operationId": "on_" + path.stem.replace(".", "_"),
            "requestBody": {"required": True,
                            "content": {"application/json": {"schema": schema}}},
            "responses": {"2XX": {"description": "Received (any other answer is retried)"}}}}
    return out


def render() -> str:
    return json.dumps(build(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    from shared.http.spec import DOCUMENT

    DOCUMENT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {DOCUMENT}\n")
