"""What the pipeline counts, emitted once per invocation.

Library modules call :func:`add` (a name, a value, a unit and a few dimensions such as
``provider`` and ``action``); the handler calls :func:`flush` when the invocation ends, which
writes what was counted to stdout, where the platform's log collects it:

* ``emf`` (Lambda): CloudWatch Embedded Metric Format through Powertools Metrics, one blob
  per set of dimensions; CloudWatch turns them into metrics in :data:`NAMESPACE`;
* ``log`` (SCF): one JSON line per set of dimensions, ``"level": "METRIC"``, with the same
  names, units and values, for CLS to chart;
* ``off``: nothing.

Like Powertools' own metric set, the points wait in one process-wide :class:`Recorder` until
the flush; it is thread-safe (copies journal parts from several threads).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

NAMESPACE = "ExportCourier"
COUNT, BYTES, SECONDS = "Count", "Bytes", "Seconds"

# the names, defined once
EXPORTS_CREATED = "ExportsCreated"
EXPORTS_DELIVERED = "ExportsDelivered"
EXPORTS_FAILED = "ExportsFailed"
EXPORTS_WAITING = "ExportsWaiting"
EXPORTS_STUCK = "ExportsStuck"  # export.stuck raised (a stall of an export's progress)
PROVIDER_CALLS = "ProviderCalls"
PROVIDER_THROTTLES = "ProviderThrottles"
BYTES_COPIED = "BytesCopied"
COPY_SECONDS = "CopySeconds"
ACCEPT_TO_DELIVERED_SECONDS = "AcceptToDeliveredSeconds"
WEBHOOK_ATTEMPTS = "WebhookAttempts"
WEBHOOK_FAILURES = "WebhookFailures"
WEBHOOK_DEAD_LETTERS = "WebhookDeadLetters"
ENDPOINTS_DISABLED = "EndpointsDisabled"
POLL_LAG_SECONDS = "PollLagSeconds"  # per tick: how long the most overdue claimed export waited

EVENT_METRICS = {"export.delivered": EXPORTS_DELIVERED, "export.failed": EXPORTS_FAILED,
                 "export.waiting": EXPORTS_WAITING}

Dimensions = tuple[tuple[str, str], ...]


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._points: dict[Dimensions, list[tuple[str, str, float]]] = {}

    def add(self, name: str, value: float = 1, unit: str = COUNT, **dimensions: str) -> None:
        dims = tuple(sorted((k, str(v)) for k, v in dimensions.items() if v))
        with self._lock:
            self._points.setdefault(dims, []).append((name, unit, float(value)))

    def take(self) -> dict[Dimensions, list[tuple[str, str, float]]]:
        with self._lock:
            points, self._points = self._points, {}
        return points


RECORDER = Recorder()


def add(name: str, value: float = 1, unit: str = COUNT, **dimensions: str) -> None:
    """Count ``value`` of ``name`` (``unit`` Count, Bytes or Seconds) under ``dimensions``."""
    RECORDER.add(name, value, unit, **dimensions)


def flush(mode: str, service: str, *, request_id: str | None = None,
          out: IO[str] | None = None) -> list[dict[str, Any]]:
    """Write what was counted since the last flush; returns the documents written."""
    points = RECORDER.take()
    if mode == "off" or not points:
        return []
    stream = out or sys.stdout
    docs = [emf(service, dims, items, request_id) if mode == "emf"
            else log_line(service, dims, items, request_id)
            for dims, items in points.items()]
    for doc in docs:
        stream.write(json.dumps(doc, separators=(",", ":")) + "\n")
    stream.flush()
    return docs


def emf(service: str, dims: Dimensions, items: list[tuple[str, str, float]],
        request_id: str | None) -> dict[str, Any]:
    """One EMF blob, made by Powertools Metrics (imported here: only Lambda pays for it)."""
    from aws_lambda_powertools.metrics import EphemeralMetrics

    metrics = EphemeralMetrics(namespace=NAMESPACE, service=service)
    for key, text in dims:
        metrics.add_dimension(name=key, value=text)
    for name, unit, value in items:
        metrics.add_metric(name=name, unit=unit, value=value)
    if request_id:
        metrics.add_metadata(key="request_id", value=request_id)
    return dict(metrics.serialize_metric_set())


def log_line(service: str, dims: Dimensions, items: list[tuple[str, str, float]],
             request_id: str | None) -> dict[str, Any]:
    merged: dict[str, dict[str, Any]] = {}
    for name, unit, value in items:
        entry = merged.setdefault(name, {"unit": unit, "values": [], "sum": 0.0})
        entry["values"].append(value)
        entry["sum"] += value
    line: dict[str, Any] = {"level": "METRIC", "namespace": NAMESPACE, "service": service,
                            "timestamp": int(time.time() * 1000), "dimensions": dict(dims),
                            "metrics": merged}
    if request_id:
        line["request_id"] = request_id
    return line


@contextmanager
def invocation(mode: str, service: str, request_id: str | None = None) -> Iterator[None]:
    """Flush at the end of the ``with`` block, however it ends."""
    try:
        yield
    finally:
        flush(mode, service, request_id=request_id)
