"""``courier`` — run the demo, the sandbox, or any handler with a sample event.

    courier demo                     the whole round trip on this machine
    courier sandbox [--port N]       the provider emulators, in the foreground
    courier invoke FUNCTION EVENT    run create|poll|complete with an event file
    courier schedules list|backfill  the schedules; past windows made once each
    courier deploy scf [--dry-run]   create or update the SCF functions of serverless.yml
"""

from __future__ import annotations

import argparse
import json
import sys

from courier import schedules_cmd
from courier.local import FUNCTIONS, invoke


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="courier", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run every export end to end against the sandbox")
    demo.add_argument("--timeout", type=float, default=55.0)
    sb = sub.add_parser("sandbox", help="run the provider emulators in the foreground")
    sb.add_argument("--port", type=int, default=8700)
    inv = sub.add_parser("invoke", help="run a handler locally with an event file")
    inv.add_argument("function", choices=sorted(FUNCTIONS))
    inv.add_argument("event", help="path to an event JSON file (see events/)")
    inv.add_argument("--timeout", type=float, default=60.0)
    schedules_cmd.add(sub)
    from courier import deploy

    deploy.add_parser(sub)
    args = parser.parse_args(argv)

    if args.command == "demo":
        from courier.demo import run

        return run(timeout_s=args.timeout)
    if args.command == "schedules":
        return schedules_cmd.run(args)
    if args.command == "deploy":
        return deploy.run(args)
    if args.command == "sandbox":
        import sandbox

        return int(sandbox.main(["--port", str(args.port)]) or 0)
    try:
        with open(args.event, encoding="utf-8") as fh:
            event = json.load(fh)
    except (OSError, ValueError) as exc:
        print(f"courier: cannot read event {args.event}: {exc}", file=sys.stderr)
        return 2
    result = invoke(args.function, event, args.timeout)
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
