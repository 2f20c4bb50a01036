"""Pacing of vendor calls: the rate budget a client draws each call from, and the call
deadline that caps how long any call (and any wait for the budget) may take.

* :class:`RateBudget` is what a vendor API client draws from: :class:`RateLimiter` (this
  process's own one-second window) or the budget every invocation shares in the state store
  (:class:`shared.state.budget.SharedBudget`).
* :func:`call_deadline` sets, for the calls made inside it, the time by which they must
  finish; :func:`time_left` reads it; a call that could not finish is refused before it is
  made with :func:`deadline_error` (:data:`DEADLINE_CODE`).

Part of the ground floor: it imports nothing above :mod:`shared.errors`.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from shared.errors import ProviderError

# The code of the ProviderError a call gets when it could not finish before the caller's
# deadline: nothing was asked of the vendor, so the task is released as it was, not backed off.
DEADLINE_CODE = "DeadlineReached"
MIN_CALL_S = 1.0  # a vendor call is only started with at least this much time left

_deadline: ContextVar[float | None] = ContextVar("courier_call_deadline", default=None)

@contextmanager
def call_deadline(deadline: float | None) -> Iterator[None]:
    """Vendor calls made inside the block must finish by ``deadline`` (``time.monotonic``):
    rate-limit waits and SDK timeouts are capped by the time left, and a call that cannot
    finish is not started (:data:`DEADLINE_CODE`)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds until the current call deadline, or None without one."""
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


def deadline_error(provider: str, action: str) -> ProviderError:
    return ProviderError(provider, DEADLINE_CODE, f"{action} not called: it could not finish "
                         "before the tick's deadline", retryable=True)


class RateBudget(Protocol):
    """What a vendor API client draws its calls from: :class:`RateLimiter` (this process)
    or :class:`shared.state.budget.SharedBudget` (every invocation)."""

    def acquire(self, action: str) -> float | None:
        """Wait for a call of ``action``; a wait past the call deadline raises
        ``ProviderError`` (:data:`DEADLINE_CODE`) instead."""

    def throttled(self, action: str) -> None:
        """The vendor refused a call of ``action`` as over its limit."""


class RateLimiter:
    """At most ``rate`` calls per API action in any one-second window, in this process.

    The vendors count requests per API per second; a sliding window of the last second's call
    times is what they measure, so it is what we keep. We stay a little below their 20 so
    that other callers of the same account leave headroom. Invocations running in parallel
    each have their own window; the throttling error they may still meet is retryable. (The
    budget every invocation shares is :class:`shared.state.budget.SharedBudget`.)
    """

    def __init__(self, rate: int = 18, window_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = max(1, int(rate))
        self.window_s = window_s
        self._clock = clock
        self._sleep = sleep
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, action: str) -> None:
        """Wait for a call of ``action``; a wait past the call deadline raises
        ``ProviderError`` (:data:`DEADLINE_CODE`) instead."""
        while True:
            with self._lock:
                now = self._clock()
                calls = self._calls.setdefault(action, deque())
                while calls and now - calls[0] >= self.window_s:
                    calls.popleft()
                if len(calls) < self.rate:
                    calls.append(now)
                    return
                wait = self.window_s - (now - calls[0])
            left = time_left()
            if left is not None and left - wait < MIN_CALL_S:
                raise deadline_error("rate-limit", action)
            self._sleep(max(wait, 0.001))

    def throttled(self, action: str) -> None:
        """The vendor refused a call of ``action`` as over its limit (a shared budget slows
        down for everyone; a per-process window has nothing to learn)."""
