"""What reading settings from secret stores costs a cold start, and a warm invocation.

    python bench/bench_secrets.py [--rounds 30]

``secrets_coldstart``: the median time of ``read_settings`` (a cold start's settings
read) with three settings naming one Tencent Secrets Manager secret (the sandbox's SSM
emulation over real HTTP, TC3-signed; one ListSecretVersionIds and one GetSecretValue) and
with the same three naming an AWS Secrets Manager secret (moto's server), against the same
settings as plain environment values (``baseline``). The stores run on 127.0.0.1, so the
numbers are the client side's cost (SDK, signing, parsing), not the clouds' latency.

``secrets_warm``: the median cost per warm invocation of ``functions.common.bundle()`` (the
TTL check) with references, against the same call without any (``baseline``).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# strong values, as the settings demand: keys of 32+ characters, a 24-byte webhook key
KEYS = f"{secrets.token_urlsafe(24)},{secrets.token_urlsafe(24)}"
WEBHOOK = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def median_ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    from sandbox import Sandbox, servers
    from shared.bundle import read_settings
    from shared.config import Settings
    from shared.secret_stores.resolve import SecretStores

    folder = tempfile.mkdtemp(prefix="bench-secrets-")
    dsn = f"sqlite:///{folder}/state.db"
    base = {"COURIER_PROFILE": "sandbox", "COURIER_DESTINATION": f"file://{folder}/bucket"}
    plain = {**base, "COURIER_API_KEYS": KEYS, "COURIER_WEBHOOK_SECRETS": WEBHOOK,
             "COURIER_STATE_URL": dsn}
    document = json.dumps({"keys": KEYS, "webhook": WEBHOOK, "dsn": dsn})

    def refs(scheme: str) -> dict[str, str]:
        return {"COURIER_API_KEYS": f"{scheme}:courier#keys",
                "COURIER_WEBHOOK_SECRETS": f"{scheme}:courier#webhook",
                "COURIER_STATE_URL": f"{scheme}:courier#dsn"}

    with Sandbox(port=0, rate_limit=None) as sb:
        sb.ssm.put("courier", document)
        tencent = {**base, **refs("tencent-ssm"), "TENCENTCLOUD_SECRETID": sb.secret_id,
                   "TENCENTCLOUD_SECRETKEY": sb.secret_key, "COURIER_TENCENT_ENDPOINT": sb.url}
        moto = servers.start_moto()
        try:
            os.environ.update(servers.aws_test_env())
            import boto3

            boto3.client("secretsmanager", endpoint_url=moto.url, region_name="us-east-1") \
                .create_secret(Name="courier", SecretString=document)
            aws = {**base, **refs("secretsmanager"), "COURIER_AWS_SECRETS_ENDPOINT": moto.url,
                   "AWS_REGION": "us-east-1"}
            for env in (tencent, aws):  # the values are right before anything is timed
                got = read_settings(env)
                assert got.api_keys == tuple(KEYS.split(",")) and got.state_url == dsn
            baseline = median_ms(lambda: Settings.from_env(plain), args.rounds)
            tc_ms = median_ms(lambda: read_settings(tencent, stores=SecretStores()),
                              args.rounds)
            aws_ms = median_ms(lambda: read_settings(aws, stores=SecretStores()),
                               args.rounds)
            print(f"bench secrets_coldstart: baseline_ms={baseline:.2f} "
                  f"tencent_ssm_ms={tc_ms:.2f} tencent_ratio={tc_ms / baseline:.1f} "
                  f"secretsmanager_ms={aws_ms:.2f} aws_ratio={aws_ms / baseline:.1f} "
                  f"settings=3 rounds={args.rounds}")
            warm(plain, tencent, args.rounds)
        finally:
            moto.stop()
    return 0


def warm(plain: dict[str, str], referenced: dict[str, str], rounds: int) -> None:
    from functions import common

    def per_call_us(env: dict[str, str]) -> float:
        os.environ.update(env)
        common.reset()
        common.bundle()  # the cold start
        calls = 2000
        samples = []
        for _ in range(rounds):
            began = time.perf_counter()
            for _ in range(calls):
                common.bundle()
            samples.append((time.perf_counter() - began) / calls * 1e6)
        for name in env:
            os.environ.pop(name, None)
        common.reset()
        return statistics.median(samples)

    baseline = per_call_us(plain)
    with_refs = per_call_us(referenced)
    print(f"bench secrets_warm: baseline_us={baseline:.3f} referenced_us={with_refs:.3f} "
          f"ratio={with_refs / baseline:.2f} calls_per_round=2000 rounds={rounds}")


if __name__ == "__main__":
    sys.exit(main())
