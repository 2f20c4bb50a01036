"""What the three handlers share: one Bundle and one Logger per warm container."""

from __future__ import annotations

from typing import Any

from shared.bundle import Bundle
from shared.config import Settings

_bundle: Bundle | None = None
_loggers: dict[str, Any] = {}


def bundle() -> Bundle:
    """Built on the first invocation of a container (settings read and checked once)."""
    global _bundle
    if _bundle is None:
        _bundle = Bundle(Settings.from_env())
    return _bundle


def logger(function: str) -> Any:
    if function not in _loggers:
        from shared.runtime.logs import setup

        _loggers[function] = setup(f"export-courier-{function}", bundle().settings)
    return _loggers[function]


def metrics(function: str, request_id: str) -> Any:
    """``with common.metrics(...)``: what the invocation counted is flushed at its end (EMF
    on Lambda, metric log lines on SCF; ``COURIER_METRICS``)."""
    from shared.runtime.metrics import invocation

    return invocation(bundle().settings.metrics, f"export-courier-{function}", request_id)


def reset() -> None:
    """Forget the warm state (local invoke and tests that change the environment)."""
    global _bundle
    if _bundle is not None and _bundle._store is not None:
        _bundle._store.close()
    _bundle = None
    _loggers.clear()
