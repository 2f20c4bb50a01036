"""Which export the current work is about, so every log line of it can say so."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# the keys log lines written now carry: ``export_id`` and ``provider`` (either may be absent)
CURRENT_EXPORT: ContextVar[dict[str, str]] = ContextVar("courier_export", default={})  # noqa: B039


@contextmanager
def export_context(export_id: str | None, provider: str | None = None) -> Iterator[None]:
    """Log lines written inside carry ``export_id`` and ``provider`` as keys (see
    :class:`ExportTagger`). Inside the context of the same export, a provider learnt outside
    is kept; a group of exports of one provider gives ``provider`` alone."""
    outer = CURRENT_EXPORT.get()
    keys = dict(outer) if outer.get("export_id") == export_id else {}
    if export_id:
        keys["export_id"] = export_id
    if provider:
        keys["provider"] = provider
    token = CURRENT_EXPORT.set(keys)
    try:
        yield
    finally:
        CURRENT_EXPORT.reset(token)


def export_keys(export_id: str, provider: str | None = None) -> dict[str, str]:
    """The keys of a log line about one export, for ``extra=`` where no context is open."""
    return {"export_id": export_id, **({"provider": provider} if provider else {})}


def note_provider(provider: str) -> None:
    """Inside :func:`export_context` of an export whose provider was not known when it was
    opened (it is read from the store inside): its lines carry ``provider`` from now on."""
    keys = CURRENT_EXPORT.get()
    if keys.get("export_id"):  # a context's own dict, never the shared default
        keys["provider"] = provider


class ExportTagger(logging.Filter):
    """Gives every record handled while an export is worked on that export's keys
    (:func:`export_context`), unless the line gives them itself (``extra``). A filter on the
    functions' handlers (:func:`shared.runtime.logs.setup`), run as the record is handled,
    in the context that wrote it; so ``extra={"export_id": …}`` never collides with it."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in CURRENT_EXPORT.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True
