"""Completion function: copy one ready export into the destination, then notify."""

from __future__ import annotations

from typing import Any

from functions import common
from shared.runtime import budget, events


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bundle, logger = common.bundle(), common.logger("complete")
    inv = budget.invocation(context)
    export_id = events.async_payload(event).get("export_id")
    logger.append_keys(request_id=inv.request_id, export_id=export_id)
    if not isinstance(export_id, str) or not export_id:
        logger.warning("payload without export_id; nothing to do")
        return {"error": "payload must be {\"export_id\": \"exp_…\"}"}
    task = bundle.completer.complete(export_id, owner=f"complete:{inv.request_id}",
                                     budget_s=max(30.0, inv.remaining_s - budget.SAFETY_MARGIN_S))
    logger.info("complete", extra={"state": task.state.value})
    return {"export_id": task.id, "state": task.state.value}
