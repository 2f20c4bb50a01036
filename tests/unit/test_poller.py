"""How soon a pending export is looked at again: sooner near 100 %, later when pending long,
always within bounds."""

from __future__ import annotations

import pytest

from shared.poller import next_look


@pytest.mark.parametrize(("progress", "pending_s", "expected"), [
    (None, 0, 30.0),
    (50, 300, 30.0),
    (95, 0, 7.5),
    (100, 5000, 7.5),
    (None, 1200, 60.0),
    (None, 60000, 300.0),
], ids=["default", "halfway", "near-done", "near-done-wins", "long-pending", "bounded"])
def test_next_look_adapts_within_bounds(progress: int | None, pending_s: float,
                                        expected: float) -> None:
    assert next_look(30.0, progress, pending_s) == expected
