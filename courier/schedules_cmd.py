"""``courier schedules list|backfill``: the schedules of this deployment's settings, and
past windows made on demand (against the state and providers the environment names)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add(sub: Any) -> None:
    sch = sub.add_parser("schedules", help="list schedules, or backfill past windows")
    verbs = sch.add_subparsers(dest="verb", required=True)
    verbs.add_parser("list", help="the schedules in COURIER_SCHEDULES and their last window")
    back = verbs.add_parser("backfill", help="create the windows of a schedule that end in "
                            "(--from, --to], once each",
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    back.add_argument("name")
    back.add_argument("--from", dest="start", required=True, help="ISO 8601 time")
    back.add_argument("--to", dest="end", required=True, help="ISO 8601 time")
    back.add_argument("--limit", type=int, default=1000, help="most windows to create")


def run(args: argparse.Namespace) -> int:
    from shared.bundle import Bundle
    from shared.clock import from_iso, to_iso
    from shared.config import Settings
    from shared.errors import CourierError

    try:
        bundle = Bundle(Settings.from_env())
        if args.verb == "list":
            from shared.schedules import SCHEDULE_KIND
            from shared.windows import parse_schedules

            for s in parse_schedules(bundle.settings.schedules):
                rec = bundle.store().get_record(SCHEDULE_KIND, s.name)
                print(json.dumps({"name": s.name, "provider": s.provider,
                                  "every_s": s.every_s, "cron": s.cron.text if s.cron else None,
                                  "timezone": str(s.tz),
                                  "last_window_end": rec.data.get("last_end") if rec else None}))
            return 0
        try:
            start, end = from_iso(args.start), from_iso(args.end)
        except ValueError:
            start = end = None
        if start is None or end is None:
            print("courier: --from and --to must be ISO 8601 times, e.g. 2026-11-01T00:00Z",
                  file=sys.stderr)
            return 2
        from shared.schedules import backfill

        outcomes = backfill(bundle.store(), bundle.providers, bundle.settings, args.name,
                            start, end, limit=args.limit)
    except CourierError as exc:
        print(f"courier: {exc}", file=sys.stderr)
        return 1
    for outcome in outcomes:
        print(json.dumps(outcome))
    print(f"{sum(1 for o in outcomes if o.get('created'))} created, "
          f"{sum(1 for o in outcomes if 'export_id' in o and not o.get('created'))} already "
          f"made, {sum(1 for o in outcomes if 'error' in o)} failed "
          f"({to_iso(start)} .. {to_iso(end)})", file=sys.stderr)
    return 1 if any("error" in o for o in outcomes) else 0
