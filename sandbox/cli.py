"""``python -m sandbox`` (or ``courier sandbox``): run the sandbox until Ctrl-C.

It prints ``export NAME=value`` lines: everything a shell needs to drive Export Courier's
handlers against it by hand, the local state and bucket and the sandbox profile included.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from typing import Optional


def main(argv: Optional[Sequence[str]] = None, prog: str = "python -m sandbox") -> int:
    from sandbox.core import Sandbox

    parser = argparse.ArgumentParser(prog=prog,
                                     description="Local emulator of the provider APIs "
                                     "(Tencent Cloud API 3.0, DMS, COS)",
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
                        ("COURIER_ALLOW_PRIVATE_HOSTS", "127.0.0.1")):
        print(f"  export {name}={shlex.quote(value)}", flush=True)
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
