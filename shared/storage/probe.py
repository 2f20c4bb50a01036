"""Is the destination usable? One small object written, read back and deleted.

:func:`probe` is what ``courier doctor`` runs. :class:`DestinationHealth` is how the create
function comes to *know* that the destination is unusable before it accepts an export: the
first request that creates an export probes the destination once; a failure is remembered
for :data:`FAILURE_TTL_S` (every create in that time is refused with a 503 naming the
problem), a success for :data:`SUCCESS_TTL_S`; then the next create probes again. Nothing
else decides it: a copy that fails later retries as before.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from time import monotonic

from shared.errors import CourierError, StorageError
from shared.storage.base import ObjectStore

log = logging.getLogger(__name__)

PROBE_PREFIX = "courier-probe-"  # the probe object's key: this, 16 hex digits, ".txt"
PROBE_BODY = b"export courier destination probe; safe to delete\n"
FAILURE_TTL_S = 60.0
SUCCESS_TTL_S = 600.0


def probe(store: ObjectStore) -> None:
    """Write, read back and delete a small object; StorageError naming the step and the
    destination when one fails (the object is deleted whatever happened after the write)."""
    key = f"{PROBE_PREFIX}{secrets.token_hex(8)}.txt"
    step = "write"
    try:
        store.put_object(key, PROBE_BODY)
        try:
            step = "read back"
            if store.read(key) != PROBE_BODY:
                raise StorageError("the object read back differs from the one written")
        finally:
            step = "delete"
            store.delete(key)
    except CourierError as exc:
        text = exc.message
        where = store.where
        detail = text if where in text else f"{where}: {text}"
        raise StorageError(f"the probe object could not be {_done(step)} ({detail})",
                           retryable=getattr(exc, "retryable", True)) from exc


def _done(step: str) -> str:
    return {"write": "written", "read back": "read back", "delete": "deleted"}[step]


class DestinationHealth:
    """The create function's view of the destination: :meth:`problem` is None while it is
    usable, else why not (see the module doc for when it probes)."""

    def __init__(self, destination: Callable[[], ObjectStore],
                 clock: Callable[[], float] | None = None) -> None:
        self._destination = destination
        self._clock = clock or (lambda: monotonic())
        self._lock = threading.Lock()
        self._problem: str | None = None
        self._until = 0.0

    def problem(self) -> str | None:
        with self._lock:
            now = self._clock()
            if now < self._until:
                return self._problem
            try:
                probe(self._destination())
            except CourierError as exc:
                self._problem, self._until = exc.message, now + FAILURE_TTL_S
                log.error("destination unusable, new exports refused for %.0f s: %s",
                          FAILURE_TTL_S, exc.message)
            else:
                self._problem, self._until = None, now + SUCCESS_TTL_S
            return self._problem
