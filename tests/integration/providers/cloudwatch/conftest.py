"""moto's server behind the CloudWatch Logs gateway, a staging bucket, and log groups."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from sandbox.aws_gateway import AwsGateway
from shared.pacing import RateLimiter
from shared.vendor_settings import AwsSettings
from tests import servers

STAGING = "cw-staging"
HOUR_MS = 3_600_000


@pytest.fixture(scope="session")
def moto_server() -> Iterator[servers.MotoServer]:
    with servers.moto() as handle:
        yield handle


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in servers.aws_test_env().items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def moto(moto_server: servers.MotoServer, aws_env: None) -> Iterator[servers.MotoServer]:
    moto_server.reset()
    boto3.client("s3", endpoint_url=moto_server.url,
                 region_name="us-east-1").create_bucket(Bucket=STAGING)
    yield moto_server


@pytest.fixture
def gateway(moto: servers.MotoServer) -> Iterator[AwsGateway]:
    with AwsGateway(moto.url, run_s=0.0) as gw:
        yield gw


@pytest.fixture
def aws(moto: servers.MotoServer, gateway: AwsGateway) -> AwsSettings:
    return AwsSettings(staging_bucket=STAGING, staging_prefix="staging", region="us-east-1",
                       endpoint=gateway.url, s3_endpoint=moto.url)


@pytest.fixture
def provider(aws: AwsSettings) -> Any:
    from shared.providers.cloudwatch import CloudwatchProvider

    return CloudwatchProvider(aws, limiter=RateLimiter(rate=1000))


def add_logs(url: str, group: str, streams: dict[str, list[str]]) -> tuple[int, int]:
    """Create ``group`` with ``streams`` of messages written now; the (from, to) around them."""
    logs = boto3.client("logs", endpoint_url=url, region_name="us-east-1")
    logs.create_log_group(logGroupName=group)
    now = int(time.time() * 1000)
    for stream, messages in streams.items():
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
            {"timestamp": now - 1000 + i, "message": m} for i, m in enumerate(messages)])
    return now - HOUR_MS, now + 60_000
