"""Exports into a named destination (COURIER_DESTINATIONS), through the real handlers: the
deployment's own destination is a folder; ``lake`` an S3 bucket on moto with IAM checks on,
``box`` a COS bucket behind the sandbox's COS gateway. Each bucket takes only its own keys:
the deployment's are refused there, so an export that lands was written with the named
destination's credentials."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions import common
from sandbox.cos_gateway import CosGateway
from shared.config import Settings
from shared.errors import StorageError
from shared.storage import open_destination
from shared.storage.probe import probe
from tests import servers
from tests.e2e.helpers import call, cls_body, post, until_terminal
from tests.events import load_event

pytestmark = pytest.mark.integration

REGION = "ap-guangzhou"
LAKE_TEMPLATE = "lake/{provider}/{export_id}/{file_name}"
BOX_KEYS = ("AKIDboxwriter0001", "box-writer-secret-key")
S3_WRITE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


@pytest.fixture
def moto() -> Iterator[Any]:
    server = servers.require(lambda: servers.start_moto(servers.COS_MIN_PART))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def clouds(moto: Any, sandbox: Any, handlers_env: dict[str, str],
           monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Two buckets and their writers: ``lake`` (S3) takes only the IAM user ``lake-writer``
    (once :func:`iam_checked`); ``box`` (COS) only ``BOX_KEYS``. The deployment's own keys
    are an IAM user with no rights and the sandbox's Tencent keys, which the COS gateway
    knows for another bucket only."""
    for name, value in servers.aws_test_env().items():
        monkeypatch.setenv(name, value)
    iam = boto3.client("iam", endpoint_url=moto.url, region_name="us-east-1")
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
    lake = servers.unique_name("lake").replace("_", "-")
    s3.create_bucket(Bucket=lake)
    keys = {}
    for user, policy in (("lake-writer", S3_WRITE), ("deployment", None)):
        name = servers.unique_name(user)  # IAM is one account for every moto of the process
        iam.create_user(UserName=name)
        if policy:
            iam.put_user_policy(UserName=name, PolicyName="write",
                                PolicyDocument=json.dumps(policy))
        made = iam.create_access_key(UserName=name)["AccessKey"]
        keys[user] = (made["AccessKeyId"], made["SecretAccessKey"])
    box = servers.unique_name("box").replace("_", "-") + "-1250000000"
    other = servers.unique_name("other").replace("_", "-") + "-1250000000"
    gateway = CosGateway(moto.url, region=REGION).start()
    gateway.add_credentials(*BOX_KEYS, buckets={box})
    gateway.add_credentials(*sandbox.credentials, buckets={other})  # the deployment's keys
    s3.create_bucket(Bucket=box)
    destinations = {
        "lake": {"url": f"s3://{lake}/courier", "key_template": LAKE_TEMPLATE,
                 "secret_id": keys["lake-writer"][0], "secret_key": keys["lake-writer"][1]},
        "box": {"url": f"cos://{box}/exports?region={REGION}",
                "secret_id": BOX_KEYS[0], "secret_key": BOX_KEYS[1]},
    }
    env = {"COURIER_DESTINATIONS": json.dumps(destinations), "COURIER_S3_ENDPOINT": moto.url,
           "COURIER_S3_REGION": "us-east-1", "COURIER_COS_ENDPOINT": gateway.endpoint,
           "AWS_ACCESS_KEY_ID": keys["deployment"][0],
           "AWS_SECRET_ACCESS_KEY": keys["deployment"][1]}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    common.reset()
    try:
        yield {"s3": s3, "lake": lake, "box": box, "gateway": gateway, "keys": keys,
               "env": {**handlers_env, **env}}
    finally:
        gateway.stop()


@pytest.fixture
def iam_checked(clouds: dict[str, Any]) -> Iterator[None]:
    """moto checks every S3 request's keys and the IAM policies of their user (its server
    runs in this process; the COS gateway's unsigned upstream calls would be refused too)."""
    from moto.core.authorization import enable_iam_authentication

    with enable_iam_authentication():
        yield


def read_upstream(clouds: dict[str, Any], bucket: str, key: str) -> bytes:
    """An object as the bucket holds it, read with the lake writer's keys (moto checks them)."""
    s3 = boto3.client("s3", endpoint_url=clouds["s3"].meta.endpoint_url,
                      region_name="us-east-1", aws_access_key_id=clouds["keys"]["lake-writer"][0],
                      aws_secret_access_key=clouds["keys"]["lake-writer"][1])
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def get_export(api_key: str, export_id: str) -> dict[str, Any]:
    status, task = call(load_event("aws_function_url_get_export", path=f"/exports/{export_id}",
                                   headers={"x-api-key": api_key}))
    assert status == 200
    return task


