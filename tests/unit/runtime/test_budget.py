"""An invocation's time budget, read from the platform's context."""

from __future__ import annotations

import pytest

from shared.runtime import budget


def test_scf_context_gives_a_deadline() -> None:
    inv = budget.invocation({"request_id": "r1", "time_limit_in_ms": 30000})
    assert inv.request_id == "r1"
    assert inv.remaining_s == 30.0
    assert inv.deadline() - inv.started == pytest.approx(20.0)
