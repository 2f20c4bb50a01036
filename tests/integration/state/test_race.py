"""Race test per backend: 4 processes claim from 1,000 due tasks at once (300 on DynamoDB).
Every task is claimed exactly once per lease — none lost, none twice — and again exactly once
after the leases lapse.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from shared.model import ExportTask
from shared.state import open_store
from tests.integration.state.race import claimer

pytestmark = pytest.mark.integration

TASKS = 1000
# moto serves one request at a time and a DynamoDB claim is a conditional write per task
# (about 40 ms each here, so 1,000 tasks took two minutes): 300 keep the four claimers
# contending over a dozen batches each round, in under a third of the time
DYNAMODB_TASKS = 300
WORKERS = 4
LEASE_S = 600.0
BATCH = 25  # tasks per claim call, as a poller would take them
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def seed(url: str) -> set[str]:
    tasks = [ExportTask(provider="cls", params={"n": i}, created_at=T0, updated_at=T0,
                        due_at=T0 + timedelta(milliseconds=i % 97))
             for i in range(DYNAMODB_TASKS if url.startswith("dynamodb:") else TASKS)]
    st = open_store(url)
    try:
        for t in tasks:
            st.insert_task(t)
    finally:
        st.close()
    return {t.id for t in tasks}


def claim_round(url: str, now: datetime) -> dict[str, list[tuple[str, int]]]:
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=claimer, args=(url, f"w{i}", now.isoformat(), LEASE_S, BATCH,
                                               start, results), daemon=True)
             for i in range(WORKERS)]
    for p in procs:
        p.start()
    start.set()
    out: dict[str, list[tuple[str, int]]] = {}
    try:
        for _ in procs:
            owner, taken, error = results.get(timeout=90)
            assert error is None, f"{owner}: {error}"
            out[owner] = taken
    except queue.Empty:
        pytest.fail("a claimer process did not finish in 90 s")
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    return out


def test_four_processes_claim_each_task_exactly_once_per_lease(store_url: str) -> None:
    ids = seed(store_url)

    first = claim_round(store_url, T0 + timedelta(seconds=10))
    claims = Counter(i for taken in first.values() for i, _ in taken)
    assert set(claims) == ids, f"lost: {len(ids - set(claims))}"
    assert max(claims.values()) == 1, f"claimed twice: {[i for i, n in claims.items() if n > 1]}"

    # while the leases run nobody gets anything; after they lapse, each task exactly once again
    st = open_store(store_url)
    try:
        assert st.claim_due_tasks(limit=50, lease_s=LEASE_S, owner="late",
                                  now=T0 + timedelta(seconds=20)) == []
    finally:
        st.close()
    second = claim_round(store_url, T0 + timedelta(seconds=10 + LEASE_S + 1))
    again = Counter(i for taken in second.values() for i, _ in taken)
    assert set(again) == ids and max(again.values()) == 1
    versions = {i: v for taken in second.values() for i, v in taken}
    assert set(versions.values()) == {2}  # claimed once per lease: one bump each
