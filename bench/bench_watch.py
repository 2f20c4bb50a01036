"""What looking for stalls and long waits adds to a timer tick (shared/webhooks/watch.py).

    python bench/bench_watch.py [--tasks 5000]

A tick hands ``watch.look`` the exports it claimed; the look reads nothing more from the
store and writes only when it raises an event (the watch notes go out with the tick's own
save of each task). Measured on ``--tasks`` submitted exports in a SQLite store:

* ``look_us_per_task`` — one look over all of them (nothing due: the common case), per task;
* ``save_us_per_task`` — the baseline, the save the tick makes of each claimed task anyway
  (``update_task``, one SQLite transaction each), per task;
* ``ratio`` — look / save; ``store_calls`` — calls the look made to the store (0 expected).

Prints one line: ``bench watch: tasks=… look_us_per_task=… save_us_per_task=… ratio=…
store_calls=…``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shared.config import Settings  # noqa: E402
from shared.model import ExportTask, TaskState  # noqa: E402
from shared.state import open_store  # noqa: E402
from shared.state.base import TaskStore  # noqa: E402
from shared.webhooks import watch  # noqa: E402

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)


class Counting:
    """The store, counting every call made to it."""

    def __init__(self, store: TaskStore) -> None:
        self.store, self.calls = store, 0

    def __getattr__(self, name: str) -> Any:
        self.calls += 1
        return getattr(self.store, name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=5000)
    n = parser.parse_args().tasks
    settings = Settings(profile="sandbox", auth="none")
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        tasks = []
        for i in range(n):
            stored, _ = store.insert_task(ExportTask(
                provider=("cls", "dlc", "tcss", "dms")[i % 4], params={"TopicId": f"t-{i}"},
                state=TaskState.SUBMITTED, stage="processing", progress=i % 100))
            tasks.append(stored)
        watch.look(store, settings, tasks, T0)  # first sight: every mark noted
        counting = Counting(store)
        started = time.perf_counter()
        watch.look(counting, settings, tasks, T0)  # type: ignore[arg-type]
        look_s = time.perf_counter() - started
        started = time.perf_counter()
        for task in tasks:
            store.update_task(task)
        save_s = time.perf_counter() - started
        store.close()
    look_us, save_us = look_s / n * 1e6, save_s / n * 1e6
    print(f"bench watch: tasks={n} look_us_per_task={look_us:.1f} "
          f"save_us_per_task={save_us:.1f} ratio={look_us / save_us:.3f} "
          f"store_calls={counting.calls}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
