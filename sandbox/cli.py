"""``python -m sandbox`` (or ``courier sandbox``): run the sandbox until Ctrl-C.

It prints ``export NAME=value`` lines: everything a shell needs to drive Export Courier's
handlers against it by hand, the local state and bucket and the sandbox profile included.

With moto installed it also starts the COS and OSS gateways (:mod:`sandbox.cos_gateway`,
:mod:`sandbox.oss_gateway`) in front of one moto, each with a bucket made, and prints their
endpoints (``COURIER_COS_ENDPOINT``, ``COURIER_OSS_ENDPOINT``) and the ``cos://`` and
``oss://`` destinations that land in them. The gateways take the sandbox's keys: the Tencent
pair for COS, the Alibaba pair (DMS's) for OSS, as Courier signs with them.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable, Sequence
from typing import Optional

COS_BUCKET = "courier-local-1250000000"  # COS names a bucket <name>-<APPID>
OSS_BUCKET = "courier-local"
COS_REGION = "ap-guangzhou"
OSS_REGION = "cn-hangzhou"


class Buckets:
    """The COS and OSS gateways of ``courier sandbox`` in front of one moto, a bucket in
    each, taking the sandbox's Tencent keys (COS) and Alibaba keys (OSS): ``exports`` (the
    endpoint settings), ``destinations`` (a URL for each) and ``stop``."""

    def __init__(self, tencent: tuple[str, str], alibaba: tuple[str, str]) -> None:
        import requests

        from sandbox.cos_gateway import CosGateway
        from sandbox.oss_gateway import OssGateway
        from sandbox.servers import OSS_MIN_PART, start_moto

        # each gateway checks its own cloud's part minimum; moto takes down to the smaller
        self._moto = start_moto(OSS_MIN_PART)
        self._stops: list[Callable[[], None]] = [self._moto.stop]
        try:
            self.cos = CosGateway(self._moto.url, region=COS_REGION,
                                  credentials=dict([tencent])).start()
            self._stops.insert(0, self.cos.stop)
            self.oss = OssGateway(self._moto.url, region=OSS_REGION,
                                  credentials=dict([alibaba])).start()
            self._stops.insert(0, self.oss.stop)
            for bucket in (COS_BUCKET, OSS_BUCKET):  # made in moto, as a console would
                requests.put(f"{self._moto.url}/{bucket}", timeout=10).raise_for_status()
        except BaseException:
            self.stop()
            raise

    @property
    def exports(self) -> list[tuple[str, str]]:
        return [("COURIER_COS_ENDPOINT", self.cos.endpoint),
                ("COURIER_OSS_ENDPOINT", self.oss.endpoint)]

    @property
    def destinations(self) -> list[str]:
        return [f"cos://{COS_BUCKET}/exports?region={COS_REGION}",
                f"oss://{OSS_BUCKET}/exports?region={OSS_REGION}"]

    def stop(self) -> None:
        for stop in self._stops:
            stop()
        self._stops = []


def main(argv: Optional[Sequence[str]] = None, prog: str = "python -m sandbox") -> int:
    from sandbox.core import Sandbox

    parser = argparse.ArgumentParser(prog=prog,
                                     description="Local emulator of the provider APIs "
                                     "(Tencent Cloud API 3.0, DMS, COS and OSS gateways)",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--port", type=int, default=8700, help="port on 127.0.0.1 (0 = any)")
    parser.add_argument("--queue-s", type=float, default=5.0, help="seconds a task queues")
    parser.add_argument("--process-s", type=float, default=10.0,
                        help="seconds a task processes")
    parser.add_argument("--file-size", type=int, default=64 * 1024,
                        help="bytes in each result file")
    parser.add_argument("--rate-limit", type=int, default=20,
                        help="requests per second per action (0 = unlimited)")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="sandbox seconds per real second (e.g. 60 = a minute a second)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument("--state", default=".courier/state.db",
                        help="SQLite file for Export Courier's state (printed as "
                        "COURIER_STATE_URL)")
    parser.add_argument("--bucket", default=".courier/bucket",
                        help="folder the exports land in (printed as COURIER_DESTINATION)")
    parser.add_argument("--poll-interval", type=float, default=2.0,
                        help="seconds between looks at a pending export (printed as "
                        "COURIER_POLL_INTERVAL_S; the deployed default is 30)")
    args = parser.parse_args(list(argv) if argv is not None else None)
    sb = Sandbox(port=args.port, queue_s=args.queue_s, process_s=args.process_s,
                 file_size=args.file_size, rate_limit=args.rate_limit, verbose=args.verbose,
                 time_scale=args.time_scale)
    sb.start()
    secret_id, secret_key = sb.credentials
    ali_key, ali_secret = sb.dms.credentials
    buckets = _buckets((secret_id, secret_key), (ali_key, ali_secret))
    print(f"sandbox listening on {sb.url}", flush=True)
    print("point Export Courier at it with:", flush=True)
    state, bucket = os.path.abspath(args.state), os.path.abspath(args.bucket)
    for name, value in (("COURIER_PROFILE", "sandbox"), ("COURIER_AUTH", "none"),
                        ("COURIER_STATE_URL", f"sqlite:///{state}"),
                        ("COURIER_DESTINATION", f"file://{bucket}"),
                        ("COURIER_POLL_INTERVAL_S", f"{args.poll_interval:g}"),
                        ("TENCENTCLOUD_SECRETID", secret_id),
                        ("TENCENTCLOUD_SECRETKEY", secret_key),
                        ("COURIER_TENCENT_ENDPOINT", sb.url),
                        ("ALIBABA_CLOUD_ACCESS_KEY_ID", ali_key),
                        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ali_secret),
                        ("COURIER_DMS_ENDPOINT", sb.url),
                        ("COURIER_ALLOW_PRIVATE_HOSTS", "127.0.0.1"),
                        *(buckets.exports if buckets else [])):
        print(f"  export {name}={shlex.quote(value)}", flush=True)
    if buckets is not None:
        print("or land the exports in a bucket of the COS or OSS gateway: COURIER_DESTINATION="
              + " or ".join(buckets.destinations), flush=True)
    print(f"approve a DMS ticket: curl -X POST {sb.url}/_sandbox/dms/approve "
          "-d '{\"OrderId\": N}'", flush=True)
    print(f"time scale {sb.clock.time_scale:g} (sandbox seconds per real second)", flush=True)
    print("Ctrl-C to stop", flush=True)
    try:
        sb.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        if buckets is not None:
            buckets.stop()
        sb.stop()
    return 0


def _buckets(tencent: tuple[str, str], alibaba: tuple[str, str]) -> Optional[Buckets]:
    """The COS and OSS gateways, or None (said on stderr) when moto is not installed."""
    from sandbox.servers import ServerUnavailable

    try:
        return Buckets(tencent, alibaba)
    except ServerUnavailable as exc:
        print(f"no COS or OSS gateway: {exc}", file=sys.stderr, flush=True)
        return None
