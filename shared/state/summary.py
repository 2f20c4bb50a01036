"""What the status page's summary reads from the store in one call per backend.

A backend answers :class:`SummaryRows` for the export tasks: how many there are per state and
provider, the oldest one still waiting (not finished), and the exports that finished (delivered
or failed) since a time, per hour — for delivered ones with the sum and maximum of their
accept-to-delivered time. SQL backends aggregate in the database; DynamoDB reads a projection
of the listing index (a few attributes per export; finished exports expire by TTL).

The finish time of an export is its last update (``updated_at``); a delivered export is not
changed after delivery, so that is when it was delivered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.model import ExportTask

HOUR_MS = 3_600_000
HOURS = 24
WAITING = ("accepted", "submitted", "ready", "copying")
FINISHED = ("delivered", "failed")


@dataclass
class Hour:
    """One hour of the last 24: exports finished in it, and their accept-to-delivered time."""

    start: datetime
    delivered: int = 0
    failed: int = 0
    delivered_ms_total: int = 0
    delivered_ms_max: int = 0

    @property
    def mean_delivered_s(self) -> float | None:
        if not self.delivered:
            return None
        return round(self.delivered_ms_total / self.delivered / 1000, 3)


@dataclass
class SummaryRows:
    """A backend's raw answer: ``counts`` (state, provider, n); ``oldest_waiting`` the id of
    the oldest unfinished export or None; ``finished`` (state, hour index from ``since``,
    n, sum of accept-to-finish ms, max of it)."""

    counts: list[tuple[str, str, int]] = field(default_factory=list)
    oldest_waiting: str | None = None
    finished: list[tuple[str, int, int, int, int]] = field(default_factory=list)


@dataclass
class TaskSummary:
    by_state: dict[str, int]
    by_provider: dict[str, dict[str, int]]  # provider -> state -> n
    oldest_waiting: ExportTask | None
    hours: list[Hour]
    since: datetime

    @property
    def total(self) -> int:
        return sum(self.by_state.values())


def hours_since(since: datetime) -> list[Hour]:
    return [Hour(start=since + timedelta(hours=i)) for i in range(HOURS)]


def build(rows: SummaryRows, since: datetime, oldest: ExportTask | None) -> TaskSummary:
    by_state: dict[str, int] = {}
    by_provider: dict[str, dict[str, int]] = {}
    for state, provider, n in rows.counts:
        by_state[state] = by_state.get(state, 0) + int(n)
        per = by_provider.setdefault(provider, {})
        per[state] = per.get(state, 0) + int(n)
    hours = hours_since(since)
    for state, index, n, total_ms, max_ms in rows.finished:
        if not 0 <= int(index) < HOURS:
            continue  # finished "after now" (a clock ahead): not in the window
        hour = hours[int(index)]
        if state == "delivered":
            hour.delivered += int(n)
            hour.delivered_ms_total += int(total_ms)
            hour.delivered_ms_max = max(hour.delivered_ms_max, int(max_ms))
        else:
            hour.failed += int(n)
    return TaskSummary(by_state=by_state, by_provider=by_provider, oldest_waiting=oldest,
                       hours=hours, since=since)


def fold(items: Iterable[tuple[str, str, str, int, int]], since_ms: int) -> SummaryRows:
    """:class:`SummaryRows` from (id, state, provider, created ms, updated ms) per export, for
    a backend that cannot aggregate itself."""
    counts: dict[tuple[str, str], int] = {}
    finished: dict[tuple[str, int], list[int]] = {}
    oldest: tuple[int, str] | None = None
    for rid, state, provider, created, updated in items:
        counts[(state, provider)] = counts.get((state, provider), 0) + 1
        if state in WAITING and (oldest is None or (created, rid) < oldest):
            oldest = (created, rid)
        if state in FINISHED and updated >= since_ms:
            slot = finished.setdefault((state, (updated - since_ms) // HOUR_MS), [0, 0, 0])
            took = max(0, updated - created)
            slot[0] += 1
            slot[1] += took
            slot[2] = max(slot[2], took)
    return SummaryRows(
        counts=[(s, p, n) for (s, p), n in counts.items()],
        oldest_waiting=oldest[1] if oldest else None,
        finished=[(s, h, v[0], v[1], v[2]) for (s, h), v in finished.items()])
