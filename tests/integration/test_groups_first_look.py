"""A submitted export's first look joins its listing group's look already due within a poll
interval (``groups.first_look``): exports of one CLS topic created at different times are
listed together, by one call, and stay together after. Through ``exports.accept`` as the
create function runs it, the real SDK against the sandbox and a real SQLite store."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from shared import exports
from shared.bundle import Bundle
from shared.clock import utcnow
from shared.model import ExportTask, TaskState

INTERVAL_S = 30.0


def create(bundle: Bundle, topic: str, now: datetime) -> ExportTask:
    ms = int(time.time() * 1000)
    body = {"provider": "cls", "params": {"TopicId": topic, "From": ms - 60_000, "To": ms}}
    return exports.accept(bundle.store(), bundle.providers, body, now=now,
                          poll_interval_s=INTERVAL_S).task


def test_exports_created_within_an_interval_share_their_groups_first_look(
        bundle: Bundle, sandbox: Any) -> None:
    t0 = utcnow()
    t0 = t0.replace(microsecond=t0.microsecond // 1000 * 1000)  # the store keeps milliseconds
    # GIVEN a first export of topic-a, first looked at one interval after its create
    first = create(bundle, "topic-a", t0)
    assert first.state is TaskState.SUBMITTED and first.due_at == t0 + timedelta(seconds=30)
    # WHEN more of topic-a are created 10 s and 25 s later, one of topic-b at 10 s, and one
    # of topic-a at 31 s, when the group's look is no longer ahead
    joined = [create(bundle, "topic-a", t0 + timedelta(seconds=s)) for s in (10, 25)]
    other = create(bundle, "topic-b", t0 + timedelta(seconds=10))
    late = create(bundle, "topic-a", t0 + timedelta(seconds=31))
    # THEN the two of topic-a join the first one's look; the other group and the late one
    # keep their own interval
    assert [t.due_at for t in joined] == [first.due_at] * 2
    assert other.due_at == t0 + timedelta(seconds=40)
    assert late.due_at == t0 + timedelta(seconds=61)
    # WHEN the tick at that look runs
    before = sandbox.calls.get(("cls", "DescribeExports"), 0)
    stats = bundle.poller.tick(deadline=time.monotonic() + 20, owner="t",
                               now=t0 + timedelta(seconds=30))
    # THEN the three are claimed and listed by one call, and their next looks stay together
    assert stats.claimed == 3 and stats.polled == 3 and stats.groups == 1
    assert sandbox.calls.get(("cls", "DescribeExports"), 0) - before == 1
    after = [bundle.store().get_task(t.id) for t in [first, *joined]]
    assert all(t.state is TaskState.SUBMITTED for t in after)  # still running at the vendor
    (next_look,) = {t.due_at for t in after}
    assert next_look is not None and next_look > t0 + timedelta(seconds=30)
    assert bundle.store().get_task(late.id).due_at == late.due_at  # not yet due: untouched
