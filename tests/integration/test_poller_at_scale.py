"""Polling many exports: one listing per group per tick, partial pages kept, deadlines inside
a group. The provider side is seeded straight into the sandbox (hundreds of finished
exports), the Courier side through the real poller, SDKs and state file."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from shared.bundle import Bundle
from shared.clock import utcnow
from shared.model import ExportTask, TaskState


def seed_cls(sandbox: Any, topic: str, n: int) -> list[str]:
    """``n`` finished exports on ``topic``, oldest first (the listing shows newest first)."""
    from sandbox.cls import Export

    ids = []
    start = sandbox.clock.now() - 3600
    for i in range(n):
        export_id = str(uuid.uuid4())
        sandbox.cls.exports[export_id] = Export(
            export_id=export_id, topic_id=topic, query="*", from_ms=1, to_ms=2, order="desc",
            format="json", count=10, syntax_rule=1, derived_fields=None, created=start + i,
            seq=next(sandbox.cls._seq), size=64, fails=False)
        ids.append(export_id)
    return ids


def submitted(bundle: Bundle, provider: str, params: dict[str, Any],
              remote: dict[str, Any]) -> ExportTask:
    task = ExportTask(provider=provider, params=params, state=TaskState.SUBMITTED,
                      remote=remote, due_at=utcnow())
    return bundle.store().insert_task(task)[0]


def cls_tasks(bundle: Bundle, topic: str, export_ids: list[str]) -> list[ExportTask]:
    return [submitted(bundle, "cls", {"TopicId": topic, "From": 1, "To": 2},
                      {"ExportId": e}) for e in export_ids]


def test_one_listing_per_topic_per_tick_however_many_are_due(bundle: Bundle,
                                                             sandbox: Any) -> None:
    # GIVEN 450 finished exports on one topic, every one of them pending in Courier
    ids = seed_cls(sandbox, "topic-big", 450)
    tasks = cls_tasks(bundle, "topic-big", ids)
    # WHEN one tick runs
    stats = bundle.poller.tick(deadline=time.monotonic() + 120, owner="t",
                               now=utcnow() + timedelta(seconds=1))
    # THEN the topic was listed once, page by page (5 pages of 100), and all are ready
    assert stats.claimed == 450 and stats.ready == 450
    assert sandbox.calls[("cls", "DescribeExports")] == 5
    assert all(bundle.store().get_task(t.id).state is not TaskState.SUBMITTED for t in tasks)


def test_a_throttled_page_keeps_earlier_pages(bundle: Bundle, sandbox: Any) -> None:
    # GIVEN a topic of 250 exports and three pending ones: on the first, second and third page
    ids = seed_cls(sandbox, "topic-paged", 250)
    newest_first = ids[::-1]
    first, second, third = cls_tasks(bundle, "topic-paged",
                                     [newest_first[5], newest_first[150], newest_first[240]])
    # ... and CLS throttles the listing's second page
    provider = bundle.providers.get("cls")
    api_call = provider.api.call  # type: ignore[attr-defined]

    def throttle_after_first_page(action: str, params: dict[str, Any]) -> Any:
        answer = api_call(action, params)
        if action == "DescribeExports" and params["Offset"] == 0:
            sandbox.faults.add(service="cls", action="DescribeExports", kind="error",
                               code="RequestLimitExceeded", times=1)
        return answer

    provider.api.call = throttle_after_first_page  # type: ignore[attr-defined]
    now = utcnow() + timedelta(seconds=1)
    # WHEN one tick runs
    stats = bundle.poller.tick(deadline=time.monotonic() + 60, owner="t", now=now)
    # THEN the first page's export is ready; only the two not yet seen backed off
    assert sandbox.calls[("cls", "DescribeExports")] == 2
    assert stats.ready == 1
    store = bundle.store()
    assert store.get_task(first.id).state is not TaskState.SUBMITTED
    for task in (store.get_task(second.id), store.get_task(third.id)):
        assert task.state is TaskState.SUBMITTED and task.attempts == 1
        assert task.lease_owner is None and task.due_at is not None and task.due_at > now


def test_a_tick_over_one_huge_group_stops_at_its_deadline_and_releases_the_rest(
        bundle: Bundle, sandbox: Any) -> None:
    # GIVEN 600 pending exports on one topic, and a CLS that answers each page slowly
    ids = seed_cls(sandbox, "topic-huge", 600)
    tasks = cls_tasks(bundle, "topic-huge", ids)
    sandbox.faults.add(service="cls", action="DescribeExports", kind="slow", delay=0.4,
                       times=None)
    now = utcnow() + timedelta(seconds=1)
    # WHEN a tick has far less time than the six pages need
    stats = bundle.poller.tick(deadline=time.monotonic() + 1.5, owner="t", now=now)
    # THEN it read only the pages it could finish, and gave back every task it did not reach
    # as it was: not backed off, no lease, due at once for the next tick
    pages = sandbox.calls.get(("cls", "DescribeExports"), 0)
    assert stats.stopped_early and pages < 6
    store = bundle.store()
    after = [store.get_task(t.id) for t in tasks]
    untouched = [t for t in after if t.state is TaskState.SUBMITTED]
    assert len(untouched) >= 600 - 100 * pages
    assert stats.ready == 600 - len(untouched)
    assert all(t.lease_owner is None and t.attempts == 0 and t.due_at is not None
               and t.due_at <= now for t in untouched)
    assert stats.released == len(untouched)


def test_mongodb_paging_stops_once_all_are_found(bundle: Bundle, sandbox: Any) -> None:
    from sandbox.jobs import Job, parse_time

    # GIVEN an instance with 400 finished log tasks of one log window, two of them pending
    # in Courier and both on the listing's first page (newest first)
    instance = "cmgo-paging1"
    start = sandbox.clock.now() - 600
    params = {"InstanceId": instance, "StartTime": "2026-11-21 00:00:00",
              "EndTime": "2026-11-21 06:00:00"}
    window = (parse_time("StartTime", params["StartTime"]),
              parse_time("EndTime", params["EndTime"]))
    job_ids = []
    for i in range(400):
        job_id = uuid.uuid4().hex
        sandbox.mongodb.tasks[job_id] = Job(job_id=job_id, owner=instance, created=start + i,
                                            size=64, fails=False, file_name=f"{job_id}.log",
                                            window=window)  # type: ignore[arg-type]
        job_ids.append(job_id)
    wanted = [submitted(bundle, "mongodb", params, {"TaskId": job_ids[-3]}),
              submitted(bundle, "mongodb", params, {"TaskId": job_ids[-60]})]
    provider = bundle.providers.get("mongodb")
    sent: list[dict[str, Any]] = []
    api_call = provider.api.call  # type: ignore[attr-defined]

    def recording(action: str, request: dict[str, Any]) -> Any:
        sent.append(dict(request, Action=action))
        return api_call(action, request)

    provider.api.call = recording  # type: ignore[attr-defined]
    # WHEN one tick runs
    stats = bundle.poller.tick(deadline=time.monotonic() + 60, owner="t",
                               now=utcnow() + timedelta(seconds=1))
    # THEN one page was read (not four), bounded by the vendor's time filters, and both are
    # ready
    assert [r["Action"] for r in sent] == ["DescribeLogDownloadTasks"]
    assert sent[0]["StartTime"] < sent[0]["EndTime"]
    assert stats.ready == 2
    assert all(bundle.store().get_task(t.id).state is not TaskState.SUBMITTED for t in wanted)


def test_tcss_jobs_are_settled_from_the_job_list(bundle: Bundle, sandbox: Any) -> None:
    from sandbox.jobs import Job

    # GIVEN three finished TCSS export jobs pending in Courier
    created = sandbox.clock.now() - 600
    tasks = []
    for _ in range(3):
        job_id = "export-" + uuid.uuid4().hex
        sandbox.tcss.jobs[job_id] = Job(job_id=job_id, owner="CreateHostExportJob",
                                        created=created, size=64, fails=False,
                                        file_name=f"{job_id}.jsonl")
        tasks.append(submitted(bundle, "tcss", {"Action": "CreateHostExportJob",
                                                "Params": {}}, {"JobId": job_id}))
    # WHEN one tick runs
    stats = bundle.poller.tick(deadline=time.monotonic() + 60, owner="t",
                               now=utcnow() + timedelta(seconds=1))
    # THEN one page of the job list settled all three, and none was asked for one by one
    assert stats.ready == 3
    assert sandbox.calls[("tcss", "DescribeExportJobManageList")] == 1
    assert ("tcss", "DescribeExportJobResult") not in sandbox.calls
    # ... and the file's URL is read when it is fetched
    task = bundle.store().get_task(tasks[0].id)
    source = bundle.providers.get("tcss").result(task)
    assert source.url.startswith(sandbox.url)  # type: ignore[attr-defined]
