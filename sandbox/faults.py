"""Fault injection: planned failures that run before a request is handled normally.

Kinds:

* ``error``       — a Tencent error body with ``code`` / ``message`` (HTTP 200).
* ``slow``        — sleep ``delay`` seconds, then handle the request normally.
* ``drop``        — close the connection without an answer (for file downloads: after
  ``after`` body bytes when given, so a client sees a truncated body).
* ``http_status`` — answer HTTP ``status`` with a non-JSON body.
* ``lost_answer`` — handle the request (it takes effect), then close the connection
  without answering: the client cannot tell whether it went through.

``service`` / ``action`` match exactly; ``"*"`` (or None) matches anything. File downloads are
service ``"files"``, action ``"Download"``. ``times`` is how many requests the fault hits;
``times=None`` means every request until :meth:`Faults.clear`. ``ttl`` (seconds) makes a
fault lapse unused after that long: an incident that passes whether or not it was noticed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Optional

KINDS = ("error", "slow", "drop", "http_status", "lost_answer")


@dataclass
class Fault:
    service: Optional[str]
    action: Optional[str]
    kind: str
    code: str = "InternalError"
    message: str = ""
    times: Optional[int] = 1
    delay: float = 0.0
    status: int = 502
    after: Optional[int] = None
    expires: Optional[float] = None  # time.monotonic() after which the fault has lapsed

    def matches(self, service: Optional[str], action: Optional[str]) -> bool:
        return (self.service in (None, "*", service)) and (self.action in (None, "*", action))


class Faults:
    """Thread-safe list of pending faults; the first match wins and uses up one ``times``."""

    def __init__(self) -> None:
        self._items: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, service: Optional[str] = None, action: Optional[str] = None,
            kind: str = "error", code: str = "InternalError", message: str = "",
            times: Optional[int] = 1, delay: float = 0.0, status: int = 502,
            after: Optional[int] = None, ttl: Optional[float] = None) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {KINDS}")
        if times is not None and int(times) < 1:
            raise ValueError("times must be >= 1 (or None for always)")
        fault = Fault(service=service, action=action, kind=kind, code=str(code),
                      message=str(message or f"injected fault {code}"),
                      times=None if times is None else int(times), delay=float(delay or 0),
                      status=int(status), after=None if after is None else int(after),
                      expires=None if ttl is None else time.monotonic() + float(ttl))
        with self._lock:
            self._items.append(fault)
        return fault

    def add_from_json(self, spec: dict[str, Any]) -> Fault:
        allowed = {"service", "action", "kind", "code", "message", "times", "delay", "status",
                   "after", "ttl"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return self.add(**spec)

    def take(self, service: Optional[str], action: Optional[str]) -> Optional[Fault]:
        """The first fault matching this request, consuming one use of it."""
        now = time.monotonic()
        with self._lock:
            self._items = [f for f in self._items if f.expires is None or f.expires > now]
            for i, fault in enumerate(self._items):
                if fault.matches(service, action):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            del self._items[i]
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
