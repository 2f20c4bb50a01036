"""Create function: HTTP routes (API gateway, function URL) and scheduled creation (cron)."""

from __future__ import annotations

from typing import Any

from functions import common
from shared.bundle import load_http
from shared.errors import CourierError
from shared.runtime import budget, events

load_http()  # create's HTTP door, loaded at cold start like the rest


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bundle, logger = common.bundle(), common.logger("create")
    inv = budget.invocation(context)
    logger.append_keys(request_id=inv.request_id)
    if events.is_http(event):
        with common.metrics("create", inv.request_id):
            return bundle.api.handle(event, context)
    trigger = events.timer_trigger(event)
    if trigger is not None:
        try:
            with common.metrics("create", inv.request_id):
                created = bundle.fire(trigger)
        except CourierError as exc:  # a timer naming no schedule, a bad time
            logger.error("scheduled creation refused", extra={"reason": exc.message})
            return {"error": exc.message}
        logger.info("scheduled creation", extra={"trigger": trigger.name, "exports": created})
        return {"created": created}
    logger.warning("unrecognised event; expected an HTTP or timer trigger")
    return {"statusCode": 400, "headers": {"Content-Type": "application/json"},
            "body": '{"error":"invalid_request","message":"unrecognised event"}',
            "isBase64Encoded": False}
