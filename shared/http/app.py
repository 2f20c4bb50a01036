"""The HTTP API app: one Powertools resolver per bundle, serving every HTTP trigger shape.

A request is turned into a REST (v1) proxy event (:mod:`shared.runtime.events`), its size and
credentials are checked (:mod:`shared.http.auth`), then the export, delivery and endpoint routes
answer. Domain errors map to status codes in one table (:mod:`shared.http.views`); bad input is a
4xx whose message names the field; no stack trace ever reaches a caller.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response

from shared.config import Settings
from shared.errors import CourierError
from shared.http import auth, deliveries, routes
from shared.http.views import error_payload, json_response
from shared.providers import Providers
from shared.runtime.events import to_plain_response, to_rest_event
from shared.state.base import TaskStore

log = logging.getLogger(__name__)


class HttpApi:
    """One resolver app, built once per cold start; ``handle`` serves any HTTP trigger."""

    def __init__(self, settings: Settings, store: Callable[[], TaskStore],
                 providers: Providers) -> None:
        self.settings = settings
        self.store = store
        self.providers = providers
        self.app = APIGatewayRestResolver()
        self.app.include_router(routes.router(settings, store, providers))
        self.app.include_router(deliveries.router(store))
        self._handlers()

    def handle(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        rest = to_rest_event(event)
        try:
            auth.check_size(self.settings, rest)
            auth.check_auth(self.settings, rest)
        except CourierError as exc:
            status, body = error_payload(exc)
            return {"statusCode": status, "headers": {"Content-Type": "application/json"},
                    "body": json.dumps(body), "isBase64Encoded": False}
        return to_plain_response(self.app.resolve(rest, context))

    def _handlers(self) -> None:
        app = self.app

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
