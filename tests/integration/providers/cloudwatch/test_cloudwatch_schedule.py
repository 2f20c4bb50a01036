"""From a schedule to the webhook, for cloudwatch: a COURIER_SCHEDULES entry fires through
the cron handler, its windows become exports whose creates queue (one export task per
account at a time, oldest first), the timer polls them, copies each task's objects, writes
each manifest and announces each delivery."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest

from courier.local import LocalContext
from sandbox.aws_gateway import AwsGateway
from shared.clock import utcnow
from tests.e2e.helpers import tick
from tests.events import load_event
from tests.integration.providers.cloudwatch.test_cloudwatch_round_trip import RUN_S, cw_env, get  # noqa: F401

EVERY_S = 300
STREAMS = ("web-1", "web-2")


def logs_in_windows(url: str, group: str, ends: list[int]) -> None:
    """Two streams with one event in the middle of each window (ends in ms)."""
    logs = boto3.client("logs", endpoint_url=url, region_name="us-east-1")
    logs.create_log_group(logGroupName=group)
    for stream in STREAMS:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": end - EVERY_S * 500, "message": f"{stream} before {end}"}
            for end in ends])


def fire(at: datetime) -> list[dict[str, Any]]:
    from functions import create_export

    event = load_event("scf_timer", Message="cw-5min", Time=at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    answer = create_export.handler(event, LocalContext())
    assert "created" in answer, answer
    return list(answer["created"])


def test_a_schedule_fires_queued_cloudwatch_exports_through_to_the_webhooks(
        cw_env: AwsGateway, moto: Any, api_key: str, receiver: Any, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import common

    # GIVEN a five-minute schedule over a log group with events in its last three windows
    # (one whole window back, so that every firing below lies in the past however close
    # the run is to a window boundary)
    now = int(time.time())
    base = now - now % EVERY_S - EVERY_S
    ends = [(base - 2 * EVERY_S) * 1000, (base - EVERY_S) * 1000, base * 1000]
    logs_in_windows(moto.url, "sched-app", ends)
    monkeypatch.setenv("COURIER_SCHEDULES", json.dumps([{
        "name": "cw-5min", "provider": "cloudwatch", "every_s": EVERY_S,
        "params": {"logGroupName": "sched-app", "from": "${window_start_ms}",
                   "to": "${window_end_ms}"}}]))
    common.reset()

    # WHEN the timer fires at the end of the first window, then after two more have ended
    first = fire(datetime.fromtimestamp(ends[0] / 1000 + 17, tz=timezone.utc))
    later = fire(datetime.fromtimestamp(ends[2] / 1000 + 17, tz=timezone.utc))
    made = first + later
    assert [m["created"] for m in made] == [True, True, True]
    ids = [m["export_id"] for m in made]
    views = [get(api_key, i) for i in ids]
    assert [v["params"]["to"] for v in views] == ends
    # the first runs at CloudWatch, the two others wait their turn in order
    assert views[0]["state"] == "submitted"
    assert [(v["state"], v["queue_position"]) for v in views[1:]] == [("accepted", 1),
                                                                      ("accepted", 2)]

    # THEN the timer's ticks create them one at a time and deliver each with its manifest
    start = utcnow()
    tasks: list[dict[str, Any]] = []
    for step in range(60):
        time.sleep(0.3)
        assert len(cw_env.active()) <= 1  # never two running in the account
        tick(start + timedelta(seconds=60 * (step + 1)))
        tasks = [get(api_key, i) for i in ids]
        if all(t["state"] == "delivered" for t in tasks):
            break
    assert [t["state"] for t in tasks] == ["delivered"] * 3, tasks
    assert [t for t, _ in cw_env.started] == [t["remote"]["taskIds"][0] for t in tasks]

    for task in tasks:
        dest = task["destination"]
        assert dest["objects"] == len(STREAMS) and dest["manifest"]["key"].endswith(
            "manifest.json")
        manifest = json.loads((tmp_path / "bucket" / dest["manifest"]["key"]).read_text())
        assert manifest["totals"] == {"objects": len(STREAMS), "bytes": dest["size"]}
        for obj in manifest["objects"]:
            data = (tmp_path / "bucket" / obj["key"]).read_bytes()
            assert data[:2] == b"\x1f\x8b" and hashlib.md5(data).hexdigest() == obj["md5"]
    hooks = {r.payload["data"]["export_id"]: r.payload["data"] for r in receiver.delivered()
             if r.event_type == "export.delivered"}
    assert sorted(hooks) == sorted(ids)
    assert all(hooks[i]["objects"] == len(STREAMS) and hooks[i]["manifest"]["key"]
               == t["destination"]["manifest"]["key"] for i, t in zip(ids, tasks))
