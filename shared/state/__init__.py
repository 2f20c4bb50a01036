"""State backends behind one interface; ``open_store(url)`` picks one by URL scheme."""

from __future__ import annotations

from shared.state.base import TaskStore


def open_store(url: str) -> TaskStore:
    """``sqlite:///path``, ``postgresql://…``, ``mysql://…``, ``dynamodb://table?…``."""
    from shared.errors import ConfigError

    scheme = url.split(":", 1)[0].lower()
    if scheme in ("sqlite", "postgresql", "postgres", "mysql"):
        from shared.state.sql import SqlTaskStore

        return SqlTaskStore.from_url(url)
    if scheme == "dynamodb":
        from shared.state.dynamodb import DynamoDBTaskStore

        return DynamoDBTaskStore.from_url(url)
    raise ConfigError(f"COURIER_STATE_URL: unknown scheme {scheme!r} "
                      "(use sqlite://, postgresql://, mysql:// or dynamodb://)")


__all__ = ["TaskStore", "open_store"]
