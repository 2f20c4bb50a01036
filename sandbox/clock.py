"""Sandbox time: the wall clock, optionally sped up, plus an offset that tests move forward."""

from __future__ import annotations

import threading
import time


class Clock:
    """Monotone sandbox time in unix seconds.

    Sandbox time starts at the wall clock and flows ``time_scale`` times as fast as real time
    (1.0 = real time; 60 = a sandbox minute per real second); ``advance`` jumps it forward.
    """

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self._lock = threading.Lock()
        self._scale = float(time_scale)
        self._real0 = time.time()
        self._base = self._real0  # sandbox time at _real0
        self._offset = 0.0

    def _now(self) -> float:
        return self._base + (time.time() - self._real0) * self._scale + self._offset

    def now(self) -> float:
        with self._lock:
            return self._now()

    def advance(self, seconds: float) -> float:
        """Move sandbox time forward by ``seconds``; returns the new time."""
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += float(seconds)
            return self._now()

    @property
    def offset(self) -> float:
        """Total seconds added by :meth:`advance`."""
        with self._lock:
            return self._offset

    @property
    def time_scale(self) -> float:
        with self._lock:
            return self._scale

    @time_scale.setter
    def time_scale(self, value: float) -> None:
        if value <= 0:
            raise ValueError("time_scale must be positive")
        with self._lock:
            current = self._now() - self._offset
            self._real0 = time.time()
            self._base = current
            self._scale = float(value)
