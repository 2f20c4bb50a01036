"""What the e2e tests share: requests through the real create handler, timer ticks."""

from __future__ import annotations

import json
import time
from typing import Any

from courier.local import LocalContext
from tests.events import load_event

HOUR_MS = 3_600_000


def cls_body(topic: str = "topic-app", **params: Any) -> dict[str, Any]:
    now = int(time.time() * 1000)
    return {"provider": "cls", "params": {"TopicId": topic, "From": now - HOUR_MS, "To": now,
                                          **params}}


def call(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    from functions import create_export

    answer = create_export.handler(event, LocalContext())
    assert set(answer) >= {"statusCode", "headers", "body"}
    return answer["statusCode"], json.loads(answer["body"])


def post(api_key: str, body: Any, event: str = "scf_apigw_post_exports",
         **headers: str | None) -> tuple[int, dict[str, Any]]:
    return call(load_event(event, body=body, headers={"x-api-key": api_key, **headers}))


def tick(now: Any = None) -> dict[str, Any]:
    from functions import poll_tasks

    if now is None:
        return poll_tasks.handler(load_event("scf_timer"), LocalContext(30))
    from functions import common

    return vars(common.bundle().poller.tick(deadline=time.monotonic() + 20,
                                                  owner="test", now=now))


def until_terminal(export_id: str, api_key: str, sandbox: Any, limit_s: float = 15) -> dict:
    deadline = time.monotonic() + limit_s
    task: dict[str, Any] = {}
    while time.monotonic() < deadline:
        sandbox.clock.advance(5)
        tick()
        status, task = call(load_event("aws_function_url_get_export",
                                       path=f"/exports/{export_id}",
                                       headers={"x-api-key": api_key}))
        assert status == 200
        if task["state"] in ("delivered", "failed", "cancelled"):
            return task
        time.sleep(0.3)
    raise AssertionError(f"export {export_id} did not finish in {limit_s}s: "
                         f"{task.get('state')}/{task.get('stage')} {task.get('error')}")
