"""JSON answers, the one table from domain errors to HTTP statuses, and request bodies."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from shared import netguard
from shared.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    NotFoundError,
    ProviderError,
    StoreError,
    ValidationError,
)

# Domain error -> (HTTP status, error kind). The one table; first match wins.
ERROR_STATUS: list[tuple[type[Exception], int, str]] = [
    (ValidationError, 400, "invalid_request"),
    (AuthError, 401, "unauthorized"),
    (NotFoundError, 404, "not_found"),
    (ConflictError, 409, "conflict"),
    (ProviderError, 502, "provider_error"),
    (ConfigError, 503, "not_configured"),
    (StoreError, 503, "state_unavailable"),
]


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type="application/json",
                    body=json.dumps(payload, separators=(",", ":")), headers=headers)


def error_payload(exc: Exception) -> tuple[int, dict[str, Any]]:
    for cls, status, kind in ERROR_STATUS:
        if isinstance(exc, cls):
            body: dict[str, Any] = {"error": kind, "message": str(exc)}
            if isinstance(exc, ValidationError):
                body["field"] = exc.field
                body["message"] = exc.detail
            if isinstance(exc, ProviderError):
                body["code"] = exc.code
                body["retryable"] = exc.retryable
            return status, body
    return 500, {"error": "internal", "message": "internal error; see the function log"}


def json_body(raw: str | None, *, want_object: bool = False) -> Any:
    """A request body as JSON; :class:`ValidationError` naming ``body`` when it is not."""
    if not (raw or "").strip():
        raise ValidationError("body", "is empty; send a JSON object")
    try:
        body = json.loads(raw or "")
    except ValueError as exc:
        raise ValidationError("body", "is not valid JSON") from exc
    if want_object and not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    return body


def safe_url(url: str) -> str:
    """``url`` without user info, query string or fragment."""
    return netguard.redact_url(url, keep_path=True)
