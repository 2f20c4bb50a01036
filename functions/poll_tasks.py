"""Timer function: poll due exports, hand ready ones to complete, retry due webhooks."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from functions import common
from shared.runtime import budget


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    bundle, logger = common.bundle(), common.logger("poll")
    inv = budget.invocation(context)
    logger.append_keys(request_id=inv.request_id)
    with common.metrics("poll", inv.request_id):
        stats = bundle.poller.tick(deadline=inv.deadline(), owner=f"poll:{inv.request_id}")
    logger.info("tick", extra={"stats": asdict(stats)})
    return asdict(stats)
