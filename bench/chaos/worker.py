"""One container of the chaos run, in its own process until it is killed.

``python -m bench.chaos.worker poll NAME``: the poll timer firing again and again (the real
``functions.poll_tasks`` handler, an SCF-shaped context with a fresh request id each time).

``python -m bench.chaos.worker complete NAME``: the complete function; each line on stdin is
one asynchronous event, run through the real ``functions.complete_export`` handler.

The process's own stdout carries one protocol line per event (``start ID``, ``done ID``,
``error ID``) for the platform (:mod:`bench.chaos.fleet`); everything the bundle prints goes
to stderr.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[2] / "events"
TICK_GAP_S = 0.4  # between timer firings
# each invocation's budget: the functions' timeouts in serverless.yml
TIME_LIMIT_MS = {"poll": 90_000, "complete": 900_000}
READS_ENV = "CHAOS_READS"  # the file the copies' source reads are noted in


def context(name: str, seq: int, function: str) -> dict[str, Any]:
    return {"request_id": f"{name}-{seq}", "time_limit_in_ms": TIME_LIMIT_MS[function],
            "function_name": function}


def count_reads(path: str) -> None:
    """Note every part the copy reads from a sandbox file, before and after the read
    (``B token start`` / ``E token start end``), appended to ``path``: after a SIGKILL the
    run knows what this process had read — a begun, unfinished read counts as a whole part."""
    from urllib.parse import unquote, urlsplit

    from shared.storage import reading

    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    original = reading.SourceParts.read_into

    def token(self: Any) -> str:
        source = getattr(self.reader, "source", None)
        parts = urlsplit(str(getattr(source, "url", ""))).path.split("/")
        return unquote(parts[2]) if len(parts) > 3 and parts[1] == "files" else ""

    def read_into(self: Any, body: Any, buf: bytearray, offset: int, want: int) -> int:
        name = token(self)
        if name:
            os.write(fd, f"B {name} {offset} {len(buf)}\n".encode())
        n = original(self, body, buf, offset, want)
        if name:
            os.write(fd, f"E {name} {offset} {offset + n}\n".encode())
        return n

    reading.SourceParts.read_into = read_into  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    kind, name = argv[0], argv[1]
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # the bundle's logs go to stderr
    if os.environ.get(READS_ENV):
        count_reads(os.environ[READS_ENV])
    from functions import complete_export, poll_tasks

    seq = 0
    parent = os.getppid()
    if kind == "poll":
        timer = json.loads((EVENTS / "scf_timer.json").read_text())
        while os.getppid() == parent:  # a run that ends, however it ends, ends its processes
            seq += 1
            try:
                poll_tasks.handler(timer, context(name, seq, "poll"))
            except Exception:  # noqa: BLE001 - counted by the run: a handler must not raise
                traceback.print_exc()
                print(f"error tick-{seq}", file=proto)
            time.sleep(TICK_GAP_S)
        return 0
    print("ready", file=proto)
    for line in sys.stdin:  # ends when the run's end (or death) closes the pipe
        event = json.loads(line)
        export_id = str(event.get("export_id"))
        seq += 1
        print(f"start {export_id}", file=proto)
        try:
            complete_export.handler(event, context(name, seq, "complete"))
        except Exception:  # noqa: BLE001 - counted by the run
            traceback.print_exc()
            print(f"error {export_id}", file=proto)
            continue
        print(f"done {export_id}", file=proto)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
