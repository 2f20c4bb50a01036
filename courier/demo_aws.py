"""The AWS side of ``make demo``: moto's server (CloudWatch Logs, S3, STS) behind the sandbox's
CloudWatch Logs gateway (``sandbox/aws_gateway.py``: one active export task per account,
tasks that run for a while), a staging bucket and a log group with a few streams.

Credentials are moto's fake ones, set for this process only: nothing here reaches AWS.
"""

from __future__ import annotations

import logging
import time
from typing import Any

REGION = "us-east-1"
STAGING = "courier-demo-staging"
GROUP = "/demo/app"
STREAMS = {"web-1": ["GET /orders 200", "GET /orders/7 404", "POST /orders 201"],
           "web-2": ["GET /health 200"], "worker-1": ["job 41 done", "job 42 failed"]}
FAKE_KEYS = {"AWS_ACCESS_KEY_ID": "demo", "AWS_SECRET_ACCESS_KEY": "demo",  # noqa: S105
             "AWS_SESSION_TOKEN": "demo", "AWS_DEFAULT_REGION": REGION}


class DemoAws:
    """``start()`` → ``env()`` for the bundle → ``seed()`` → ``stop()``."""

    def __init__(self, run_s: float = 1.0) -> None:
        self.run_s = run_s  # how long an export task runs
        self._moto: Any = None
        self.gateway: Any = None
        self.moto_url = ""

    def start(self) -> DemoAws:
        from moto.server import ThreadedMotoServer

        from sandbox.aws_gateway import AwsGateway

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"
        self.gateway = AwsGateway(self.moto_url, run_s=self.run_s).start()
        return self

    def env(self) -> dict[str, str]:
        return {**FAKE_KEYS, "AWS_REGION": REGION, "COURIER_CLOUDWATCH_BUCKET": STAGING,
                "COURIER_CLOUDWATCH_ENDPOINT": self.gateway.url,
                "COURIER_S3_ENDPOINT": self.moto_url}

    def seed(self) -> tuple[int, int]:
        """The staging bucket and the log group; the (from, to) window around its events."""
        import boto3

        kwargs: dict[str, Any] = {"region_name": REGION, "aws_access_key_id": "demo",
                                  "aws_secret_access_key": "demo"}  # noqa: S106
        boto3.client("s3", endpoint_url=self.moto_url, **kwargs).create_bucket(Bucket=STAGING)
        logs = boto3.client("logs", endpoint_url=self.moto_url, **kwargs)
        logs.create_log_group(logGroupName=GROUP)
        now = int(time.time() * 1000)
        for stream, messages in STREAMS.items():
            logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
            logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=[
                {"timestamp": now - 60_000 + i, "message": m} for i, m in enumerate(messages)])
        return now - 3_600_000, now + 60_000

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        if self._moto is not None:
            self._moto.stop()
