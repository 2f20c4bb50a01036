"""Splitting a CLS window over the 50,000,000-log cap: SearchLog counts, parts, create time.

    python bench/bench_cls_split.py

For each shape of window (logs spread evenly, one burst, many bursts) an export is accepted
through the real CLS SDK against the sandbox (SQLite state in a temporary folder), exactly as
the create function does it: the window is counted, planned and every part created. It
prints one line per case::

    bench cls_split: case=even logs=… parts=… min_parts=… parts_ratio=… counts=…
      counts_per_part=… creates=… create_s=… baseline_s=… create_ratio=…

* ``min_parts`` — the fewest exports the window could take, ``ceil(logs / cap)`` (a lower
  bound: a burst may force more); ``parts_ratio = parts / min_parts``.
* ``counts`` — SearchLog calls (the window's own count included); ``creates`` —
  CreateExport calls (one per part: none made twice).
* ``baseline_s`` — in the same run, the accept of a window under the cap (one count, one
  create); ``create_ratio = create_s / baseline_s``.
"""

from __future__ import annotations

import logging
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOUR_MS = 3_600_000
CAP = 50_000_000

# name: (logs per second, bursts as (ms after From, logs))
CASES: dict[str, tuple[float, list[tuple[int, int]]]] = {
    "even": (100_000.0, []),  # 360,000,000 logs: 8 exports at least
    "one-burst": (10_000.0, [(600_000, 45_000_000)]),
    "many-bursts": (2_000.0, [(i * 300_000 + 7, 20_000_000) for i in range(12)]),
}


def accept_once(bundle: Any, sb: Any, topic: str) -> tuple[float, Any]:
    from shared import exports

    now = int(time.time() * 1000)
    body = {"provider": "cls", "params": {"TopicId": topic, "From": now - HOUR_MS, "To": now}}
    began = time.perf_counter()
    task = exports.accept(bundle.store(), bundle.providers, body).task
    return time.perf_counter() - began, task


def main() -> int:
    from sandbox import Sandbox
    from shared.bundle import Bundle
    from shared.config import Settings
    from shared.vendor_settings import TencentSettings

    logging.disable(logging.WARNING)
    lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        sb = Sandbox(port=0, queue_s=1.0, process_s=2.0, file_size=1024).start()
        try:
            settings = Settings(
                state_url=f"sqlite:///{Path(tmp) / 'state.db'}", profile="sandbox",
                destination=f"file://{Path(tmp) / 'bucket'}",
                tencent=TencentSettings(secret_id=sb.secret_id, secret_key=sb.secret_key,
                                        token=None, region="ap-guangzhou", endpoint=sb.url))
            bundle = Bundle(settings)
            sb.cls.log_rates["topic-calm"] = 100.0
            baseline_s, calm = accept_once(bundle, sb, "topic-calm")
            assert calm.state.value == "submitted", calm.error
            for name, (rate, bursts) in CASES.items():
                topic = f"topic-{name}"
                sb.cls.log_rates[topic] = rate
                start = int(time.time() * 1000) - HOUR_MS + 5_000
                sb.cls.log_spikes[topic] = [(start + at, n) for at, n in bursts]
                counts0 = sb.calls.get(("cls", "SearchLog"), 0)
                creates0 = sb.calls.get(("cls", "CreateExport"), 0)
                create_s, task = accept_once(bundle, sb, topic)
                if task.state.value != "submitted":
                    lines.append(f"bench cls_split: case={name} failed: {task.error}")
                    continue
                parts = task.remote["parts"]
                logs = int(task.remote["log_count"])
                counts = sb.calls.get(("cls", "SearchLog"), 0) - counts0
                creates = sb.calls.get(("cls", "CreateExport"), 0) - creates0
                min_parts = math.ceil(logs / CAP)
                lines.append(
                    f"bench cls_split: case={name} logs={logs} parts={len(parts)} "
                    f"min_parts={min_parts} parts_ratio={len(parts) / min_parts:.2f} "
                    f"counts={counts} counts_per_part={counts / len(parts):.2f} "
                    f"creates={creates} create_s={create_s:.2f} baseline_s={baseline_s:.3f} "
                    f"create_ratio={create_s / baseline_s:.1f}")
            bundle.store().close()
        finally:
            sb.stop()
    for line in lines:
        print(line)
    return 1 if any("failed" in line for line in lines) else 0


if __name__ == "__main__":
    raise SystemExit(main())
