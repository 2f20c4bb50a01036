"""A claimer process for the race test (importable, so ``spawn`` can start it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def claimer(url: str, owner: str, now_iso: str, lease_s: float, batch: int, start: Any,
            results: Any) -> None:
    """Wait for ``start``, then claim due tasks until two rounds come back empty; put
    ``(owner, [(task id, version), …], error)`` on ``results``."""
    from shared.state import open_store

    taken: list[tuple[str, int]] = []
    error = None
    try:
        store = open_store(url)
        try:
            now = datetime.fromisoformat(now_iso)
            start.wait(60)
            empty = 0
            while empty < 2:
                got = store.claim_due_tasks(limit=batch, lease_s=lease_s, owner=owner, now=now)
                taken += [(t.id, t.version) for t in got]
                empty = 0 if got else empty + 1
        finally:
            store.close()
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        error = f"{type(exc).__name__}: {exc}"
    results.put((owner, taken, error))


def drawer(url: str, rate: float, calls: int, start: Any, results: Any) -> None:
    """Wait for ``start``, then make ``calls`` draws of one shared rate budget; put
    ``([slot time, …], error)`` on ``results``."""
    from shared.state import open_store
    from shared.state.bucket import BucketPolicy
    from shared.state.budget import SharedBudget

    slots: list[float] = []
    error = None
    try:
        store = open_store(url)
        try:
            budget = SharedBudget(lambda: store, "account", "cls",
                                  policy=BucketPolicy(ceiling=rate))
            start.wait(60)
            slots = [budget.acquire("DescribeExports") for _ in range(calls)]
        finally:
            store.close()
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        error = f"{type(exc).__name__}: {exc}"
    results.put((slots, error))