@pytest.mark.usefixtures("iam_checked")
def test_an_export_lands_in_the_s3_destination_it_names_with_that_destinations_keys(
        clouds: dict[str, Any], sandbox: Any, api_key: str, tmp_path: Path) -> None:
    status, created = post(api_key, {**cls_body(), "destination": "lake"})
    assert status == 202, created
    assert created["destination_name"] == "lake"

    task = until_terminal(created["id"], api_key, sandbox)

    assert task["state"] == "delivered", task.get("error")
    dest = task["destination"]
    lake = clouds["lake"]
    file_name = task["result"]["file_name"]
    # the destination's own key template, under its prefix
    assert dest["key"] == f"lake/cls/{task['id']}/{file_name}"
    assert dest["uri"] == f"s3://{lake}/courier/{dest['key']}"
    data = read_upstream(clouds, lake, f"courier/{dest['key']}")
    assert hashlib.md5(data).hexdigest() == dest["md5"] and len(data) == dest["size"]
    assert not (tmp_path / "bucket").exists() or not any((tmp_path / "bucket").rglob(file_name))
    # the deployment's own keys are refused by that bucket: the export used the lake's
    settings = Settings.from_env(clouds["env"])
    with pytest.raises(StorageError, match="(?i)access|invalid|forbidden"):
        probe(open_destination(f"s3://{lake}/courier", settings.storage))


def test_an_export_lands_in_the_cos_destination_it_names_with_that_destinations_keys(
        clouds: dict[str, Any], sandbox: Any, api_key: str, receiver: Any,
        caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    status, created = post(api_key, {**cls_body(), "destination": "box"})
    assert status == 202, created

    task = until_terminal(created["id"], api_key, sandbox)

    assert task["state"] == "delivered", task.get("error")
    dest = task["destination"]
    box = clouds["box"]
    # the deployment's key template (the destination names none), under the box's prefix
    assert dest["key"].startswith("cls/") and dest["key"].endswith(task["result"]["file_name"])
    assert dest["uri"].startswith(f"cos://{box}/exports/")
    data = clouds["gateway"].read_object(box, f"exports/{dest['key']}")
    assert hashlib.md5(data).hexdigest() == dest["md5"]
    assert any(method == "PUT" and bucket == box
               for method, bucket, _ in clouds["gateway"].requests)
    # the webhook names the destination beside the object's URI
    [hook] = [r for r in receiver.delivered() if r.payload["data"]["export_id"] == task["id"]]
    assert hook.payload["data"]["destination"] == "box"
    assert hook.payload["data"]["uri"] == dest["uri"]
    # the destination's secret key is in no log line, answer or webhook
    out = capsys.readouterr()
    text = "\n".join([out.out, out.err, caplog.text, json.dumps(task),
                      *(json.dumps(r.payload) for r in receiver.delivered())])
    assert out.out.count('"level":') > 3 and BOX_KEYS[1] not in text
    # the deployment's Tencent keys are valid COS keys, but not for this bucket
    settings = Settings.from_env(clouds["env"])
    with pytest.raises(StorageError, match="AccessDenied|403"):
        probe(open_destination(f"cos://{box}/exports?region={REGION}", settings.storage))


def test_an_export_without_a_destination_still_lands_in_the_deployments_own(
        clouds: dict[str, Any], sandbox: Any, api_key: str, tmp_path: Path) -> None:
    status, created = post(api_key, cls_body())
    assert status == 202 and created["destination_name"] is None
    task = until_terminal(created["id"], api_key, sandbox)
    assert task["state"] == "delivered"
    assert Path(task["destination"]["uri"][len("file://"):]).is_relative_to(tmp_path / "bucket")


def test_an_unknown_destination_is_a_400_naming_it(clouds: dict[str, Any],
                                                   api_key: str) -> None:
    status, body = post(api_key, {**cls_body(), "destination": "lakee"})
    assert status == 400, body
    assert body["field"] == "destination"
    assert "'lakee' is not a configured destination (COURIER_DESTINATIONS)" in body["detail"]
    assert common.bundle().store().list_tasks(limit=5).items == []


def test_a_window_is_checked_against_the_named_destinations_key_template(
        handlers_env: dict[str, str], api_key: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two hours fit the deployment's template (no partition placeholder) but not one
    partition of a destination filed by the hour."""
    monkeypatch.setenv("COURIER_DESTINATIONS", json.dumps({"hourly": {
        "url": f"file://{tmp_path}/hourly", "key_template": "hour={hour}/{file_name}"}}))
    common.reset()
    two_hours = cls_body(From=1_796_536_800_000 - 7_200_000, To=1_796_536_800_000)
    status, body = post(api_key, {**two_hours, "destination": "hourly"})
    assert status == 400, body
    assert body["field"] == "params"
    assert "does not fit the key template of destination 'hourly': {hour} names one hour" \
        in body["detail"]
    assert post(api_key, two_hours)[0] == 202  # the deployment's own takes it


def test_a_schedule_naming_an_unknown_destination_stops_the_function_at_start(
        handlers_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.errors import ConfigError

    monkeypatch.setenv("COURIER_SCHEDULES", json.dumps([{
        "name": "hourly", "provider": "cls", "params": {"TopicId": "topic-app"},
        "destination": "lake"}]))
    common.reset()
    with pytest.raises(ConfigError, match=r"^COURIER_SCHEDULES\[0\]\.destination: 'lake' is "
                                          r"not a configured destination"):
        common.bundle()
