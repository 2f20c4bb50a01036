"""Completion function: copy one ready export into the destination, then notify."""

from __future__ import annotations

import re
from typing import Any

from functions import common
from shared.errors import NotFoundError
from shared.runtime import budget, events

EXPORT_ID = re.compile(r"exp_[A-Za-z0-9]{1,64}")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bundle, logger = common.bundle(), common.logger("complete")
    inv = budget.invocation(context)
    export_id = events.async_payload(event).get("export_id")
    logger.append_keys(request_id=inv.request_id)
    if not isinstance(export_id, str) or not EXPORT_ID.fullmatch(export_id):
        logger.warning("payload without a valid export_id; nothing to do")
        return {"error": "payload must be {\"export_id\": \"exp_…\"}"}
    logger.append_keys(export_id=export_id)
    try:
        with common.metrics("complete", inv.request_id):
            task = bundle.completer.complete(
                export_id, owner=f"complete:{inv.request_id}",
                budget_s=max(30.0, inv.remaining_s - budget.SAFETY_MARGIN_S))
    except NotFoundError:
        logger.warning("no such export; nothing to do")
        return {"export_id": export_id, "error": "no such export"}
    logger.info("complete", extra={"state": task.state.value})
    return {"export_id": task.id, "state": task.state.value}
