"""``GET /summary``: what the status page shows at its top, read from the store in one go.

Exports per state and per provider, the oldest export still waiting, the webhook endpoints
that are failing or suspended, and the last 24 hours hour by hour: exports delivered and
failed, and the mean and longest accept-to-delivered time of the delivered ones.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from shared.clock import to_iso, utcnow
from shared.http.views import json_response, safe_url
from shared.state.base import TaskStore
from shared.state.summary import TaskSummary
from shared.webhooks import endpoints

PATH = "/summary"


def summary_view(s: TaskSummary, failing: list[endpoints.EndpointHealth],
                 now: datetime) -> dict[str, Any]:
    oldest = s.oldest_waiting
    delivered = sum(h.delivered for h in s.hours)
    total_ms = sum(h.delivered_ms_total for h in s.hours)
    return {
        "generated_at": to_iso(now),
        "total": s.total,
        "by_state": s.by_state,
        "by_provider": s.by_provider,
        "oldest_waiting": None if oldest is None else {
            "id": oldest.id, "provider": oldest.provider, "state": oldest.state.value,
            "created_at": to_iso(oldest.created_at),
            "age_s": round(max(0.0, (now - oldest.created_at).total_seconds()), 3)},
        "failing_endpoints": [{
            "endpoint": safe_url(e.url), "endpoint_id": e.id, "state": e.state,
            "consecutive_failures": e.consecutive_failures,
            "failing_since": to_iso(e.failing_since),
            "last_failure_at": to_iso(e.last_failure_at),
            "disabled_reason": e.disabled_reason} for e in failing],
        "last_24h": {
            "since": to_iso(s.since),
            "delivered": delivered,
            "failed": sum(h.failed for h in s.hours),
            "mean_delivered_s": round(total_ms / delivered / 1000, 3) if delivered else None,
            "hours": [{"start": to_iso(h.start), "delivered": h.delivered, "failed": h.failed,
                       "mean_delivered_s": h.mean_delivered_s,
                       "max_delivered_s": round(h.delivered_ms_max / 1000, 3)
                       if h.delivered else None} for h in s.hours]},
    }


def router(store: Callable[[], TaskStore]) -> Router:
    r = Router()

    @r.get(PATH)
    def summary() -> Response:
        now = utcnow()
        st = store()
        return json_response(200, summary_view(st.summarize_tasks(now=now),
                                               endpoints.failing_endpoints(st), now))

    return r
