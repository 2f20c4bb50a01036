"""A slow CloudWatch Logs answer does not run a poll tick past its deadline: the boto3 read
timeout of each call is capped by the time the tick has left (as the Tencent clients cap
theirs), and the export is looked at again by the next tick, not failed."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from sandbox.aws_gateway import AwsGateway
from shared.clock import utcnow
from shared.model import TaskState
from tests.e2e.helpers import post
from tests.integration.providers.cloudwatch.conftest import add_logs
from tests.integration.providers.cloudwatch.test_cloudwatch_round_trip import cw_env  # noqa: F401

SLOW_S = 8.0  # how long the gateway sits on each answer
TICK_S = 2.5  # the tick's whole budget


def test_a_slow_answer_ends_with_the_ticks_deadline(cw_env: AwsGateway,  # noqa: F811
                                                    moto: Any, api_key: str) -> None:
    from functions import common

    start, end = add_logs(moto.url, "app", {"web-1": ["a"]})
    status, export = post(api_key, {"provider": "cloudwatch", "params": {
        "logGroupName": "app", "from": start, "to": end}}, event="aws_http_api_post_exports")
    assert status == 202 and export["state"] == "submitted", export
    cw_env.faults.add("logs", "DescribeExportTasks", "slow", delay=SLOW_S, times=None)

    # WHEN a tick with TICK_S seconds polls it and every answer is SLOW_S late
    later = utcnow() + timedelta(minutes=5)
    deadline = time.monotonic() + TICK_S
    common.bundle().poller.tick(deadline=deadline, owner="t", now=later)
    overrun = time.monotonic() - deadline

    # THEN the tick ended by its deadline (give or take the scheduling of a busy machine),
    # long before the answer came; the export waits for the next tick, unharmed
    assert cw_env.calls["DescribeExportTasks"] >= 1
    assert overrun < 1.0, f"the tick ran {overrun:.1f}s past its deadline"
    task = common.bundle().store().get_task(export["id"])
    assert task.state is TaskState.SUBMITTED and task.lease_owner is None, task.error

    cw_env.faults.clear()
    common.bundle().poller.tick(deadline=time.monotonic() + 20, owner="t",
                                now=later + timedelta(minutes=5))
    assert common.bundle().store().get_task(export["id"]).state is not TaskState.FAILED
