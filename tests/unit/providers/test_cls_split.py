"""Planning the parts of a CLS window over the 50,000,000-log cap (pure: a count function
stands in for SearchLog)."""

from __future__ import annotations

import pytest

from shared.errors import ProviderError
from shared.providers.cls_split import MAX_COUNT, plan, resplit


def counter(rate_per_ms: float, spikes: tuple[tuple[int, int], ...] = ()):
    calls: list[tuple[int, int]] = []

    def count(a: int, b: int) -> int:
        calls.append((a, b))
        return int(rate_per_ms * (b - a)) + sum(n for at, n in spikes if a <= at < b)
    count.calls = calls  # type: ignore[attr-defined]
    return count


def windows(parts: list[dict]) -> list[tuple[int, int]]:
    return [(p["From"], p["To"]) for p in parts]


def test_an_even_window_takes_as_few_parts_as_the_count_needs() -> None:
    count = counter(40.0)  # 144,000,000 logs in an hour
    parts = plan(count, 0, 3_600_000, count(0, 3_600_000))
    assert windows(parts) == [(0, 1_200_000), (1_200_000, 2_400_000), (2_400_000, 3_600_000)]
    assert [p["log_count"] for p in parts] == [48_000_000] * 3
    assert all(p["ExportId"] is None for p in parts)


def test_a_burst_is_split_finer_and_quiet_neighbours_are_merged() -> None:
    count = counter(1.0, spikes=((100, 49_000_000), (200, 49_000_000)))
    total = count(0, 10_000_000)
    parts = plan(count, 0, 10_000_000, total)
    assert sum(p["log_count"] for p in parts) == total
    assert all(p["log_count"] <= MAX_COUNT for p in parts)
    assert parts[0]["From"] == 0 and parts[-1]["To"] == 10_000_000
    assert all(a["To"] == b["From"] for a, b in zip(parts, parts[1:]))
    assert len(parts) == 3  # one burst each, the quiet rest in one


def test_one_millisecond_over_the_cap_is_refused_by_name() -> None:
    count = counter(0.0, spikes=((5, MAX_COUNT + 1),))
    with pytest.raises(ProviderError) as caught:
        plan(count, 0, 1000, MAX_COUNT + 1)
    assert caught.value.code == "WindowOverExportCap" and not caught.value.retryable
    assert "one millisecond cannot be split" in caught.value.detail
    assert "5..6" in caught.value.detail


def test_more_parts_than_allowed_are_refused_before_counting_on() -> None:
    count = counter(1000.0)  # 3,600,000,000 logs: 72 exports
    total = count(0, 3_600_000)
    with pytest.raises(ProviderError, match="needs at least 72 exports, more than the 10 "):
        plan(count, 0, 3_600_000, total, max_parts=10)
    assert len(count.calls) == 1  # type: ignore[attr-defined]  # only the first count
    uneven = counter(1.0, spikes=tuple((i * 1000, 30_000_000) for i in range(12)))
    with pytest.raises(ProviderError, match="it needs 12 exports, more than the 10 allowed"):
        plan(uneven, 0, 12_000, uneven(0, 12_000), max_parts=10)


def test_a_part_cut_off_is_replaced_by_its_own_parts() -> None:
    parts = [{"From": 0, "To": 10, "log_count": 1, "ExportId": "a"},
             {"From": 10, "To": 20, "log_count": 1, "ExportId": "b"}]
    count = counter(10_000_000.0)  # 100,000,000 in 10 ms
    new = resplit(parts, 1, count, count(10, 20))
    assert new[0] == parts[0] and windows(new[1:]) == [(10, 15), (15, 20)]
    assert all(p["ExportId"] is None for p in new[1:])
    with pytest.raises(ProviderError, match="more than 2 exports"):
        resplit(parts, 1, count, count(10, 20), max_parts=2)
