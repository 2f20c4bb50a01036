"""The cloudwatch case of ``bench_poll.py``: exports of one log group through moto's server
behind the CloudWatch Logs gateway (:mod:`sandbox.aws_gateway`).

CloudWatch Logs runs one export task at a time per account and region, so the exports are
queued: each is created once the one before it has finished. Every export is accepted
through the product (``exports.accept``, the first created at once), then poll ticks run until
all are ready. Calls are counted by the provider's client (moto has no per-call counter of
its own here); the CPU inside them as for the other cases::

    bench poll: provider=cloudwatch variant=queued tasks=20 groups=1 backend=sqlite pollers=1
      calls=… calls_per_task=… wall_s=… cpu_ms_per_task=… cpu_ms_per_call=… settled=…
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

STAGING = "bench-staging"
GROUP = "/bench/app"


def run(tasks: int, tmp: str, timeout_s: float, timed_calls: Any, no_dispatch: Any) -> str:
    try:
        import boto3

        from sandbox.aws_gateway import AwsGateway
        from sandbox.servers import ServerUnavailable, aws_test_env, start_moto
    except ImportError as exc:
        return f"bench poll: provider=cloudwatch skipped: {exc}"
    try:
        moto = start_moto()
    except ServerUnavailable as exc:
        return f"bench poll: provider=cloudwatch skipped: {exc}"
    saved = {k: os.environ.get(k) for k in aws_test_env()}
    os.environ.update(aws_test_env())  # fake credentials for moto, never real ones
    try:
        boto3.client("s3", endpoint_url=moto.url,
                     region_name="us-east-1").create_bucket(Bucket=STAGING)
        logs = boto3.client("logs", endpoint_url=moto.url, region_name="us-east-1")
        logs.create_log_group(logGroupName=GROUP)
        logs.create_log_stream(logGroupName=GROUP, logStreamName="s")
        now_ms = int(time.time() * 1000)
        logs.put_log_events(logGroupName=GROUP, logStreamName="s", logEvents=[
            {"timestamp": now_ms - 1000 + i, "message": f"line {i}"} for i in range(20)])
        with AwsGateway(moto.url, run_s=0.2) as gateway:
            return _drive(tasks, f"sqlite:///{tmp}/cw_{uuid.uuid4().hex[:6]}.db", gateway.url,
                          moto.url, now_ms, timeout_s, timed_calls, no_dispatch)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        moto.stop()


def _drive(tasks: int, url: str, endpoint: str, s3_endpoint: str, now_ms: int,
           timeout_s: float, timed_calls: Any, no_dispatch: Any) -> str:
    from shared import exports
    from shared.bundle import Bundle
    from shared.config import Settings
    from shared.model import TaskState
    from shared.state import open_store
    from shared.vendor_settings import AwsSettings

    settings = Settings(state_url=url, profile="sandbox", poll_interval_s=0.5,
                        aws=AwsSettings(staging_bucket=STAGING, region="us-east-1",
                                        endpoint=endpoint, s3_endpoint=s3_endpoint))
    store = open_store(url)
    try:
        bundle = Bundle(settings, store=store, dispatcher=no_dispatch)
        provider = bundle.providers.get("cloudwatch")
        in_calls = timed_calls(provider)  # a warm container: client built before the clock
        began, used = time.monotonic(), time.thread_time()
        ids = [exports.accept(store, bundle.providers, {
            "provider": "cloudwatch", "params": {
                "logGroupName": GROUP, "from": now_ms - 3_600_000 + i, "to": now_ms + 60_000}},
            poll_interval_s=settings.poll_interval_s).task.id for i in range(tasks)]
        settled = 0
        while settled < tasks and time.monotonic() - began < timeout_s:
            stats = bundle.poller.tick(deadline=time.monotonic() + 30,
                                       owner=f"bench-{uuid.uuid4().hex[:6]}")
            settled += stats.ready + stats.failed
            if not stats.claimed:
                time.sleep(0.1)
        wall, cpu = time.monotonic() - began, time.thread_time() - used
        ready = sum(store.get_task(i).state is TaskState.READY for i in ids)
        api = getattr(provider, "api", None)
        calls = sum(api.calls.values()) if api is not None else 0
        return (f"bench poll: provider=cloudwatch variant=queued tasks={tasks} groups=1 "
                f"backend=sqlite pollers=1 calls={calls} "
                f"calls_per_task={calls / max(tasks, 1):.3f} wall_s={wall:.1f} "
                f"cpu_ms_per_task={cpu * 1000 / max(settled, 1):.2f} "
                f"cpu_ms_per_call={in_calls[0] * 1000 / max(calls, 1):.2f} settled={ready}")
    finally:
        store.close()
