"""The handlers end to end for cloudwatch: queued creates (a foreign task waited out, never two
running, oldest first), polls, the copy of several objects, the manifest and the webhook."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sandbox.aws_gateway import AwsGateway
from shared.clock import utcnow
from tests.e2e.helpers import call, post, tick
from tests.events import load_event
from tests.integration.providers.cloudwatch.conftest import STAGING, add_logs

RUN_S = 1.0


@pytest.fixture
def cw_env(handlers_env: dict[str, str], moto: Any, monkeypatch: pytest.MonkeyPatch
           ) -> Any:
    with AwsGateway(moto.url, run_s=RUN_S) as gw:
        for name, value in {"COURIER_CLOUDWATCH_BUCKET": STAGING,
                            "COURIER_CLOUDWATCH_ENDPOINT": gw.url,
                            "COURIER_S3_ENDPOINT": moto.url, "AWS_REGION": "us-east-1"}.items():
            monkeypatch.setenv(name, value)
        from functions import common

        common.reset()
        yield gw
        common.reset()


def get(api_key: str, export_id: str) -> dict[str, Any]:
    status, task = call(load_event("aws_function_url_get_export", path=f"/exports/{export_id}",
                                   headers={"x-api-key": api_key}))
    assert status == 200
    return task


def test_queued_exports_are_created_one_at_a_time_and_delivered_with_manifests(
        cw_env: AwsGateway, moto: Any, api_key: str, receiver: Any, tmp_path: Path) -> None:
    start, end = add_logs(moto.url, "app", {"web-1": ["a", "b"], "web-2": ["c"]})
    body = {"provider": "cloudwatch", "params": {"logGroupName": "app", "from": start,
                                                 "to": end}}
    cw_env.occupy(RUN_S)  # an export task started by somebody else is running

    status, first = post(api_key, body, event="aws_http_api_post_exports")
    assert status == 202 and first["state"] == "accepted"
    assert first["error"]["code"] == "LimitExceededException"  # waited out, not failed
    _, second = post(api_key, body, event="aws_http_api_post_exports")
    assert second["state"] == "accepted" and second["queue_position"] == 1

    now = utcnow()
    tasks: dict[str, dict[str, Any]] = {}
    for step in range(40):
        time.sleep(0.3)
        assert len(cw_env.active()) <= 1  # never two running in the account
        tick(now + timedelta(seconds=60 * (step + 1)))
        tasks = {t["id"]: get(api_key, t["id"]) for t in (first, second)}
        if all(t["state"] == "delivered" for t in tasks.values()):
            break
    assert [t["state"] for t in tasks.values()] == ["delivered", "delivered"], tasks

    # order kept: the older export's task was started first, the other after it finished
    started = [t for t, _ in cw_env.started]
    assert started == [tasks[first["id"]]["remote"]["taskIds"][0],
                       tasks[second["id"]]["remote"]["taskIds"][0]]
    assert cw_env.started[1][1] - cw_env.started[0][1] >= RUN_S

    for task in tasks.values():
        dest = task["destination"]
        assert dest["objects"] == 2 and dest["manifest"]["key"].endswith("manifest.json")
        folder = Path(dest["manifest"]["uri"][len("file://"):]).parent
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["totals"] == {"objects": 2, "bytes": dest["size"]}
        for obj in manifest["objects"]:
            data = (tmp_path / "bucket" / obj["key"]).read_bytes()
            assert data[:2] == b"\x1f\x8b" and len(data) == obj["size"]
            assert hashlib.md5(data).hexdigest() == obj["md5"]
    hooks = [r.payload["data"] for r in receiver.delivered()
             if r.event_type == "export.delivered"]
    assert sorted(h["export_id"] for h in hooks) == sorted(tasks)
    assert all(h["objects"] == 2 and h["manifest"]["key"].endswith("manifest.json")
               and h["bytes"] == tasks[h["export_id"]]["destination"]["size"] for h in hooks)
