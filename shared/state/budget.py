"""The rate budget every invocation shares: one bucket per (vendor account, service, action)
in the state store (:mod:`shared.state.bucket`).

:class:`SharedBudget` is a :class:`~shared.providers.base.RateBudget`, as the per-process
:class:`~shared.providers.base.RateLimiter` is: the vendor API client calls
``acquire(action)`` before every request and ``throttled(action)`` when the vendor refused
one as over its limit. A store round trip draws :data:`DRAW` slots at once, kept in this
process for the calls that follow; a slot not used within :data:`LATE_S` of its time is
dropped, so late calls never crowd the window. ``acquire`` never waits past the call
deadline (:func:`~shared.providers.base.call_deadline`), nor longer than :data:`MAX_WAIT_S`
without one. Slot times are wall-clock seconds, so the hosts sharing a budget need
synchronised clocks (NTP keeps them within milliseconds). If the state store cannot be
reached, the process falls back to its own one-second window.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from shared.errors import ProviderError, StoreError
from shared.pacing import MIN_CALL_S, RateLimiter, deadline_error, time_left
from shared.state.base import TaskStore
from shared.state.bucket import BucketPolicy

log = logging.getLogger(__name__)

DRAW = 4  # slots drawn per store round trip
LATE_S = 0.05  # a slot unused this long after its time is dropped
MAX_WAIT_S = 5.0  # the longest wait for a slot when the caller has no deadline


def account_of(key_id: str) -> str:
    """A stable, non-secret name for the vendor account behind an access key."""
    return hashlib.sha256(key_id.encode()).hexdigest()[:16]


class SharedBudget:
    def __init__(self, store: Callable[[], TaskStore], account: str, service: str, *,
                 policy: BucketPolicy | None = None, draw: int = DRAW,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.store = store
        self.account = account
        self.service = service
        self.policy = policy or BucketPolicy()
        self.draw = max(1, int(draw))
        self._clock = clock
        self._sleep = sleep
        self._slots: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._fallback = RateLimiter(rate=int(self.policy.ceiling))

    def bucket(self, action: str) -> str:
        return f"{self.account}|{self.service}|{action}"

    def acquire(self, action: str) -> float:
        """Wait for this process's next slot for ``action``; returns the slot's time."""
        slot = self._local(action)
        if slot is None:
            slot = self._draw(action)
        wait = slot - self._clock()
        if wait > 0:
            self._sleep(wait)
        return slot

    def throttled(self, action: str) -> None:
        with self._lock:
            self._slots.pop(action, None)  # drawn at the old rate
        try:
            self.store().slow_bucket(self.bucket(action), now=self._clock(), policy=self.policy)
        except StoreError as exc:
            log.warning("rate budget: cannot record a throttle of %s.%s (%s)", self.service,
                        action, exc.message)

    def _local(self, action: str) -> float | None:
        now = self._clock()
        with self._lock:
            pool = self._slots.get(action)
            while pool and pool[0] < now - LATE_S:
                pool.popleft()
            return pool.popleft() if pool else None

    def _draw(self, action: str) -> float:
        left = time_left()
        room = MAX_WAIT_S if left is None else min(MAX_WAIT_S, left - MIN_CALL_S)
        if room < 0:
            raise deadline_error(self.service, action)
        now = self._clock()
        try:
            got = self.store().take_slots(self.bucket(action), want=self.draw,
                                          latest=now + room, now=now, policy=self.policy)
        except StoreError as exc:
            log.warning("rate budget: state store unavailable (%s); limiting %s.%s in this "
                        "process only", exc.message, self.service, action)
            self._fallback.acquire(action)
            return self._clock()
        if not got:
            if left is not None:
                raise deadline_error(self.service, action)
            raise ProviderError(self.service, "RateBudgetExhausted", f"no {action} call free "
                                f"within {MAX_WAIT_S:.0f} s of the shared budget",
                                retryable=True, retry_after=MAX_WAIT_S)
        with self._lock:
            self._slots.setdefault(action, deque()).extend(got[1:])
        return got[0]
