"""Is the destination usable? One small object written, read back and deleted.

:func:`probe` is what ``courier doctor`` runs. :class:`DestinationHealth` is how the create
function comes to *know* that the destination is unusable before it accepts an export: the
first request that creates an export probes the destination once; a failure is remembered
for :data:`FAILURE_TTL_S` (every create in that time is refused with a 503 naming the
problem), a success for :data:`SUCCESS_TTL_S`; then the next create probes again. Nothing
else decides it: a copy that fails later retries as before. Each destination an export may
name (``COURIER_DESTINATIONS``) is probed and remembered on its own: a create is refused only
when the destination it names is unusable.
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

    def __init__(self, destination: Callable[[str | None], ObjectStore],
                 clock: Callable[[], float] | None = None) -> None:
        """``destination(name)``: the store of destination ``name`` (None: the deployment's
        own)."""
        self._destination = destination
        self._clock = clock or (lambda: monotonic())
        self._lock = threading.Lock()
        self._known: dict[str | None, tuple[str | None, float]] = {}  # name -> problem, until

    def problem(self, name: str | None = None) -> str | None:
        """Why destination ``name`` (None: the deployment's own) is unusable, or None."""
        with self._lock:
            now = self._clock()
            problem, until = self._known.get(name, (None, 0.0))
            if now < until:
                return problem
            label = "destination" if name is None else f"destination {name!r}"
            try:
                probe(self._destination(name))
            except CourierError as exc:
                problem, until = exc.message, now + FAILURE_TTL_S
                log.error("%s unusable, new exports into it refused for %.0f s: %s", label,
                          FAILURE_TTL_S, exc.message)
            else:
                problem, until = None, now + SUCCESS_TTL_S
            self._known[name] = (problem, until)
            return problem
