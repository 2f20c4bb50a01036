"""What the destination's write options cost each object written: the check after writing
(a HEAD, and the object's tags when tags are asked).

    python bench/bench_protect.py [--objects 200]

``protect``: requests and median milliseconds per small object (``put_object``, as the
manifest and small members are written) into a bucket of moto's server, without write
options (``baseline``), with encryption and a storage class (``sse_class``: one HEAD more)
and with tags and Object Lock retention too (``all``: a HEAD and a GetObjectTagging more).
moto runs on 127.0.0.1, so the times are the client side's and the local server's, not the
cloud's latency; the request ratio is what carries over. ``store=oss`` lines are the same
through the sandbox's OSS gateway (alibabacloud-oss-v2, V4-signed) in front of moto, without
retention (OSS's WORM is a bucket's policy, refused as a write option).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = {
    "baseline": {},
    "sse_class": {"sse": "AES256", "storage_class": "STANDARD_IA"},
    "all": {"sse": "AES256", "storage_class": "STANDARD_IA", "tags": {"team": "data"},
            "retention": {"mode": "GOVERNANCE", "days": 1}},
}


def measure(store: Any, objects: int) -> tuple[float, float]:
    """(requests per object, median ms per object) of ``objects`` small puts."""
    sent = [0]
    store.client.meta.events.register("before-send.s3.*", lambda **_: sent.__setitem__(
        0, sent[0] + 1))
    times = []
    body = os.urandom(2048)
    for i in range(objects):
        began = time.perf_counter()
        store.put_object(f"bench/{i:05d}.csv", body)
        times.append((time.perf_counter() - began) * 1000)
    return sent[0] / objects, statistics.median(times)


OSS_CASES = {
    "baseline": {},
    "sse_class": {"sse": "AES256", "storage_class": "IA"},
    "all": {"sse": "AES256", "storage_class": "IA", "tags": {"team": "data"}},
}


def measure_oss(store: Any, gateway: Any, objects: int) -> tuple[float, float]:
    """As :func:`measure`, the requests counted by the OSS gateway."""
    before = len(gateway.requests)
    times = []
    body = os.urandom(2048)
    for i in range(objects):
        began = time.perf_counter()
        store.put_object(f"bench/{i:05d}.csv", body)
        times.append((time.perf_counter() - began) * 1000)
    return (len(gateway.requests) - before) / objects, statistics.median(times)


def oss_results(objects: int) -> dict[str, tuple[float, float]]:
    import alibabacloud_oss_v2 as oss

    from sandbox import servers
    from sandbox.oss_gateway import OssGateway
    from shared.storage.oss import OssObjectStore
    from shared.write_options import write_options

    keys = ("LTAIbench000001", "bench-secret")
    moto = servers.start_moto(servers.OSS_MIN_PART)
    gateway = OssGateway(moto.url, region="cn-hangzhou", credentials={keys[0]: keys[1]}).start()
    try:
        results = {}
        for name, options in OSS_CASES.items():
            bucket = servers.unique_name("bench").replace("_", "-").lower()
            store = OssObjectStore(bucket, region="cn-hangzhou", prefix="p",
                                   endpoint=gateway.endpoint, access_key_id=keys[0],
                                   access_key_secret=keys[1],
                                   write=write_options("BENCH", options))
            store.client.put_bucket(oss.PutBucketRequest(bucket=bucket))
            results[name] = measure_oss(store, gateway, objects)
        return results
    finally:
        gateway.stop()
        moto.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=200)
    args = parser.parse_args()

    from sandbox import servers
    from shared.storage.s3 import S3ObjectStore
    from shared.write_options import write_options

    os.environ.update(servers.aws_test_env())
    moto = servers.start_moto()
    try:
        results = {}
        for name, options in CASES.items():
            bucket = servers.unique_name("bench").replace("_", "-")
            store = S3ObjectStore(bucket, "p", endpoint_url=moto.url, region="us-east-1",
                                  write=write_options("BENCH", options))
            store.client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
            results[name] = measure(store, args.objects)
    finally:
        moto.stop()
    base_requests, base_ms = results["baseline"]
    for name, (requests, ms) in results.items():
        print(f"bench protect: case={name} objects={args.objects} "
              f"requests_per_object={requests:.2f} ms_per_object={ms:.2f} "
              f"request_ratio={requests / base_requests:.2f} time_ratio={ms / base_ms:.2f}")
    oss = oss_results(args.objects)
    base_requests, base_ms = oss["baseline"]
    for name, (requests, ms) in oss.items():
        print(f"bench protect: store=oss case={name} objects={args.objects} "
              f"requests_per_object={requests:.2f} ms_per_object={ms:.2f} "
              f"request_ratio={requests / base_requests:.2f} time_ratio={ms / base_ms:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
