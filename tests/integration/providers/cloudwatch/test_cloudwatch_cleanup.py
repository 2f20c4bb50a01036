"""Once a cloudwatch export is delivered and verified, the objects CloudWatch Logs staged for
it are deleted (COURIER_CLOUDWATCH_DELETE_STAGED, on by default); off keeps them."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import boto3
import pytest

from sandbox.aws_gateway import AwsGateway
from shared.clock import utcnow
from tests.e2e.helpers import post, tick
from tests.integration.providers.cloudwatch.conftest import STAGING, add_logs
from tests.integration.providers.cloudwatch.test_cloudwatch_round_trip import cw_env, get  # noqa: F401


def staged(url: str, export_id: str) -> list[str]:
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    page = s3.list_objects_v2(Bucket=STAGING, Prefix=f"courier-staging/{export_id}/")
    return [o["Key"] for o in page.get("Contents") or []]


def delivered(api_key: str, moto: Any) -> dict[str, Any]:
    start, end = add_logs(moto.url, "app", {"web-1": ["a", "b"], "web-2": ["c"]})
    status, export = post(api_key, {"provider": "cloudwatch", "params": {
        "logGroupName": "app", "from": start, "to": end}}, event="aws_http_api_post_exports")
    assert status == 202, export
    assert len(staged(moto.url, export["id"])) >= 2  # what CloudWatch Logs wrote
    now = utcnow()
    for step in range(30):
        time.sleep(0.3)
        tick(now + timedelta(seconds=60 * (step + 1)))
        task = get(api_key, export["id"])
        if task["state"] == "delivered":
            return task
    raise AssertionError(f"not delivered: {task}")


@pytest.mark.parametrize("setting, kept", [(None, False), ("off", True)],
                         ids=["default-deletes", "off-keeps"])
def test_staged_objects_go_once_the_export_is_delivered(
        cw_env: AwsGateway, moto: Any, api_key: str,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch, setting: str | None, kept: bool) -> None:
    from functions import common

    if setting is not None:
        monkeypatch.setenv("COURIER_CLOUDWATCH_DELETE_STAGED", setting)
        common.reset()
    task = delivered(api_key, moto)
    assert task["destination"]["objects"] == 2  # delivered and verified first
    left = staged(moto.url, task["id"])
    assert (len(left) >= 2) if kept else left == [], left
