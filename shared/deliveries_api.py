"""HTTP routes for webhook deliveries (a Powertools ``Router`` the API includes).

* ``GET  /exports/<export_id>/deliveries`` — the export's deliveries, with their attempt logs
  (``state``, ``limit`` 1-200, ``cursor`` query parameters);
* ``POST /deliveries/<delivery_id>/resend`` — queue one again (same ``webhook-id``), 202;
* ``POST /endpoints/recover`` — body ``{"endpoint": URL, "since": ISO time}``: re-enable the
  endpoint and queue again its failed, dead and disabled deliveries since then, 202.

The API module calls :func:`bind` with a function returning the ``TaskStore``. Bad input raises
``ValidationError``, unknown ids ``NotFoundError`` (the API maps them to 400/404). Views carry no
secret: endpoint URLs are shown without user info or query string.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from shared import webhooks
from shared.clock import from_iso, to_iso, utcnow
from shared.errors import ConfigError, ValidationError
from shared.model import DeliveryState, WebhookDelivery
from shared.state.base import TaskStore

log = logging.getLogger(__name__)

router = Router()
_store_getter: Callable[[], TaskStore] | None = None


def bind(store_getter: Callable[[], TaskStore]) -> Router:
    """Give the routes their store (called once per cold start); returns the router."""
    global _store_getter
    _store_getter = store_getter
    return router


def _store() -> TaskStore:
    if _store_getter is None:
        raise ConfigError("deliveries API used before deliveries_api.bind(store_getter)")
    return _store_getter()


def _json(status: int, payload: Any) -> Response:
    return Response(status_code=status, content_type="application/json",
                    body=json.dumps(payload, separators=(",", ":")))


def safe_url(url: str) -> str:
    """``url`` without user info, query string or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(malformed URL)"
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{port}" if port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _payload_view(payload: dict[str, Any]) -> dict[str, Any]:
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
        "endpoint_id": webhooks.endpoint_id(d.endpoint),
        "state": d.state.value,
        "attempts": list(d.attempts),
        "attempt_count": sum(1 for a in d.attempts if "action" not in a),
        "next_attempt_at": to_iso(d.due_at),
        "created_at": to_iso(d.created_at),
        "updated_at": to_iso(d.updated_at),
        "payload": _payload_view(d.payload),
    }


def _body() -> dict[str, Any]:
    raw = router.current_event.decoded_body or ""
    if not raw.strip():
        raise ValidationError("body", "is empty; send a JSON object")
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ValidationError("body", "is not valid JSON") from exc
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    return body


@router.get("/exports/<export_id>/deliveries")
def list_deliveries(export_id: str) -> Response:
    q = router.current_event.query_string_parameters or {}
    state = q.get("state")
    states = [s.value for s in DeliveryState]
    if state is not None and state not in states:
        raise ValidationError("state", f"must be one of: {', '.join(states)}")
    try:
        limit = int(q.get("limit", "50"))
    except ValueError as exc:
        raise ValidationError("limit", "must be an integer") from exc
    if not 1 <= limit <= 200:
        raise ValidationError("limit", "must be between 1 and 200")
    store = _store()
    store.get_task(export_id)  # NotFoundError for an unknown export
    page = store.list_deliveries(task_id=export_id,
                                 state=DeliveryState(state) if state else None,
                                 limit=limit, cursor=q.get("cursor"))
    return _json(200, {"items": [delivery_view(d) for d in page.items],
                       "next_cursor": page.next_cursor})


@router.post("/deliveries/<delivery_id>/resend")
def resend(delivery_id: str) -> Response:
    delivery = webhooks.resend(_store(), delivery_id)  # NotFoundError for an unknown id
    return _json(202, delivery_view(delivery))


@router.post("/endpoints/recover")
def recover() -> Response:
    body = _body()
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise ValidationError("endpoint", "is required: the webhook URL to recover")
    try:
        scheme = urlsplit(endpoint).scheme.lower()
    except ValueError as exc:
        raise ValidationError("endpoint", "is not a URL") from exc
    if scheme not in ("http", "https"):
        raise ValidationError("endpoint", "must be an http or https URL")
    raw_since = body.get("since")
    if not isinstance(raw_since, str) or not raw_since.strip():
        raise ValidationError("since", "is required: an ISO 8601 time")
    try:
        since = from_iso(raw_since.strip())
    except ValueError as exc:
        raise ValidationError("since", "is not an ISO 8601 time") from exc
    if since is None:
        raise ValidationError("since", "is required: an ISO 8601 time")
    now = utcnow()
    if since > now:
        raise ValidationError("since", "is in the future")
    count = webhooks.recover(_store(), endpoint, since, now=now)
    return _json(202, {"endpoint": safe_url(endpoint),
                       "endpoint_id": webhooks.endpoint_id(endpoint),
                       "since": to_iso(since), "recovered": count})
