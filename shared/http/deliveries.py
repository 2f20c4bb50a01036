"""The webhook delivery and endpoint routes (a Powertools ``Router`` built per app).

* ``GET  /exports/<export_id>/deliveries`` — the export's deliveries, with their attempt logs
  (``state``, ``limit`` 1-200, ``cursor`` query parameters);
* ``POST /deliveries/<delivery_id>/resend`` — queue one again (same ``webhook-id``), 202;
* ``POST /endpoints/recover`` — body ``{"endpoint": URL, "since": ISO time}``: re-enable the
  endpoint and queue again its failed, dead and disabled deliveries since then, 202.

Bad input raises ``ValidationError``, unknown ids ``NotFoundError`` (the app maps them to
400/404). Views carry no secret: endpoint URLs are shown without user info or query string.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from shared.clock import from_iso, to_iso, utcnow
from shared.errors import ValidationError
from shared.http.paging import list_args
from shared.http.views import json_response, request_body, safe_url
from shared.model import DeliveryState, WebhookDelivery
from shared.state.base import TaskStore
from shared.webhooks import endpoints


def payload_view(payload: dict[str, Any]) -> dict[str, Any]:
    """The event payload minus short-lived credentials (presigned download links)."""
    data = payload.get("data")
    if isinstance(data, dict) and "download_url" in data:
        data = {k: v for k, v in data.items() if k != "download_url"}
        return {**payload, "data": data}
    return payload


def delivery_view(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "export_id": d.task_id,
        "event_type": d.event_type,
        "endpoint": safe_url(d.endpoint),
        "endpoint_id": endpoints.endpoint_id(d.endpoint),
        "state": d.state.value,
        "attempts": list(d.attempts),
        "attempt_count": sum(1 for a in d.attempts if "action" not in a),
        "next_attempt_at": to_iso(d.due_at),
        "created_at": to_iso(d.created_at),
        "updated_at": to_iso(d.updated_at),
        "payload": payload_view(d.payload),
    }


def recover_args(body: dict[str, Any], now: Any) -> tuple[str, Any]:
    """``endpoint`` and ``since`` of a recover request, checked."""
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise ValidationError("endpoint", "is required: the webhook URL to recover")
    try:
        scheme = urlsplit(endpoint).scheme.lower()
    except ValueError as exc:
        raise ValidationError("endpoint", "is not a URL") from exc
    if scheme not in ("http", "https", "chat"):
        raise ValidationError("endpoint", "must be an http or https URL, or chat:<bot name>")
    raw_since = body.get("since")
    if not isinstance(raw_since, str) or not raw_since.strip():
        raise ValidationError("since", "is required: an ISO 8601 time")
    try:
        since = from_iso(raw_since.strip())
    except ValueError as exc:
        raise ValidationError("since", "is not an ISO 8601 time") from exc
    if since is None:
        raise ValidationError("since", "is required: an ISO 8601 time")
    if since > now:
        raise ValidationError("since", "is in the future")
    return endpoint, since


def router(store: Callable[[], TaskStore]) -> Router:
    """The delivery and endpoint routes of one app, over its store."""
    r = Router()

    @r.get("/exports/<export_id>/deliveries")
    def list_deliveries(export_id: str) -> Response:
        args = list_args(r.current_event.query_string_parameters, DeliveryState)
        st = store()
        st.get_task(export_id)  # NotFoundError for an unknown export
        page = st.list_deliveries(task_id=export_id, state=args.state, limit=args.limit,
                                  cursor=args.cursor)
        return json_response(200, {"items": [delivery_view(d) for d in page.items],
                                   "next_cursor": page.next_cursor})

    @r.post("/deliveries/<delivery_id>/resend")
    def resend(delivery_id: str) -> Response:
        delivery = endpoints.resend(store(), delivery_id)  # NotFoundError for an unknown id
        return json_response(202, delivery_view(delivery))

    @r.post("/endpoints/recover")
    def recover() -> Response:
        now = utcnow()
        endpoint, since = recover_args(request_body(r, want_object=True), now)
        count = endpoints.recover(store(), endpoint, since, now=now)
        return json_response(202, {"endpoint": safe_url(endpoint),
                                   "endpoint_id": endpoints.endpoint_id(endpoint),
                                   "since": to_iso(since), "recovered": count})

    return r
