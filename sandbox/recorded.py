"""Recorded answers: a vendor's published example answer served as the emulator's own.

``POST /_sandbox/recorded`` with ``{"action": "DescribeExports", "response": {...}}`` makes
every later answer to that action (``"times": n``: the next ``n`` only) the recorded
``response``, unchanged, after the request passed the emulator's signature and common
checks; ``"service"`` narrows it to one service, ``{"clear": true}`` drops them all. For the
Tencent API 3.0 services ``response`` is the example's ``Response`` object (``RequestId``
kept); for Alibaba DMS it is the flat answer body. Tests use it to feed the vendors'
published examples through the real SDKs to the clients (see SOURCES.md).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional


@dataclass
class _Recorded:
    service: Optional[str]
    action: str
    response: dict[str, Any]
    times: Optional[int]  # None: every answer


class RecordedAnswers:
    def __init__(self) -> None:
        self._items: list[_Recorded] = []
        self._lock = threading.Lock()

    def add(self, action: str, response: Any, *, service: Optional[str] = None,
            times: Optional[int] = None) -> None:
        if not action or not isinstance(response, dict):
            raise ValueError("a recorded answer needs an action and a response object")
        if times is not None and int(times) < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._items.append(_Recorded(service, action, copy.deepcopy(response),
                                         None if times is None else int(times)))

    def add_from_json(self, spec: dict[str, Any]) -> None:
        if spec.get("clear"):
            self.clear()
            return
        self.add(str(spec.get("action") or ""), spec.get("response"),
                 service=spec.get("service"), times=spec.get("times"))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def take(self, service: Optional[str], action: Optional[str]) -> Optional[dict[str, Any]]:
        """The recorded answer for this call, if one is set (the latest set wins)."""
        with self._lock:
            for item in reversed(self._items):
                if item.action == action and item.service in (None, service):
                    if item.times is not None:
                        item.times -= 1
                        if item.times <= 0:
                            self._items.remove(item)
                    return copy.deepcopy(item.response)
        return None

    def answer(self, service: Optional[str], action: Optional[str],
               handler: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The recorded answer, or what ``handler`` answers."""
        recorded = self.take(service, action)
        return handler() if recorded is None else recorded
