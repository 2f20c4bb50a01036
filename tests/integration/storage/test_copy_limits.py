"""A copy keeps to its limits against real, misbehaving sources on loopback: a source that
sends more than announced is cut off at the announced size; one that trickles is cut off at
the copy's deadline; a file too large for 10,000 parts of the configured size gets larger
parts."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from shared.bundle import Bundle
from shared.errors import StorageError
from shared.model import TaskState, UrlSource
from shared.pacing import call_deadline
from shared.storage.copy import copy_source
from shared.storage.local import LocalObjectStore
from shared.storage.pipeline import CopyDeadlineError, SourceTooLargeError
from tests.integration.storage.copy_support import PART, md5
from tests.integration.storage.source_server import SourceServer
from tests.integration.test_completion_lease import ready_export

MiB = 1024 * 1024
ANNOUNCED = 342


@pytest.fixture
def flood() -> Iterator[SourceServer]:
    """32 MiB behind a link the provider says holds 342 bytes."""
    srv = SourceServer(os.urandom(32 * MiB)).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def trickle() -> Iterator[SourceServer]:
    """40 bytes sent one every 0.25 s: each read is quick, the whole takes 10 s."""
    srv = SourceServer(b"x" * 40, chunk=1).start()
    srv.drip_s = 0.25
    srv.content_md5 = False
    try:
        yield srv
    finally:
        srv.stop()


@pytest.mark.parametrize("length", [True, False], ids=["content-length", "until-close"])
def test_a_source_sending_more_than_announced_is_cut_off(
        flood: SourceServer, store: LocalObjectStore, length: bool) -> None:
    # GIVEN a source that sends 32 MiB (with or without saying so) for a file of 342 bytes
    flood.no_length = not length
    # WHEN it is copied
    with pytest.raises(SourceTooLargeError) as err:
        copy_source(UrlSource(flood.url(), size=ANNOUNCED), store, "f.csv", part_size=PART)
    # THEN the copy stopped near the announced size, is not retried and names the sizes;
    # nothing was stored
    assert not err.value.retryable and str(ANNOUNCED) in err.value.message
    assert flood.served < 16 * MiB
    assert store.head("f.csv") is None


def test_an_export_whose_source_sends_too_much_fails_once(
        bundle: Bundle, sandbox: Any, flood: SourceServer) -> None:
    # GIVEN a ready export of 342 bytes whose link streams 32 MiB without a length
    flood.no_length = True
    export_id = ready_export(bundle, sandbox)
    store = bundle.store()
    task = store.get_task(export_id)
    task.result.update(url=flood.url(), size=ANNOUNCED)
    store.update_task(task)
    # WHEN it is completed
    task = bundle.completer.complete(export_id, owner="complete:test")
    # THEN it failed for good, saying why, announced, without reading the flood
    assert task.state is TaskState.FAILED and task.error is not None
    assert not task.error["retryable"] and f"{ANNOUNCED} bytes" in task.error["reason"]
    assert flood.served < 16 * MiB
    events = [d.event_type for d in store.list_deliveries(task_id=export_id, limit=20).items]
    assert events == ["export.failed"]


def test_a_trickling_source_is_cut_off_at_the_deadline(
        trickle: SourceServer, store: LocalObjectStore) -> None:
    # GIVEN a copy with one second left
    started = time.monotonic()
    # WHEN the source sends a byte every 0.25 s
    with pytest.raises(CopyDeadlineError) as err:
        copy_source(UrlSource(trickle.url()), store, "slow.bin", part_size=PART,
                    deadline=started + 1.0)
    # THEN the copy ended at its deadline (not after the 10 s the source takes), retryable
    assert time.monotonic() - started < 2.5
    assert err.value.retryable and "time limit" in err.value.message


@pytest.mark.parametrize("how", ["budget", "tick"])
def test_a_copy_cut_off_by_its_deadline_is_recorded_and_retried(
        bundle: Bundle, sandbox: Any, trickle: SourceServer, how: str) -> None:
    # GIVEN a ready export whose link trickles
    export_id = ready_export(bundle, sandbox)
    store = bundle.store()
    task = store.get_task(export_id)
    task.result.update(url=trickle.url(), size=40)
    store.update_task(task)
    # WHEN it is completed with 1.5 s left: its own budget, or a tick's deadline (inline)
    started = time.monotonic()
    if how == "budget":
        task = bundle.completer.complete(export_id, owner="complete:test", budget_s=1.5)
    else:
        with call_deadline(started + 1.5):
            task = bundle.completer.complete(export_id, owner="complete:test")
    # THEN it stopped in time, is ready again with a retry due, and says it was cut off
    assert time.monotonic() - started < 3.5
    assert task.state is TaskState.READY and task.due_at is not None
    assert task.error is not None and task.error["retryable"]
    assert "time limit" in task.error["reason"] and task.lease_owner is None


def test_a_file_too_large_for_the_part_count_gets_larger_parts(
        server: SourceServer, store: LocalObjectStore, data: bytes) -> None:
    # GIVEN a file of 10 parts and a bit, and uploads limited to 4 parts
    # WHEN it is copied with its size announced
    result = copy_source(UrlSource(server.url(), size=len(data)), store, "big.bin",
                         part_size=PART, max_parts=4)
    # THEN the part grew to three times the configured one: four parts, bytes intact
    assert result.parts == 4 and result.md5 == md5(data)
    assert store.read("big.bin") == data


def test_a_file_of_unknown_size_past_the_part_count_fails_clearly(
        server: SourceServer, store: LocalObjectStore) -> None:
    # GIVEN uploads limited to 4 parts and a file whose size nobody announced up front
    # WHEN it is copied
    with pytest.raises(StorageError) as err:
        copy_source(UrlSource(server.url()), store, "big.bin", part_size=PART, max_parts=4)
    # THEN the copy says why, and is not retried
    assert isinstance(err.value, StorageError) and not err.value.retryable
    assert "more than 4 parts" in err.value.message


def test_a_tick_that_completes_inline_ends_by_its_deadline(bundle: Bundle,
                                                           sandbox: Any) -> None:
    from datetime import timedelta

    from shared.clock import utcnow
    from tests.integration.test_poller import create_many

    # GIVEN a finished CLS export whose download answers only after 5 s
    [export_id] = create_many(bundle, 1)
    sandbox.clock.advance(60)
    sandbox.faults.add(service="files", action="Download", kind="slow", delay=5, times=None)
    # WHEN a tick with 2 s left polls it and completes it inline
    started = time.monotonic()
    bundle.poller.tick(deadline=started + 2.0, owner="tick",
                       now=utcnow() + timedelta(seconds=30))
    # THEN the tick kept to its deadline, and the copy is recorded as cut off, to retry
    assert time.monotonic() - started < 4.5
    task = bundle.store().get_task(export_id)
    assert task.state is TaskState.READY and task.error is not None
    assert task.error["retryable"] and "time limit" in task.error["reason"]
