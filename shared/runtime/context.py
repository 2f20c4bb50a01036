"""Which export the current work is about, so every log line of it can say so."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

CURRENT_EXPORT: ContextVar[str | None] = ContextVar("courier_export_id", default=None)


@contextmanager
def export_context(export_id: str | None) -> Iterator[None]:
    """Log lines written inside carry ``export_id`` (see :class:`ExportIdFilter`)."""
    token = CURRENT_EXPORT.set(export_id)
    try:
        yield
    finally:
        CURRENT_EXPORT.reset(token)


class ExportIdFilter(logging.Filter):
    """Adds ``export_id`` to a record written while an export is being worked on."""

    def filter(self, record: logging.LogRecord) -> bool:
        export_id = CURRENT_EXPORT.get()
        if export_id and not hasattr(record, "export_id"):
            record.export_id = export_id
        return True
