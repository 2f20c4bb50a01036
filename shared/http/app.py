"""The HTTP API app: one Powertools resolver per bundle, serving every HTTP trigger shape.

A request is turned into a REST (v1) proxy event (:mod:`shared.runtime.events`), given a
request id, its body decoded within the limits (:mod:`shared.http.decode`) and its credentials
checked (:mod:`shared.http.auth`) before any route runs; then the export, delivery and endpoint
routes answer. Errors are RFC 9457 problems from one table (:mod:`shared.http.problem`); a
method a path does not take is ``405`` with ``Allow``; no stack trace ever reaches a caller.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from shared.config import Settings
from shared.errors import CourierError, ValidationError
from shared.http import auth, deliveries, routes, spec, summary, ui
from shared.http.decode import Limits, decode_body, raw_bytes
from shared.http.problem import PROBLEM_JSON, Problem, problem_of
from shared.http.views import BODY, problem_response
from shared.providers import Providers
from shared.runtime.events import to_plain_response, to_rest_event
from shared.state.base import TaskStore

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
# On every answer: exports and problems are never kept by a browser or a shared cache, and
# never read as anything but their declared type.
STANDARD_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
# Gateway headers that carry the platform's id of the request (SCF, API Gateway, ALB).
_GATEWAY_ID_HEADERS = ("x-api-requestid", "x-scf-request-id", "x-amzn-requestid",
                       "x-amzn-trace-id", "x-request-id")
_SAFE_ID = re.compile(r"[A-Za-z0-9._:=;/+-]{1,128}")


def request_id_of(rest: dict[str, Any], context: Any) -> str:
    """The gateway's id of the request where it gives one (or the invocation's), else new."""
    candidates = [(rest.get("requestContext") or {}).get("requestId")]
    headers = {k.lower(): v for k, v in (rest.get("headers") or {}).items()}
    candidates += [headers.get(name) for name in _GATEWAY_ID_HEADERS]
    candidates += [getattr(context, "aws_request_id", None), getattr(context, "request_id", None)]
    for value in candidates:
        if isinstance(value, str) and value != "local" and _SAFE_ID.fullmatch(value):
            return value
    return uuid.uuid4().hex


class HttpApi:
    """One resolver app, built once per cold start; ``handle`` serves any HTTP trigger."""

    def __init__(self, settings: Settings, store: Callable[[], TaskStore],
                 providers: Providers,
                 destination_problem: Callable[[str | None], str | None] | None = None
                 ) -> None:
        self.settings = settings
        self.store = store
        self.providers = providers
        self.limits = Limits(max_bytes=settings.max_body_bytes)
        self.app = APIGatewayRestResolver()
        self.app.include_router(routes.router(settings, store, providers,
                                               destination_problem))
        self.app.include_router(deliveries.router(store))
        self.app.include_router(summary.router(store))
        self.app.include_router(spec.router())
        self.app.include_router(ui.router())
        self._handlers()

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            rest = to_rest_event(event)
        except (AttributeError, TypeError, ValueError, KeyError):
            return self._plain(Problem(400, "invalid_request", "the HTTP event is malformed",
                                       {"field": "event"}), None, uuid.uuid4().hex)
        rid = request_id_of(rest, context)
        rest["requestContext"]["requestId"] = rid
        try:
            data = raw_bytes(rest.get("body"), rest["isBase64Encoded"], self.limits)
            body = decode_body(data, False, self.limits)
            # the contract and the status page hold no data (the page's own requests do)
            if not (spec.is_public(rest["httpMethod"], rest["path"]) or ui.is_page(rest)):
                auth.check_auth(self.settings, rest, data, self.store)
        except CourierError as exc:
            return self._plain(problem_of(exc), rest["path"], rid)
        self.app.append_context(**{BODY: body})
        answer = to_plain_response(self.app.resolve(rest, context))
        answer["headers"] = {**STANDARD_HEADERS, **answer["headers"], REQUEST_ID_HEADER: rid}
        return answer

    def _plain(self, problem: Problem, path: str | None, rid: str) -> dict[str, Any]:
        headers = {"Content-Type": PROBLEM_JSON, REQUEST_ID_HEADER: rid, **STANDARD_HEADERS,
                   **problem.headers}
        return {"statusCode": problem.status, "headers": headers,
                "body": json.dumps(problem.body(path, rid), separators=(",", ":")),
                "isBase64Encoded": False}

    def _handlers(self) -> None:
        app = self.app

        def answer(problem: Problem) -> Response:
            event = app.current_event
            return problem_response(problem, instance=event.path,
                                    request_id=event.request_context.request_id)

        @app.not_found
        def not_found(_exc: Exception) -> Response:
            event = app.current_event
            allowed = spec.allowed_methods(event.path)
            if allowed and event.http_method not in allowed:
                problem = Problem(405, "method_not_allowed",
                                  f"{event.http_method} is not allowed on {event.path}; "
                                  f"allowed: {', '.join(allowed)}",
                                  headers={"Allow": ", ".join(allowed)})
                return answer(problem)
            return answer(Problem(404, "not_found", f"no such route: {event.http_method} "
                                  f"{event.path}"))

        @app.exception_handler(Exception)
        def on_error(exc: Exception) -> Response:
            if isinstance(exc, (RecursionError, UnicodeError)):  # never a 500 for input
                exc = ValidationError("request", "could not be read")
            problem = problem_of(exc)
            event = app.current_event
            if problem.status >= 500 and not isinstance(exc, CourierError):
                log.exception("unhandled error in %s %s", event.http_method, event.path)
            elif problem.status >= 500:  # the service's trouble (state store, settings)
                log.warning("%s %s answered %d %s: %s", event.http_method, event.path,
                            problem.status, problem.kind, problem.detail)
            return answer(problem)
