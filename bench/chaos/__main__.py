"""``make chaos``: several hundred exports over every provider against the sandbox, with its
faults, a webhook receiver that fails for a while and SIGKILLs of poll and complete processes
(some mid-copy), on PostgreSQL with async dispatch and on SQLite with inline completion.

Prints one ``bench chaos:`` line per configuration and a total; exits 1 when anything was
lost, stuck or made twice (at the providers, in the bucket, at the webhook receiver), or a
bound was broken (bytes re-read per kill above the parts a copy may have in flight, recovery
after a kill above 120 s).

``CHAOS_SCALE`` (default 1) shrinks or grows the run: 0.1 is a quick look while developing.
``CHAOS_CONFIGS`` picks configurations (comma-separated; default both).
``CHAOS_LOG`` names a file for the processes' logs (default: a temporary file, removed).
"""

from __future__ import annotations

import json
import os
import sys
import time

from bench.chaos.run import Scale, line, run_config
from bench.chaos.world import CONFIGS

TOTAL_KEYS = ("accepted", "delivered", "failed", "stuck", "lost", "dup_provider_tasks",
              "files_verified", "dup_objects", "webhook_dups_after_2xx", "dead_letters",
              "kills", "kills_mid_copy")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0
    try:
        factor = float(os.environ.get("CHAOS_SCALE") or 1)
    except ValueError:
        print("CHAOS_SCALE must be a number (1 = the standing run)", file=sys.stderr)
        return 2
    names = [n.strip() for n in (os.environ.get("CHAOS_CONFIGS") or ",".join(CONFIGS)).split(",")
             if n.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown or factor <= 0:
        print(f"CHAOS_CONFIGS: choose from {', '.join(CONFIGS)}; CHAOS_SCALE > 0",
              file=sys.stderr)
        return 2
    scale = Scale.of(factor)
    started = time.monotonic()
    failures = 0
    totals: dict[str, float] = {}
    log_path = os.environ.get("CHAOS_LOG")
    for name in names:
        log = open(log_path, "a") if log_path else None  # noqa: SIM115 - closed below
        try:
            counts, broken = run_config(CONFIGS[name], scale, log=log)
        finally:
            if log is not None:
                log.close()
        print(line(name, counts), flush=True)
        detail = counts["_detail"]
        if broken:
            failures += 1
            print(f"chaos {name}: BROKEN: {'; '.join(broken)}", flush=True)
            print(f"chaos {name}: detail {json.dumps(detail)}", flush=True)
        for key in TOTAL_KEYS:
            totals[key] = totals.get(key, 0) + counts.get(key, 0)
        for key in ("recovery_max_s", "bytes_reread_per_kill", "part_bytes",
                    "parts_in_flight"):
            totals[key] = max(totals.get(key, 0), counts.get(key, 0))
    totals["wall_s"] = round(time.monotonic() - started, 1)
    print(line("total", {k: (int(v) if float(v).is_integer() else v)
                         for k, v in totals.items()}), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
