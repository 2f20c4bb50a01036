"""``courier doctor`` on AWS parts: the cloudwatch provider's cheap read through the gateway in
front of moto, and the destination probe in a real S3 server (moto)."""

from __future__ import annotations

from typing import Any

import boto3

from sandbox.aws_gateway import AwsGateway
from tests import servers
from tests.integration.cli.test_doctor import doctor, lines_of

BUCKET = "doctor-destination"


def test_cloudwatch_credentials_and_an_s3_destination(courier_env: dict[str, str], moto: Any,
                                                      gateway: AwsGateway) -> None:
    s3 = boto3.client("s3", endpoint_url=moto.url, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    env = {**courier_env, **servers.aws_test_env(), "COURIER_CLOUDWATCH_ENDPOINT": gateway.url,
           "AWS_REGION": "us-east-1", "COURIER_DESTINATION": f"s3://{BUCKET}/exports",
           "COURIER_S3_ENDPOINT": moto.url}
    done = doctor(env)
    found = lines_of(done)
    assert found["provider cloudwatch"].startswith("ok"), done.stdout + done.stderr
    assert "DescribeExportTasks" in found["provider cloudwatch"]
    line = found["destination"]
    assert line.startswith("ok") and f"s3://{BUCKET} at {moto.url}" in line, line
    # the probe object was deleted again
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
    # a bucket that does not exist: an error naming it
    missing = doctor({**env, "COURIER_DESTINATION": "s3://no-such-bucket/x"})
    assert missing.returncode == 1
    line = lines_of(missing)["destination"]
    assert line.startswith("error") and "s3://no-such-bucket" in line and "NoSuchBucket" in line
