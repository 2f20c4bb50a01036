"""The fault-injection run (``make chaos``) at a tiny scale, so its harness cannot rot: a
dozen exports over every provider, faults, a failing webhook receiver and two SIGKILLs, with
PostgreSQL state and separate poll and complete processes; every counter that must be 0 is."""

from __future__ import annotations

import pytest

from tests import servers

pytestmark = pytest.mark.integration


@pytest.mark.timeout(300)
def test_a_tiny_chaos_run_loses_nothing_and_makes_nothing_twice() -> None:
    servers.require(servers.postgres_url)
    servers.require(servers.start_moto).stop()
    from bench.chaos.run import Scale, run_config
    from bench.chaos.world import CONFIGS

    # the drain ends as soon as every export has ended: its bound only matters on a loaded
    # machine, where an export left by a SIGKILL waits out its lease (40 s was too short there)
    scale = Scale(exports=12, kills=2, faults=6, create_s=8.0, drain_s=150.0, big=False,
                  hook_timeouts=0)
    counts, broken = run_config(CONFIGS["postgres-async"], scale, seed=3)

    assert broken == [], (broken, counts["_detail"])
    assert counts["accepted"] == 12 and counts["kills"] == 2 and counts["faults"] >= 5
    assert counts["delivered"] + counts["failed"] == 12
    assert counts["files_verified"] >= counts["delivered"] > 0
    for name in ("lost", "stuck", "dup_provider_tasks", "dup_objects",
                 "webhook_dups_after_2xx", "dead_letters", "handler_errors"):
        assert counts[name] == 0, (name, counts)
