"""Which export the current work is about, so every log line of it can say so."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

CURRENT_EXPORT: ContextVar[str | None] = ContextVar("courier_export_id", default=None)


@contextmanager
def export_context(export_id: str | None) -> Iterator[None]:
    """Log lines written inside carry ``export_id`` (see :func:`tag_records`)."""
    token = CURRENT_EXPORT.set(export_id)
    try:
        yield
    finally:
        CURRENT_EXPORT.reset(token)


_installed = False


def tag_records() -> None:
    """Make every log record created while an export is worked on carry ``export_id``
    (once per process; the record factory wraps whatever factory was there)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        export_id = CURRENT_EXPORT.get()
        if export_id and not hasattr(record, "export_id"):
            record.export_id = export_id
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
