"""The shared budget's arithmetic on a fake clock: batches of slots, the caller's deadline,
and the slow-down on a vendor throttle and its recovery."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from shared.errors import ProviderError
from shared.pacing import DEADLINE_CODE, call_deadline
from shared.state import open_store
from shared.state.base import TaskStore
from shared.state.bucket import BUCKET, BucketPolicy
from shared.state.budget import SharedBudget


class FakeTime:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def store() -> Iterator[TaskStore]:
    st = open_store("sqlite:///:memory:")
    yield st
    st.close()


def budget(store: TaskStore, t: FakeTime, draw: int = 4) -> SharedBudget:
    return SharedBudget(lambda: store, "acct", "cls", clock=t.clock, sleep=t.sleep,
                        policy=BucketPolicy(ceiling=10.0, recover_per_s=1.0), draw=draw)


def test_slots_are_spaced_by_the_rate_and_drawn_in_batches(store: TaskStore) -> None:
    t = FakeTime()
    b = budget(store, t, draw=4)
    slots = [b.acquire("DescribeExports") for _ in range(8)]
    assert slots == pytest.approx([t0 := 1_000_000.0] + [t0 + i / 10 for i in range(1, 8)])
    # 8 calls, 2 draws from the store: the bucket was inserted, then set once
    rec = store.get_record(BUCKET, b.bucket("DescribeExports"))
    assert rec is not None and rec.version == 1


def test_a_draw_never_promises_a_slot_after_the_deadline(store: TaskStore) -> None:
    t = FakeTime()
    other = budget(store, t, draw=50)
    other.acquire("DescribeExports")  # another invocation took the next 5 seconds
    mine = budget(store, t)
    with call_deadline(time.monotonic() + 3), pytest.raises(ProviderError) as err:
        mine.acquire("DescribeExports")
    assert err.value.code == DEADLINE_CODE and err.value.retryable
    assert t.now == 1_000_000.0  # and it did not wait for nothing


def test_a_throttle_halves_the_rate_for_everyone_and_it_recovers(store: TaskStore) -> None:
    t = FakeTime()
    first, second = budget(store, t, draw=1), budget(store, t, draw=1)
    first.acquire("DescribeExports")
    first.throttled("DescribeExports")
    # the other invocation now gets slots 1/5 s apart (rate 10 -> 5)
    a, b = second.acquire("DescribeExports"), second.acquire("DescribeExports")
    assert b - a == pytest.approx(1 / 5, rel=0.05)
    t.now += 60  # a minute later the rate is back at its ceiling
    a, b = second.acquire("DescribeExports"), second.acquire("DescribeExports")
    assert b - a == pytest.approx(1 / 10)
