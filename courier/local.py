"""Run the bundle's handlers on this machine, as the platforms would call them."""

from __future__ import annotations

import importlib
import secrets
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


def local_settings(session_key: str | None = None) -> Any:
    """The bundle's settings from the environment, for the CLI's own use of the local state.

    The CLI's commands serve no HTTP request (they call the ``shared`` functions directly), so
    a missing ``COURIER_API_KEYS`` is not an error here: ``session_key`` (``courier ui`` makes
    one up and prints it) stands in. Every other setting is read and checked as at a cold
    start.
    """
    import os

    from shared.bundle import read_settings
    from shared.setting_names import ENV_API_KEYS, ENV_AUTH

    if os.environ.get(ENV_API_KEYS, "").strip() or os.environ.get(ENV_AUTH, "").strip():
        return read_settings()
    return read_settings({**os.environ,
                          ENV_API_KEYS: session_key or secrets.token_urlsafe(24)})


def local_bundle(session_key: str | None = None) -> Any:
    from shared.bundle import Bundle

    return Bundle(local_settings(session_key))
