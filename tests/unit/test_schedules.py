from __future__ import annotations

from datetime import datetime, timezone

from shared.schedules import fill, window


def test_window_is_aligned_to_the_period() -> None:
    at = datetime(2026, 11, 22, 10, 17, 5, tzinfo=timezone.utc)
    start, end = window(at, 3600)
    assert end == datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
    assert start == datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)


def test_fill_keeps_numbers_numbers_and_formats_times() -> None:
    start = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
    end = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)
    out = fill({"From": "${window_start_ms}", "To": "${window_end_ms}",
                "StartTime": "${window_start}", "Nested": ["${window_end_s}"], "Keep": 5},
               start, end)
    assert out == {"From": int(start.timestamp() * 1000), "To": int(end.timestamp() * 1000),
                   "StartTime": "2026-11-22 09:00:00", "Nested": [int(end.timestamp())],
                   "Keep": 5}
