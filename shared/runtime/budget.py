"""The invocation's time budget, read from the SCF or Lambda context."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

# Stop this long before the platform's own limit, so state is written and leases released.
SAFETY_MARGIN_S = 10.0


@dataclass(frozen=True)
class Invocation:
    request_id: str
    function_name: str | None
    remaining_s: float  # time left when the handler started
    started: float = field(default_factory=time.monotonic)

    def deadline(self, margin_s: float = SAFETY_MARGIN_S) -> float:
        """A ``time.monotonic()`` deadline to stop new work at."""
        return self.started + max(1.0, self.remaining_s - margin_s)


def invocation(context: Any, default_timeout_s: float = 60.0) -> Invocation:
    """Lambda contexts are objects; SCF passes a dict (``time_limit_in_ms``, ``request_id``)."""
    if context is None:
        return Invocation("local", None, default_timeout_s)
    if isinstance(context, dict):
        limit_ms = context.get("time_limit_in_ms") or default_timeout_s * 1000
        return Invocation(str(context.get("request_id") or "scf"),
                          context.get("function_name"), float(limit_ms) / 1000)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return Invocation(
        str(getattr(context, "aws_request_id", "lambda")),
        getattr(context, "function_name", None),
        remaining() / 1000 if callable(remaining) else default_timeout_s,
    )
