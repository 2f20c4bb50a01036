"""Write options through the real create handler: an option the bucket refuses answers the
create with a 503 naming the option (the destination's probe carries it), nothing is
accepted; a wrong option stops the cold start naming the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from functions import common
from shared.errors import ConfigError
from tests import servers
from tests.e2e.helpers import cls_body, post

pytestmark = pytest.mark.integration


@pytest.fixture
def moto() -> Iterator[Any]:
    with servers.moto() as handle:
        yield handle


def test_a_create_names_the_option_the_bucket_refuses(
        handlers_env: dict[str, str], moto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in servers.aws_test_env().items():
        monkeypatch.setenv(name, value)
    bucket = servers.unique_name("nolock").replace("_", "-")
    boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1").create_bucket(
        Bucket=bucket)  # without Object Lock
    monkeypatch.setenv("COURIER_DESTINATION", f"s3://{bucket}/courier")
    monkeypatch.setenv("COURIER_S3_ENDPOINT", moto.url)
    monkeypatch.setenv("COURIER_DESTINATION_WRITE", json.dumps(
        {"sse": "AES256", "retention": {"mode": "GOVERNANCE", "days": 30}}))
    common.reset()

    status, body = post(handlers_env["COURIER_API_KEYS"], cls_body())

    assert status == 503, body
    assert body["error"] == "destination_unavailable"
    assert ("COURIER_DESTINATION_WRITE.retention: S3 refused it (400 InvalidRequest: Bucket "
            "is missing ObjectLockConfiguration)") in body["detail"]
    assert common.bundle().store().list_tasks(limit=5).items == []


def test_a_wrong_option_stops_the_cold_start_naming_the_field(
        handlers_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURIER_DESTINATION", "s3://exports/courier")
    monkeypatch.setenv("COURIER_DESTINATION_WRITE", json.dumps(
        {"retention": {"mode": "GOVERNANCE", "days": 0}}))
    common.reset()
    with pytest.raises(ConfigError, match=r"COURIER_DESTINATION_WRITE\.retention\.days: must "
                                          r"be a whole number of days"):
        common.bundle()
