"""Run the bundle's handlers on this machine, as the platforms would call them."""

from __future__ import annotations

import importlib
import time
from typing import Any

FUNCTIONS = {
    "create": "functions.create_export",
    "poll": "functions.poll_tasks",
    "complete": "functions.complete_export",
}


class LocalContext:
    """A Lambda-shaped context for local runs."""

    function_name = "courier-local"
    aws_request_id = "local"
    memory_limit_in_mb = 512

    def __init__(self, timeout_s: float = 60.0) -> None:
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def invoke(function: str, event: dict[str, Any], timeout_s: float = 60.0) -> Any:
    module = importlib.import_module(FUNCTIONS[function])
    return module.handler(event, LocalContext(timeout_s))
