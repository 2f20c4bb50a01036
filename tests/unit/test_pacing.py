from __future__ import annotations

from shared.pacing import RateLimiter


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_never_more_than_rate_calls_in_any_one_second_window() -> None:
    t = FakeTime()
    limiter = RateLimiter(rate=20, clock=t.clock, sleep=t.sleep)
    stamps = []
    for _ in range(100):
        limiter.acquire("DescribeExports")
        stamps.append(t.now)
        t.now += 0.001  # each call takes a millisecond
    for i, start in enumerate(stamps):
        in_window = [s for s in stamps[i:] if s - start < 1.0]
        assert len(in_window) <= 20
    assert stamps[-1] < 5.0  # and it does not wait longer than it must


def test_actions_are_limited_separately() -> None:
    t = FakeTime()
    limiter = RateLimiter(rate=2, clock=t.clock, sleep=t.sleep)
    for action in ("CreateExport", "CreateExport", "DescribeExports", "DescribeExports"):
        limiter.acquire(action)
    assert t.slept == []
    limiter.acquire("CreateExport")
    assert t.slept and t.now >= 1.0
