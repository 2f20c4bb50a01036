"""A later group's export task is made once, like the first: the create poll hands on goes
through ``exports.submit`` (its create-open marker stored before the call), and a lost
answer or a kill between the call and the state write is followed by a search for the task
by its name before it is made again. Counted at moto, through its own DescribeExportTasks."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient

from sandbox.aws_gateway import AwsGateway
from shared.clock import utcnow
from shared.model import TaskState
from tests.e2e.helpers import post, tick
from tests.integration.providers.cloudwatch.conftest import add_logs
from tests.integration.providers.cloudwatch.test_cloudwatch_round_trip import cw_env, get  # noqa: F401


class Killed(BaseException):
    """The process dies: nothing after this point runs (not an error anybody catches)."""


def tasks_at_moto(url: str) -> Counter[str]:
    """How many export tasks moto holds under each task name."""
    logs = boto3.client("logs", endpoint_url=url, region_name="us-east-1")
    return Counter(t["taskName"] for t in logs.describe_export_tasks()["exportTasks"])


def two_groups(moto: Any, api_key: str) -> dict[str, Any]:
    start, end = add_logs(moto.url, "svc/a", {"web-1": ["a"]})
    add_logs(moto.url, "svc/b", {"web-1": ["b"], "web-2": ["c"]})
    status, export = post(api_key, {"provider": "cloudwatch", "params": {
        "logGroupNames": ["svc/a", "svc/b"], "from": start, "to": end}},
        event="aws_http_api_post_exports")
    assert status == 202 and export["state"] == "submitted", export
    return export


def until_delivered(api_key: str, export_id: str, start: Any, steps: int = 30) -> Any:
    for step in range(steps):
        time.sleep(0.3)  # the gateway's task runs RUN_S
        tick(start + timedelta(minutes=5 * (step + 1)))  # every lease has lapsed by then
        if get(api_key, export_id)["state"] == "delivered":
            break
    return get(api_key, export_id)


def test_a_lost_answer_on_the_second_groups_create_makes_it_once(
        cw_env: AwsGateway, moto: Any, api_key: str) -> None:  # noqa: F811
    export = two_groups(moto, api_key)
    # GIVEN the second group's CreateExportTask goes through unanswered, and the look that
    # follows finds no answer either (the network still down)
    cw_env.faults.add("logs", "CreateExportTask", kind="lost_answer")
    take = cw_env.faults.take

    def and_then_a_dropped_look(service: Any, action: Any) -> Any:
        fault = take(service, action)
        if fault is not None and fault.kind == "lost_answer":
            cw_env.faults.add("logs", "DescribeExportTasks", kind="drop")
        return fault

    cw_env.faults.take = and_then_a_dropped_look  # type: ignore[method-assign]

    # WHEN the ticks run it to the end
    done = until_delivered(api_key, export["id"], utcnow())

    # THEN each group has one task at moto, the one in doubt found by its name
    assert done["state"] == "delivered", done
    assert tasks_at_moto(moto.url) == {f"{export['id']}-0": 1, f"{export['id']}-1": 1}
    assert cw_env.calls["CreateExportTask"] == 2
    assert len(done["remote"]["taskIds"]) == 2 and done["destination"]["objects"] == 3


def test_a_kill_after_the_second_groups_create_makes_it_once(
        cw_env: AwsGateway, moto: Any, api_key: str,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import common

    export = two_groups(moto, api_key)
    # GIVEN the process dies right after the second group's CreateExportTask went through,
    # before Courier writes down what it answered
    original = BaseClient._make_api_call

    def dying(client: Any, operation: str, params: Any) -> Any:
        answer = original(client, operation, params)
        if operation == "CreateExportTask":
            monkeypatch.setattr(BaseClient, "_make_api_call", original)
            raise Killed(operation)
        return answer

    monkeypatch.setattr(BaseClient, "_make_api_call", dying)
    start = utcnow()
    with pytest.raises(Killed):
        for step in range(20):
            time.sleep(0.3)
            tick(start + timedelta(seconds=step))
    killed = common.bundle().store().get_task(export["id"])

    # WHEN the next ticks run once its lease has lapsed
    done = until_delivered(api_key, export["id"], start + timedelta(minutes=10))

    # THEN the task the killed call made is taken over, not made again
    assert done["state"] == "delivered", done
    assert tasks_at_moto(moto.url) == {f"{export['id']}-0": 1, f"{export['id']}-1": 1}
    assert cw_env.calls["CreateExportTask"] == 2
    assert done["destination"]["objects"] == 3
    # the killed create had stored its marker before the call, and left the export accepted
    assert killed.state is TaskState.ACCEPTED and killed.remote.get("create_open_since")
