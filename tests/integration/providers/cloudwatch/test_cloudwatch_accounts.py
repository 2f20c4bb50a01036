"""A CloudWatch export in a second AWS account and region, through an IAM role assumed with
STS AssumeRole and an external id (moto serves STS and binds the role's keys to the role's
account), end to end through the handlers; the deployment's own keys cannot see that
account's log group."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import boto3
import pytest

from sandbox.aws_gateway import AwsGateway
from shared.clock import utcnow
from tests.e2e.helpers import call, post, tick
from tests.events import load_event
from tests.integration.providers.cloudwatch.conftest import HOUR_MS, STAGING, add_logs

OTHER = "222222222222"
ROLE = f"arn:aws:iam::{OTHER}:role/courier-export"
REGION = "eu-west-1"
STAGING_B = "courier-staging-b"
GONE_ROLE = "arn:aws:iam::333333333333:role/courier-export"
RUN_S = 2.0  # an export task runs this long at the gateway


def as_other(moto: Any, service: str) -> Any:
    """A client of the second account (the role's keys, as its own admin would hold)."""
    keys = boto3.client("sts", endpoint_url=moto.url, region_name=REGION).assume_role(
        RoleArn=ROLE, RoleSessionName="setup")["Credentials"]
    return boto3.client(service, endpoint_url=moto.url, region_name=REGION,
                        aws_access_key_id=keys["AccessKeyId"],
                        aws_secret_access_key=keys["SecretAccessKey"],
                        aws_session_token=keys["SessionToken"])


@pytest.fixture
def cw_env(handlers_env: dict[str, str], moto: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    with AwsGateway(moto.url, run_s=RUN_S) as gw:
        accounts = {"eu": {"vendor": "aws", "region": REGION, "role": ROLE,
                           "external_id": "courier-ext-1", "staging_bucket": STAGING_B,
                           "session_s": 900},
                    "gone": {"vendor": "aws", "region": REGION, "role": GONE_ROLE,
                             "staging_bucket": STAGING_B}}
        gw.refused_roles.add(GONE_ROLE)
        for name, value in {"COURIER_CLOUDWATCH_BUCKET": STAGING,
                            "COURIER_CLOUDWATCH_ENDPOINT": gw.url,
                            "COURIER_S3_ENDPOINT": moto.url, "AWS_REGION": "us-east-1",
                            "COURIER_ACCOUNTS": json.dumps(accounts)}.items():
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


def test_an_export_in_a_second_account_and_region_through_an_assumed_role(
        cw_env: AwsGateway, moto: Any, api_key: str) -> None:
    as_other(moto, "s3").create_bucket(
        Bucket=STAGING_B, CreateBucketConfiguration={"LocationConstraint": REGION})
    logs = as_other(moto, "logs")
    logs.create_log_group(logGroupName="billing")
    logs.create_log_stream(logGroupName="billing", logStreamName="api-1")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="billing", logStreamName="api-1", logEvents=[
        {"timestamp": now - 1000, "message": "charged"}])
    body = {"provider": "cloudwatch", "account": "eu",
            "params": {"logGroupName": "billing", "from": now - HOUR_MS, "to": now + 60_000}}

    # the deployment's own account has an export task running in its region
    start, end = add_logs(moto.url, "app", {"web-1": ["a"]})
    status, own = post(api_key, {"provider": "cloudwatch", "params": {
        "logGroupName": "app", "from": start, "to": end}}, event="aws_http_api_post_exports")
    assert (status, own["state"]) == (202, "submitted"), own

    # the second account's queue is its own: its task is created at once beside that one
    status, created = post(api_key, body, event="aws_http_api_post_exports")
    assert (status, created["state"]) == (202, "submitted"), created
    assert len(cw_env.active()) == 2 and not created.get("queue_position")
    task: dict[str, Any] = {}
    for step in range(30):
        tick(utcnow() + timedelta(seconds=60 * (step + 1)))
        task = get(api_key, created["id"])
        if task["state"] in ("delivered", "failed"):
            break
        time.sleep(0.2)
    assert task["state"] == "delivered", task.get("error")
    assert task["account"] == "eu" and task["destination"]["objects"] == 1

    # the deployment's own keys: the log group is not in their account
    status, problem = post(api_key, {k: v for k, v in body.items() if k != "account"},
                           event="aws_http_api_post_exports")
    assert status == 422, problem
    assert problem["export"]["error"]["code"] == "ResourceNotFoundException"


def test_a_role_sts_refuses_fails_only_its_accounts_exports(
        cw_env: AwsGateway, moto: Any, api_key: str) -> None:
    now = int(time.time() * 1000)
    window = {"from": now - HOUR_MS, "to": now}
    status, problem = post(api_key, {"provider": "cloudwatch", "account": "gone", "params": {
        "logGroupName": "billing", **window}}, event="aws_http_api_post_exports")
    assert status == 422, problem
    error = problem["export"]["error"]
    assert (error["code"], error["retryable"]) == ("AccessDenied", False)
    assert GONE_ROLE in error["reason"] and "account gone" in error["reason"]
    # the deployment's own account goes on
    start, end = add_logs(moto.url, "app", {"web-1": ["a"]})
    status, own = post(api_key, {"provider": "cloudwatch", "params": {
        "logGroupName": "app", "from": start, "to": end}}, event="aws_http_api_post_exports")
    assert status == 202, own
    for step in range(30):
        tick(utcnow() + timedelta(seconds=60 * (step + 1)))
        if get(api_key, own["id"])["state"] == "delivered":
            break
        time.sleep(0.2)
    assert get(api_key, own["id"])["state"] == "delivered"
