"""The fault-injection run's verdict (bench/chaos): what it counts as broken, and how it reads
the copies' notes of what they read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.chaos.run import Scale, checks, parts_in_flight
from bench.chaos.verify import bytes_read

PART = 5 * 1024 * 1024
SCALE = Scale(exports=10, kills=2, faults=4, create_s=10, drain_s=60)


def clean(**changes: Any) -> dict[str, Any]:
    counts: dict[str, Any] = {
        "accepted": 10, "delivered": 9, "failed": 1, "failed_unplanned": 0, "stuck": 0,
        "lost": 0, "dup_provider_tasks": 0, "files_bad": 0, "dup_objects": 0,
        "webhook_dups_after_2xx": 0, "webhooks_missing": 0, "dead_letters": 0,
        "handler_errors": 0, "kills": 2, "bytes_reread_per_kill": 2 * PART,
        "part_bytes": PART, "parts_in_flight": 2, "recovery_max_s": 119.0}
    counts.update(changes)
    return counts


def test_a_clean_run_passes() -> None:
    assert checks(clean(), SCALE) == []


@pytest.mark.parametrize("changes, expected", [
    ({"lost": 1}, "lost=1"),
    ({"stuck": 2}, "stuck=2"),
    ({"dup_provider_tasks": 1}, "dup_provider_tasks=1"),
    ({"dup_objects": 1}, "dup_objects=1"),
    ({"webhook_dups_after_2xx": 1}, "webhook_dups_after_2xx=1"),
    ({"dead_letters": 1}, "dead_letters=1"),
    ({"failed_unplanned": 1}, "failed_unplanned=1"),
    ({"bytes_reread_per_kill": 2 * PART + 1}, "bytes_reread_per_kill"),
    ({"parts_in_flight": 1}, "bytes_reread_per_kill"),
    ({"recovery_max_s": 120.5}, "recovery_max_s"),
    ({"kills": 1}, "kills=1 < 2 planned"),
    ({"delivered": 0}, "nothing delivered"),
], ids=["lost", "stuck", "provider-dup", "object-dup", "webhook-dup", "dead-letter",
        "unplanned-failure", "reread", "reread-beyond-the-parts-in-flight", "recovery",
        "too-few-kills", "nothing-delivered"])
def test_each_broken_counter_or_bound_is_named(changes: dict[str, Any], expected: str) -> None:
    broken = checks(clean(**changes), SCALE)
    assert len(broken) == 1 and expected in broken[0]


@pytest.mark.parametrize("destination, parts", [
    ("file:///tmp/chaos-bucket", 2),  # a folder: two parts written at once
    ("s3://chaos-bucket/exports", 4),  # an object store: four uploads at once
], ids=["folder", "s3"])
def test_the_parts_in_flight_are_the_copys_own_parallelism(destination: str,
                                                           parts: int) -> None:
    # a kill can cost every part the copy has read and not yet stored
    assert parts_in_flight(destination) == parts


def test_reads_cut_off_by_a_kill_count_as_the_part_they_were_reading(tmp_path: Path) -> None:
    # GIVEN a 12-byte file read in parts of 5: the first process read part 1, began part 2
    # and was killed; the next resumed at byte 5 and read to the end
    notes = tmp_path / "reads.log"
    notes.write_text("B f 0 5\nE f 0 5\nB f 5 5\n"
                     "B f 5 5\nE f 5 10\nB f 10 5\nE f 10 12\n")
    # THEN the cut-off read is one whole part: 12 bytes plus 5 read again
    assert bytes_read(notes, {"f": 12}) == {"f": 17}
    assert bytes_read(tmp_path / "absent.log", {}) == {}
