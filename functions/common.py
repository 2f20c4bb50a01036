"""What the three handlers share: one warm container (its bundle and loggers)."""

from __future__ import annotations

from typing import Any

from shared.bundle import Bundle, Container

_container = Container()


def bundle() -> Bundle:
    """Built on the first invocation of a container; rebuilt when values read from a secret
    store are due again and have changed (:class:`shared.bundle.Container`)."""
    return _container.bundle()


def secret_stores() -> Any:
    """What settings naming a secret store resolved to, kept for the container."""
    return _container.stores


def logger(function: str) -> Any:
    return _container.logger(function)


def metrics(function: str, request_id: str) -> Any:
    return _container.metrics(function, request_id)


def reset() -> None:
    """Forget the warm state (local invoke and tests that change the environment)."""
    _container.reset()
