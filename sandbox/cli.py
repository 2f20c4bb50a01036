"""``python -m sandbox``: run the sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Optional


def main(argv: Optional[Sequence[str]] = None) -> int:
    from sandbox.core import Sandbox

    parser = argparse.ArgumentParser(prog="python -m sandbox",
                                     description="Local emulator of the provider APIs "
                                     "(Tencent Cloud API 3.0, DMS, COS)")
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
    args = parser.parse_args(list(argv) if argv is not None else None)
    sb = Sandbox(port=args.port, queue_s=args.queue_s, process_s=args.process_s,
                 file_size=args.file_size, rate_limit=args.rate_limit, verbose=args.verbose,
                 time_scale=args.time_scale)
    sb.start()
    secret_id, secret_key = sb.credentials
    ali_key, ali_secret = sb.dms.credentials
    print(f"sandbox listening on {sb.url}", flush=True)
    print("point Export Courier at it with:", flush=True)
    for name, value in (("COURIER_PROFILE", "sandbox"), ("TENCENTCLOUD_SECRETID", secret_id),
                        ("TENCENTCLOUD_SECRETKEY", secret_key),
                        ("COURIER_TENCENT_ENDPOINT", sb.url),
                        ("ALIBABA_CLOUD_ACCESS_KEY_ID", ali_key),
                        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ali_secret),
                        ("COURIER_DMS_ENDPOINT", sb.url),
                        ("COURIER_ALLOW_PRIVATE_HOSTS", "127.0.0.1")):
        print(f"  export {name}={value}", flush=True)
    print(f"approve a DMS ticket: curl -X POST {sb.url}/_sandbox/dms/approve "
          "-d '{\"OrderId\": N}'", flush=True)
    print(f"time scale {sb.clock.time_scale:g} (sandbox seconds per real second)", flush=True)
    print("Ctrl-C to stop", flush=True)
    try:
        sb.serve_forever()
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    finally:
        sb.stop()
    return 0
