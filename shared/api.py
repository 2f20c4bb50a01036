"""The HTTP API (Powertools event handler) in front of ``shared.exports``.

Routes: ``POST /exports`` (202 with the task), ``GET /exports/<id>``, ``GET /exports``,
``POST /exports/<id>/cancel``, ``POST /exports/<id>/retry``. Every request is authenticated
(an API key in ``X-Api-Key`` or ``Authorization: Bearer``, or an HMAC signature) unless the
sandbox profile turns that off. Domain errors map to status codes in one table; bad input is a
4xx whose message names the field; no stack trace ever reaches a caller.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from shared import deliveries_api, exports
from shared.config import Settings
from shared.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    CourierError,
    NotFoundError,
    ProviderError,
    StoreError,
    ValidationError,
)
from shared.model import TaskState
from shared.providers import Providers
from shared.runtime import to_plain_response, to_rest_event
from shared.state.base import TaskStore

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_S = 300

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


class HttpApi:
    """One resolver app, built once per cold start; ``handle`` serves any HTTP trigger."""

    def __init__(self, settings: Settings, store: Callable[[], TaskStore],
                 providers: Providers) -> None:
        self.settings = settings
        self.store = store
        self.providers = providers
        self.app = APIGatewayRestResolver()
        self._routes()
        self.app.include_router(deliveries_api.bind(store))

    # ------------------------------------------------------------------ entry
    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        rest = to_rest_event(event)
        try:
            self._check_size(rest)
            self._check_auth(rest)
        except CourierError as exc:
            status, body = error_payload(exc)
            return {"statusCode": status, "headers": {"Content-Type": "application/json"},
                    "body": json.dumps(body), "isBase64Encoded": False}
        return to_plain_response(self.app.resolve(rest, context))

    # ----------------------------------------------------------------- guards
    def _raw_body(self, rest: dict[str, Any]) -> bytes:
        body = rest.get("body") or ""
        if rest.get("isBase64Encoded"):
            try:
                return base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValidationError("body", "is not valid base64") from exc
        return body.encode() if isinstance(body, str) else bytes(body)

    def _check_size(self, rest: dict[str, Any]) -> None:
        if len(self._raw_body(rest)) > self.settings.max_body_bytes:
            raise ValidationError("body", f"is larger than {self.settings.max_body_bytes} bytes")

    def _check_auth(self, rest: dict[str, Any]) -> None:
        if self.settings.auth == "none":
            return
        headers = {k.lower(): v for k, v in (rest.get("headers") or {}).items()}
        presented = headers.get("x-api-key")
        auth = headers.get("authorization", "")
        if not presented and auth.lower().startswith("bearer "):
            presented = auth[7:].strip()
        if presented:
            if any(hmac.compare_digest(presented.encode(), k.encode())
                   for k in self.settings.api_keys):
                return
            raise AuthError("invalid API key")
        signature = headers.get("x-courier-signature")
        if signature:
            self._check_signature(rest, headers, signature)
            return
        raise AuthError("missing credentials: send X-Api-Key, Authorization: Bearer, or "
                        "X-Courier-Signature")

    def _check_signature(self, rest: dict[str, Any], headers: dict[str, str],
                         signature: str) -> None:
        """``X-Courier-Signature: v1,<base64 HMAC-SHA256(key, ts.METHOD.path.body)>``."""
        try:
            stamp = int(headers.get("x-courier-timestamp", ""))
        except ValueError as exc:
            raise AuthError("X-Courier-Timestamp must be Unix seconds") from exc
        if abs(time.time() - stamp) > SIGNATURE_TOLERANCE_S:
            raise AuthError("X-Courier-Timestamp is too far from now")
        message = b".".join([str(stamp).encode(), rest["httpMethod"].encode(),
                             rest["path"].encode(), self._raw_body(rest)])
        offered = [s.split(",", 1)[1] for s in signature.split() if s.startswith("v1,")]
        for key in self.settings.api_keys:
            expected = base64.b64encode(
                hmac.new(key.encode(), message, hashlib.sha256).digest()).decode()
            if any(hmac.compare_digest(expected, o) for o in offered):
                return
        raise AuthError("invalid signature")

    # ----------------------------------------------------------------- routes
    def _json_body(self) -> Any:
        raw = self.app.current_event.decoded_body or ""
        if not raw.strip():
            raise ValidationError("body", "is empty; send a JSON object")
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ValidationError("body", f"is not valid JSON ({exc.__class__.__name__})") \
                from exc

    def _routes(self) -> None:
        app = self.app

        @app.post("/exports")
        def create() -> Response:
            body = self._json_body()
            headers = app.current_event.headers or {}
            key = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), None)
            accepted = exports.accept(
                self.store(), self.providers, body, idempotency_key=key,
                owner=f"create:{app.current_event.request_context.request_id}",
                poll_interval_s=self.settings.poll_interval_s)
            task = accepted.task
            view = exports.public_view(task)
            if task.state is TaskState.FAILED and accepted.created:
                return json_response(422, {"error": "provider_refused",
                                           "message": (task.error or {}).get("reason"),
                                           "export": view})
            status = 202 if accepted.created else 200
            return json_response(status, view, {"Location": f"/exports/{task.id}"})

        @app.get("/exports/<export_id>")
        def get(export_id: str) -> Response:
            return json_response(200, exports.public_view(self.store().get_task(export_id)))

        @app.get("/exports")
        def list_() -> Response:
            q = app.current_event.query_string_parameters or {}
            state = q.get("state")
            if state is not None and state not in {s.value for s in TaskState}:
                raise ValidationError("state", f"must be one of: "
                                      f"{', '.join(s.value for s in TaskState)}")
            try:
                limit = int(q.get("limit", "50"))
            except ValueError as exc:
                raise ValidationError("limit", "must be an integer") from exc
            if not 1 <= limit <= 200:
                raise ValidationError("limit", "must be between 1 and 200")
            page = self.store().list_tasks(state=TaskState(state) if state else None,
                                           provider=q.get("provider"), limit=limit,
                                           cursor=q.get("cursor"))
            return json_response(200, {"items": [exports.public_view(t) for t in page.items],
                                       "next_cursor": page.next_cursor})

        @app.post("/exports/<export_id>/cancel")
        def cancel(export_id: str) -> Response:
            task = exports.cancel(self.store(), self.providers, export_id)
            return json_response(200, exports.public_view(task))

        @app.post("/exports/<export_id>/retry")
        def retry(export_id: str) -> Response:
            return json_response(202, exports.public_view(exports.retry(self.store(),
                                                                          export_id)))

        @app.post("/exports/<export_id>/check")
        def check(export_id: str) -> Response:
            return json_response(202, exports.public_view(exports.check_now(self.store(),
                                                                              export_id)))

        @app.not_found
        def not_found(_exc: Exception) -> Response:
            return json_response(404, {"error": "not_found", "message": "no such route: "
                                       f"{app.current_event.http_method} "
                                       f"{app.current_event.path}"})

        @app.exception_handler(Exception)
        def on_error(exc: Exception) -> Response:
            status, body = error_payload(exc)
            if status >= 500 and not isinstance(exc, CourierError):
                log.exception("unhandled error in %s %s", app.current_event.http_method,
                              app.current_event.path)
            return json_response(status, body)
