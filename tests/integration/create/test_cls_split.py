"""A CLS window holding more logs than one export carries is split into parts under one
Courier export: each part one CLS export within the cap, created one step at a time (each
with the in-doubt look and the ownership claim), delivered together with one manifest and
one ``export.delivered``. Through the real SDK against the sandbox's CLS, SQLite state, a
local bucket and a real webhook receiver."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared import exports, owners
from shared.clock import utcnow
from shared.model import TaskState
from shared.providers.cls import MAX_COUNT
from tests import servers

HOUR_MS = 3600 * 1000


class Killed(BaseException):
    """The process dies: nothing after this point runs."""


def accept(bundle: Any, topic: str, **params: Any) -> Any:
    now = int(time.time() * 1000)
    body = {"provider": "cls", "params": {"TopicId": topic, "From": now - HOUR_MS, "To": now,
                                          **params}}
    return exports.accept(bundle.store(), bundle.providers, body).task


def run(bundle: Any, sandbox: Any, export_id: str, rounds: int = 8) -> Any:
    """Timer ticks (and the copy of what is ready) until the export ends."""
    for i in range(1, rounds + 1):
        sandbox.clock.advance(10)
        bundle.poller.tick(deadline=time.monotonic() + 20, owner=f"t{i}",
                           now=utcnow() + timedelta(seconds=30 * i))
        task = bundle.store().get_task(export_id)
        if task.state is TaskState.READY:
            bundle.completer.complete(export_id, owner="test")
            task = bundle.store().get_task(export_id)
        if task.state.terminal:
            return task
    return bundle.store().get_task(export_id)


def on_every_create(bundle: Any, hook: Any) -> None:
    """Call ``hook(n, call)`` around the n-th CreateExport (``call()`` makes it)."""
    api = bundle.providers.get("cls").api
    original = api.call
    seen = {"n": 0}

    def wrapped(action: str, params: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        if action != "CreateExport":
            return original(action, params, *args, **kwargs)
        seen["n"] += 1
        return hook(seen["n"], lambda: original(action, params, *args, **kwargs))

    api.call = wrapped


@pytest.fixture(params=["sqlite", "postgresql"])
def any_bundle(request: pytest.FixtureRequest, courier_env: dict[str, str]) -> Iterator[Any]:
    """A bundle on SQLite, or on the PostgreSQL server at 127.0.0.1 (a table of its own)."""
    from shared.bundle import Bundle
    from shared.config import Settings

    env = dict(courier_env)
    if request.param == "postgresql":
        env["COURIER_STATE_URL"] = (f"{servers.require(servers.postgres_url)}"
                                    f"?table={servers.unique_name('split')}")
    b = Bundle(Settings.from_env(env))
    yield b
    b.store().close()


def assert_parts_cover(task: Any) -> None:
    parts = task.remote["parts"]
    assert parts[0]["From"] == task.params["From"] and parts[-1]["To"] == task.params["To"]
    assert all(a["To"] == b["From"] for a, b in zip(parts, parts[1:]))
    assert all(0 < p["log_count"] <= MAX_COUNT for p in parts)
    assert sum(p["log_count"] for p in parts) == task.remote["log_count"]


def test_a_window_over_the_cap_is_split_and_delivered_together(
        bundle: Any, sandbox: Any, receiver: Any, courier_env: dict[str, str]) -> None:
    # GIVEN an hour holding 72,000,000 logs plus a burst of 30,000,000 in its first minutes
    sandbox.cls.log_rates["topic-busy"] = 20_000.0
    now = int(time.time() * 1000)
    sandbox.cls.log_spikes["topic-busy"] = [(now - HOUR_MS + 120_000, 30_000_000)]
    # WHEN it is exported
    task = accept(bundle, "topic-busy")
    # THEN it is split into parts, each one CLS export within the cap, all made at once
    assert task.state is TaskState.SUBMITTED, task.error
    assert task.remote["log_count"] == 102_000_000
    assert_parts_cover(task)
    parts = task.remote["parts"]
    assert len(parts) >= 3 and sandbox.calls[("cls", "CreateExport")] == len(parts)
    made = {e.export_id: e for e in sandbox.cls.exports.values()}
    for part in parts:
        export = made[part["ExportId"]]
        assert (export.from_ms, export.to_ms) == (part["From"], part["To"])
        assert owners.owner_of(bundle.store(), "cls", part["ExportId"]) == task.id
    # AND the GET view shows the parts and their states
    view = exports.public_view(task)
    assert [p["status"] for p in view["remote"]["parts"]] == ["Queuing"] * len(parts)
    assert view["stage"] == f"{len(parts)} parts"
    # WHEN the timer runs, THEN one delivery holds every part's file and a manifest
    done = run(bundle, sandbox, task.id)
    assert done.state is TaskState.DELIVERED, done.error
    assert {p["status"] for p in exports.public_view(done)["remote"]["parts"]} == {"Completed"}
    bucket = Path(courier_env["COURIER_DESTINATION"].removeprefix("file://"))
    manifest = json.loads((bucket / done.destination["key"]).read_text())
    keys = [o["key"] for o in manifest["objects"]]
    assert len(keys) == len(parts) and all((bucket / k).is_file() for k in keys)
    assert [k.rsplit("/", 1)[-1][:9] for k in keys] == [
        f"part-{i:03d}-" for i in range(1, len(parts) + 1)]
    assert {k.rsplit("/", 1)[0] for k in keys} == {done.destination["key"].rsplit("/", 1)[0]}
    # AND one export.delivered lists all of them
    run(bundle, sandbox, task.id, rounds=1)
    got = [r.payload for r in receiver.delivered() if r.payload["data"]["export_id"] == task.id]
    assert [p["type"] for p in got] == ["export.delivered"]
    assert got[0]["data"]["objects"] == len(parts)
    assert got[0]["data"]["manifest"]["key"] == done.destination["key"]


@pytest.mark.parametrize("fault", ["lost_answer", "kill"])
def test_a_create_in_doubt_between_parts_makes_no_part_twice(any_bundle: Any, sandbox: Any,
                                                              fault: str) -> None:
    bundle = any_bundle
    # GIVEN a window of 3 parts whose second CreateExport goes through at CLS but its answer
    # is lost (or the process dies before it writes the answer down)
    sandbox.cls.log_rates["topic-doubt"] = 40_000.0  # 144,000,000 logs in the hour

    def second_in_doubt(n: int, call: Any) -> Any:
        if n != 2:
            return call()
        if fault == "kill":
            call()
            raise Killed("after the second CreateExport")
        sandbox.faults.add(service="cls", action="CreateExport", kind="lost_answer")
        return call()

    on_every_create(bundle, second_in_doubt)
    store = bundle.store()
    if fault == "kill":
        with pytest.raises(Killed):
            accept(bundle, "topic-doubt")
        (task,) = store.list_tasks(limit=5).items
        assert task.state is TaskState.ACCEPTED and task.remote["create_open_since"]
        task = exports.submit(store, bundle.providers, task)  # the timer, after the lease
    else:
        task = accept(bundle, "topic-doubt")
        if task.state is TaskState.ACCEPTED:  # the look right after found nothing yet
            task = exports.submit(store, bundle.providers, store.get_task(task.id))
    # THEN every part exists once at CLS, the one in doubt adopted, none made twice
    assert task.state is TaskState.SUBMITTED, task.error
    parts = task.remote["parts"]
    assert len(parts) == 3
    assert len(sandbox.cls.exports) == 3 == sandbox.calls[("cls", "CreateExport")]
    assert parts[1].get("adopted") and len({p["ExportId"] for p in parts}) == 3
    assert_parts_cover(task)


def test_a_failed_part_fails_the_export_naming_it(bundle: Any, sandbox: Any,
                                                  receiver: Any) -> None:
    sandbox.cls.log_rates["topic-part-fails"] = 20_000.0

    def fail_the_second(n: int, call: Any) -> Any:
        if n == 2:
            sandbox.cls.fail_next_export()
        return call()

    on_every_create(bundle, fail_the_second)
    task = accept(bundle, "topic-part-fails")
    assert task.state is TaskState.SUBMITTED and len(task.remote["parts"]) == 2
    done = run(bundle, sandbox, task.id)
    assert done.state is TaskState.FAILED
    assert done.error["reason"].startswith("part 2 of 2 (")
    assert "CLS reported the export as Failed" in done.error["reason"]
    run(bundle, sandbox, task.id, rounds=1)
    got = [r.payload for r in receiver.delivered() if r.payload["data"]["export_id"] == task.id]
    assert [p["type"] for p in got] == ["export.failed"]


def test_cancelling_the_export_deletes_every_part(bundle: Any, sandbox: Any) -> None:
    sandbox.cls.log_rates["topic-cancel-parts"] = 20_000.0
    task = accept(bundle, "topic-cancel-parts")
    assert len(sandbox.cls.exports) == len(task.remote["parts"]) == 2
    cancelled = exports.cancel(bundle.store(), bundle.providers, task.id)
    assert cancelled.state is TaskState.CANCELLED
    assert sandbox.cls.exports == {}


def test_an_export_cut_off_at_the_cap_after_it_finished_is_split_again(
        bundle: Any, sandbox: Any, receiver: Any) -> None:
    # GIVEN a window that held 36,000,000 logs when it was counted and created ...
    sandbox.cls.log_rates["topic-late"] = 10_000.0
    task = accept(bundle, "topic-late")
    assert task.state is TaskState.SUBMITTED and "parts" not in task.remote
    first = task.remote["ExportId"]
    # ... and 72,000,000 by the time CLS ran it (logs that arrived late): it stops at the cap
    sandbox.cls.log_rates["topic-late"] = 20_000.0
    done = run(bundle, sandbox, task.id)
    # THEN it is not delivered as complete: the window is split and made again
    assert done.state is TaskState.DELIVERED, done.error
    assert done.remote["cut_off"] == [first]
    parts = done.remote["parts"]
    assert len(parts) == 2 and first not in {p["ExportId"] for p in parts}
    assert_parts_cover(done)
    run(bundle, sandbox, task.id, rounds=1)
    got = [r.payload for r in receiver.delivered() if r.payload["data"]["export_id"] == task.id]
    assert [p["type"] for p in got] == ["export.delivered"] and got[0]["data"]["objects"] == 2


def test_a_finished_export_at_the_cap_that_cannot_be_counted_fails_clearly(
        bundle: Any, sandbox: Any) -> None:
    sandbox.cls.log_rates["topic-late"] = 10_000.0
    task = accept(bundle, "topic-late")
    sandbox.cls.log_rates["topic-late"] = 20_000.0
    sandbox.faults.add(service="cls", action="SearchLog", kind="error",
                       code="UnauthorizedOperation", times=None)
    done = run(bundle, sandbox, task.id)
    assert done.state is TaskState.FAILED and done.error["code"] == "ExportReachedCap"
    assert task.remote["ExportId"] in done.error["reason"]
    assert "could not be counted (UnauthorizedOperation)" in done.error["reason"]


def test_parts_beyond_one_invocation_are_made_by_the_timer(bundle: Any, sandbox: Any,
                                                           monkeypatch: Any) -> None:
    # GIVEN an invocation that makes at most two create steps (the plan, then one part)
    monkeypatch.setattr(exports, "MAX_STEPS", 2)
    sandbox.cls.log_rates["topic-many"] = 40_000.0  # 3 parts
    task = accept(bundle, "topic-many")
    # THEN the create answers with the export still accepted, one part made, due at once
    assert task.state is TaskState.ACCEPTED and task.error is None
    assert task.stage == "creating parts: 1 of 3"
    assert [bool(p["ExportId"]) for p in task.remote["parts"]] == [True, False, False]
    assert exports.public_view(task)["parts"][0]["status"] == "Queuing"
    # AND the timer makes the rest (two steps), each once
    task = exports.submit(bundle.store(), bundle.providers, bundle.store().get_task(task.id))
    assert task.state is TaskState.SUBMITTED and task.stage == "3 parts"
    assert len(sandbox.cls.exports) == 3 == sandbox.calls[("cls", "CreateExport")]
    assert sandbox.calls[("cls", "SearchLog")] == 4  # the window, then each part's count
    assert_parts_cover(task)


def test_parts_cut_off_at_the_cap_after_they_finished_are_split_again(
        bundle: Any, sandbox: Any, receiver: Any) -> None:
    # GIVEN a window split in two (54,000,000 logs when counted) that held twice as many by
    # the time CLS ran its parts: each part stops at the cap
    sandbox.cls.log_rates["topic-late-parts"] = 15_000.0
    task = accept(bundle, "topic-late-parts")
    first = [p["ExportId"] for p in task.remote["parts"]]
    assert len(first) == 2
    sandbox.cls.log_rates["topic-late-parts"] = 30_000.0
    done = run(bundle, sandbox, task.id, rounds=12)
    # THEN each part cut off is replaced by its own parts, and the whole is delivered once
    assert done.state is TaskState.DELIVERED, done.error
    assert sorted(done.remote["cut_off"]) == sorted(first)
    parts = done.remote["parts"]
    assert len(parts) == 4 and not set(first) & {p["ExportId"] for p in parts}
    assert_parts_cover(done)
    assert done.remote["log_count"] == 108_000_000
    assert all(p["count"] <= MAX_COUNT for p in parts)
    run(bundle, sandbox, task.id, rounds=1)
    got = [r.payload for r in receiver.delivered() if r.payload["data"]["export_id"] == task.id]
    assert [p["type"] for p in got] == ["export.delivered"] and got[0]["data"]["objects"] == 4


def test_a_part_refused_for_good_fails_the_export_and_stops_the_parts_made(
        bundle: Any, sandbox: Any, receiver: Any) -> None:
    # GIVEN a window of two parts whose topic is deleted after the first part was made
    sandbox.cls.log_rates["topic-goes"] = 20_000.0

    def topic_gone(n: int, call: Any) -> Any:
        if n == 2:
            sandbox.missing_topics.add("topic-goes")
        return call()

    on_every_create(bundle, topic_gone)
    task = accept(bundle, "topic-goes")
    # THEN the export fails naming the refusal, and its first part no longer runs at CLS
    assert task.state is TaskState.FAILED
    assert task.error["code"] == "ResourceNotFound.TopicNotExist"
    assert task.remote["parts"][0]["ExportId"] and not task.remote["parts"][1]["ExportId"]
    assert sandbox.cls.exports == {}
    run(bundle, sandbox, task.id, rounds=1)
    got = [r.payload for r in receiver.delivered() if r.payload["data"]["export_id"] == task.id]
    assert [p["type"] for p in got] == ["export.failed"]
