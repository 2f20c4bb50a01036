"""The world one chaos configuration runs in: the provider sandbox, moto's server behind the
CloudWatch Logs gateway (also the S3 destination), a webhook receiver that fails for a while,
and the environment the bundle's processes read.

Everything listens on 127.0.0.1 and is stopped by :meth:`World.stop`.
"""

from __future__ import annotations

import base64
import io
import random
import secrets
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from courier.demo import demo_env
from courier.receiver import Receiver
from sandbox import Sandbox, servers
from sandbox.aws_gateway import AwsGateway
from sandbox.params import Params
from shared.setting_names import DEFAULT_KEY_TEMPLATE

STAGING = "chaos-staging"
DEST_BUCKET = "chaos-dest"
COMPLETE_FUNCTION = "courier-complete"
PART_MB = 5  # the smallest part COURIER_PART_SIZE_MB allows: big files take several parts
HOOK_TIMEOUT_S = 16.0  # longer than the sender's 15 s request timeout


@dataclass
class Config:
    """One configuration: ``state`` "postgres" (async dispatch: separate poll and complete
    processes) or "sqlite" (inline completion in the poll process)."""

    name: str
    state: str
    polls: int
    completes: int

    @property
    def inline(self) -> bool:
        return self.completes == 0


CONFIGS = {
    "postgres-async": Config("postgres-async", "postgres", polls=2, completes=2),
    "sqlite-inline": Config("sqlite-inline", "sqlite", polls=1, completes=0),
}


@dataclass
class HookScript:
    """The receiver's answers: until ``recover_at`` (time.time()) a share of requests get a
    5xx and a few wait past the sender's timeout (then 503); afterwards every one is 2xx."""

    recover_at: float
    fail_share: float = 0.25
    timeouts_left: int = 3
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    failures: int = 0
    timeouts: int = 0
    seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, webhook_id: str) -> tuple[int, float]:
        with self._lock:
            if time.time() >= self.recover_at:
                return 204, 0.0
            self.seen += 1
            roll = self.rng.random()
            if self.seen % 15 == 5 and self.timeouts_left > 0:
                self.timeouts_left -= 1
                self.timeouts += 1
                return 503, HOOK_TIMEOUT_S
            if roll < self.fail_share:
                self.failures += 1
                return self.rng.choice((500, 502, 503)), 0.0
        return 204, 0.0


class World:
    def __init__(self, config: Config, work: Path) -> None:
        self.config = config
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        # tasks queue and run for a second or two; files are plain (big ones in parts)
        self.sb = Sandbox(port=0, queue_s=0.5, process_s=1.5, file_size=3000)
        self.sb.dms.auto_approve = True
        self.moto = servers.start_moto()
        self.gateway = AwsGateway(self.moto.url, run_s=0.3)
        self.secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        self.script = HookScript(recover_at=time.time() + 3600)
        self.receiver = Receiver(self.secret, script=self.script)
        self.api_key = secrets.token_urlsafe(24)
        self.state_url = ""

    def start(self) -> World:
        self.sb.start()
        self.gateway.start()
        self.receiver.start()
        self._scf_function()
        self.moto.reset()  # moto's accounts live in this process: forget an earlier run's
        s3 = self.s3()
        for bucket in (STAGING, DEST_BUCKET):
            s3.create_bucket(Bucket=bucket)
        self.state_url = self._state()
        return self

    def stop(self) -> None:
        for step in (self.receiver.stop, self.gateway.stop, self.sb.stop, self.moto.stop):
            try:
                step()
            except Exception:  # noqa: BLE001, S112 - stop what can be stopped
                continue

    # ------------------------------------------------------------------ pieces
    def s3(self) -> Any:
        return boto3.client("s3", endpoint_url=self.moto.url, region_name="us-east-1",
                            **_aws_keys())

    def logs(self) -> Any:
        return boto3.client("logs", endpoint_url=self.moto.url, region_name="us-east-1",
                            **_aws_keys())

    def _scf_function(self) -> None:
        """The complete function exists at SCF, so the poller's Invoke finds it."""
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("index.py", "def main(event, context):\n    return event\n")
        self.sb.scf.create_function(Params({
            "FunctionName": COMPLETE_FUNCTION, "Handler": "index.main", "Runtime": "Python3.10",
            "Code": {"ZipFile": base64.b64encode(buf.getvalue()).decode()}}))

    def _state(self) -> str:
        if self.config.state == "sqlite":
            return f"sqlite:///{self.work / 'state.db'}"
        import psycopg

        base = servers.postgres_url()
        name = servers.unique_name("chaos")
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.dropped_db = (base, name)
        return base.rsplit("/", 1)[0] + f"/{name}"

    def drop_state(self) -> None:
        if self.config.state != "postgres" or not getattr(self, "dropped_db", None):
            return
        import psycopg

        base, name = self.dropped_db
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def destination(self) -> str:
        if self.config.state == "sqlite":
            return f"file://{self.work / 'bucket'}"
        return f"s3://{DEST_BUCKET}/exports"

    def env(self) -> dict[str, str]:
        """What every process of the bundle reads (a deployment's settings, made short)."""
        env = demo_env(self.sb, self.work, self.api_key, self.secret, self.receiver.url)
        env.update({
            # the run compares each delivered object with the file the vendor served: the
            # raw copy, filed by the default template (the demo's unpacked partitions are not
            # what it measures)
            "COURIER_KEY_TEMPLATE": DEFAULT_KEY_TEMPLATE,
            "COURIER_UNPACK": "off",
            "COURIER_STATE_URL": self.state_url,
            "COURIER_DESTINATION": self.destination(),
            "COURIER_POLL_INTERVAL_S": "1",
            "COURIER_LEASE_S": "20",
            "COURIER_PART_SIZE_MB": str(PART_MB),
            "COURIER_WEBHOOK_RETRY_S": "0,1,2,4,8,15,30,60",
            "COURIER_LINK_TTL_S": "0",
            "COURIER_S3_ENDPOINT": self.moto.url,
            "COURIER_S3_REGION": "us-east-1",
            "COURIER_CLOUDWATCH_BUCKET": STAGING,
            "COURIER_CLOUDWATCH_ENDPOINT": self.gateway.url,
            # the staged objects stay: the run compares the delivered files with them
            "COURIER_CLOUDWATCH_DELETE_STAGED": "off",
            "AWS_REGION": "us-east-1",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            **_aws_keys(upper=True),
        })
        if self.config.inline:
            env["COURIER_DISPATCH"] = "inline"
        else:
            env["COURIER_DISPATCH"] = "scf"
            env["COURIER_COMPLETE_FUNCTION"] = COMPLETE_FUNCTION
        return env


def _aws_keys(upper: bool = False) -> dict[str, str]:
    keys = servers.aws_test_env()
    if upper:
        return keys
    return {"aws_access_key_id": keys["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": keys["AWS_SECRET_ACCESS_KEY"],
            "aws_session_token": keys["AWS_SESSION_TOKEN"]}
