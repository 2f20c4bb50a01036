"""JSON answers, problem answers and the request body the app decoded."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response

from shared import netguard
from shared.errors import ValidationError
from shared.http.decode import Limits, decode_body
from shared.http.problem import PROBLEM_JSON, Problem

BODY = "body"  # the app's routing-context key of the decoded request body


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type="application/json",
                    body=json.dumps(payload, separators=(",", ":")), headers=headers)


def problem_response(problem: Problem, *, instance: str | None = None,
                     request_id: str | None = None) -> Response:
    return Response(status_code=problem.status, content_type=PROBLEM_JSON,
                    body=json.dumps(problem.body(instance, request_id), separators=(",", ":")),
                    headers=dict(problem.headers) or None)


def request_body(router: Any, *, want_object: bool = False) -> Any:
    """The JSON body of the current request: decoded once by the app before routing (a bare
    router, as in tests, decodes it here with the default limits)."""
    context = router.context or {}
    if BODY in context:
        body = context[BODY]
    else:
        event = router.current_event
        body = decode_body(event.get("body"), bool(event.get("isBase64Encoded")), Limits())
    if body is None:
        raise ValidationError("body", "is empty; send a JSON object")
    if want_object and not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    return body


def safe_url(url: str) -> str:
    """``url`` without user info, query string or fragment."""
    return netguard.redact_url(url, keep_path=True)
