"""Error answers as RFC 9457 problem details (``application/problem+json``).

One table maps domain errors to an HTTP status and a problem kind; first match wins. Every
problem carries the standard members (``type``, ``title``, ``status``, ``detail``,
``instance``) and these extension members:

* ``error`` — the problem kind (``invalid_request`` …), the last part of ``type``;
* ``message`` — the same text as ``detail`` (kept for clients written before RFC 9457);
* ``field`` — what to fix, for a ``400`` (dotted path: ``params.TopicId``, ``subscribers[0]``);
* ``code``, ``retryable`` — the provider's error code and whether a retry can help (``502``);
* ``request_id`` — the id of this request, also sent as the ``X-Request-Id`` header.

Answers that need one get their header here too: ``WWW-Authenticate`` on ``401``,
``Retry-After`` on ``503`` (and on a ``502`` or ``409`` that can be retried).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from shared.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    DestinationUnusableError,
    IdempotencyKeyReusedError,
    InFlightError,
    NotFoundError,
    ProviderError,
    StoreError,
    ValidationError,
)

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "tag:export-courier,2024:problem:"
WWW_AUTHENTICATE = 'Bearer realm="export-courier", ApiKey realm="export-courier"'
RETRY_AFTER_S = 30

# Domain error -> (HTTP status, problem kind). The one table; first match wins.
ERROR_STATUS: list[tuple[type[Exception], int, str]] = [
    (ValidationError, 400, "invalid_request"),
    (AuthError, 401, "unauthorized"),
    (NotFoundError, 404, "not_found"),
    (InFlightError, 409, "in_flight"),
    (ConflictError, 409, "conflict"),
    (IdempotencyKeyReusedError, 422, "idempotency_key_reused"),
    (ProviderError, 502, "provider_error"),
    (ConfigError, 503, "not_configured"),
    (StoreError, 503, "state_unavailable"),
    (DestinationUnusableError, 503, "destination_unavailable"),
]

# Problem kind -> title (short, the same for every occurrence of the kind).
TITLES: dict[str, str] = {
    "invalid_request": "The request is invalid",
    "unauthorized": "Credentials are missing or wrong",
    "not_found": "No such resource",
    "method_not_allowed": "Method not allowed on this resource",
    "in_flight": "The first request with this Idempotency-Key is still being processed",
    "conflict": "The request conflicts with the resource's state",
    "idempotency_key_reused": "The Idempotency-Key was used for a different request",
    "provider_refused": "The provider refused the export",
    "provider_error": "The provider failed",
    "not_configured": "The service is not configured for this",
    "state_unavailable": "The state store is unavailable",
    "destination_unavailable": "The destination bucket is unusable",
    "internal": "Internal error",
    # the local server's refusals before a body is read (courier/server.py)
    "misdirected_request": "The Host header does not name this server",
    "length_required": "The body needs a Content-Length",
    "content_too_large": "The body is too large",
    "unsupported_media_type": "The body must be JSON",
}


@dataclass
class Problem:
    status: int
    kind: str
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self, instance: str | None = None, request_id: str | None = None
             ) -> dict[str, Any]:
        out: dict[str, Any] = {"type": TYPE_PREFIX + self.kind,
                               "title": TITLES.get(self.kind, self.kind),
                               "status": self.status, "detail": self.detail}
        if instance:
            out["instance"] = instance
        out.update({"error": self.kind, "message": self.detail, **self.extra})
        if request_id:
            out["request_id"] = request_id
        return out


def problem_of(exc: Exception) -> Problem:
    """The problem an exception is answered with (``500 internal`` when none fits)."""
    for cls, status, kind in ERROR_STATUS:
        if isinstance(exc, cls):
            problem = Problem(status, kind, str(exc))
            if isinstance(exc, ValidationError):
                problem.extra["field"] = exc.field
                problem.detail = exc.detail
            if isinstance(exc, ProviderError):
                problem.extra.update({"code": exc.code, "retryable": exc.retryable})
                if exc.retryable:
                    problem.headers["Retry-After"] = str(
                        max(1, math.ceil(exc.retry_after or RETRY_AFTER_S)))
            if status == 401:
                problem.headers["WWW-Authenticate"] = WWW_AUTHENTICATE
            if status == 503:
                problem.headers["Retry-After"] = str(RETRY_AFTER_S)
            if isinstance(exc, InFlightError):
                problem.headers["Retry-After"] = "1"
            return problem
    return Problem(500, "internal", "internal error; see the function log")


def error_payload(exc: Exception) -> tuple[int, dict[str, Any]]:
    """Status and problem body of ``exc`` (without instance or request id)."""
    problem = problem_of(exc)
    return problem.status, problem.body()
