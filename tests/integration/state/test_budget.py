"""The shared rate budget on every backend: processes drawing from one bucket together never
get more call slots in any one-second window than the bucket's rate."""

from __future__ import annotations

import multiprocessing

from tests.integration.state.race import drawer

RATE = 40.0
CALLS = 30  # per process: 60 slots, about 1.5 s of the budget


def test_two_processes_drawing_from_one_bucket_never_exceed_the_rate(store_url: str) -> None:
    # GIVEN two processes with their own store connections and one bucket of 40 a second
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=drawer, args=(store_url, RATE, CALLS, start, results))
             for _ in range(2)]
    for p in procs:
        p.start()
    # WHEN both draw at once
    start.set()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    assert [error for _, error in outcomes] == [None, None]
    # THEN every call got its own slot, the slots are spaced by at least 1/rate, and no
    # one-second window holds more than the rate
    slots = sorted(s for got, _ in outcomes for s in got)
    assert len(slots) == 2 * CALLS and all(len(got) == CALLS for got, _ in outcomes)
    gaps = [b - a for a, b in zip(slots, slots[1:])]
    assert min(gaps) >= 1 / RATE - 1e-6
    busiest = max(sum(1 for s in slots if first <= s < first + 1 - 1e-6) for first in slots)
    assert busiest <= RATE


def test_a_held_bucket_gives_no_slot_before_the_vendors_wait(store_url: str) -> None:
    # a chat bot blocked for ten minutes: every sender sharing the bucket waits them out
    from shared.state import open_store
    from shared.state.bucket import BucketPolicy

    store = open_store(store_url)
    policy = BucketPolicy(ceiling=0.3, floor=0.075)
    try:
        assert store.take_slots("chat|ops", want=1, latest=1000.0, now=1000.0,
                                policy=policy) == [1000.0]
        store.hold_bucket("chat|ops", until=1600.0, now=1001.0, policy=policy)
        assert store.take_slots("chat|ops", want=1, latest=1599.0, now=1599.0,
                                policy=policy) == []
        assert store.take_slots("chat|ops", want=1, latest=1600.0, now=1600.0,
                                policy=policy) == [1600.0]
    finally:
        store.close()
