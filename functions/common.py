"""What the three handlers share: one Bundle and one Logger per warm container."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from shared.bundle import Bundle
from shared.config import Settings
from shared.errors import ConfigError
from shared.secrets import SecretStores

# under "shared": the handlers' JSON format and redactor apply (runtime/logs.py)
log = logging.getLogger("shared.secrets")
# a refresh that fails keeps the values in use and is tried again this much later
REFRESH_RETRY_S = 30.0

_bundle: Bundle | None = None
_stores: SecretStores | None = None
_loggers: dict[str, Any] = {}


def secret_stores() -> SecretStores:
    """What settings naming a secret store resolved to, kept for the container."""
    global _stores
    if _stores is None:
        _stores = SecretStores()
    return _stores


def bundle() -> Bundle:
    """Built on the first invocation of a container (settings read and checked once); rebuilt
    when values read from a secret store are due again and have changed."""
    global _bundle
    if _bundle is None:
        _bundle = Bundle(Settings.from_env(stores=secret_stores()))
    elif _bundle.settings.refresh_at is not None and \
            secret_stores().clock() >= _bundle.settings.refresh_at:
        _bundle = _refreshed(_bundle)
    return _bundle


def _refreshed(old: Bundle) -> Bundle:
    stores = secret_stores()
    try:
        settings = Settings.from_env(stores=stores)
    except ConfigError as exc:  # the store is down, or a value went bad: keep what works
        log.warning("settings from secret stores not refreshed, keeping those in use: %s",
                    exc.message)
        old.settings = replace(old.settings, refresh_at=stores.clock() + REFRESH_RETRY_S)
        return old
    if settings == old.settings:
        old.settings = settings  # same values, next refresh later
        return old
    same_store = settings.state_url == old.settings.state_url
    same_destination = (settings.destination, settings.storage) == (
        old.settings.destination, old.settings.storage)
    fresh = Bundle(settings, store=old._store if same_store else None,
                   destination=old._destination if same_destination else None)
    if not same_store and old._store is not None:
        old._store.close()
    _loggers.clear()  # the redactor learns the new values
    log.info("settings from secret stores changed; clients rebuilt")
    return fresh


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
    global _bundle, _stores
    if _bundle is not None and _bundle._store is not None:
        _bundle._store.close()
    _bundle = _stores = None
    _loggers.clear()
