"""Each webhook attempt ends by its deadline, against real slow subscribers on loopback: one
that sends its answer's header lines a few tenths of a second apart (every read well within
the read timeout) is cut off at the attempt's own limit or at the run's deadline, whichever
comes first; the attempt is recorded as timed out and retried later. A subscriber whose name
rebinds to another loopback address after the check is refused where the connection lands."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from shared.config import Settings
from shared.model import DeliveryState, ExportTask
from shared.state.base import TaskStore
from shared.webhooks import delivery
from tests.integration.storage.copy_support import rebinding
from tests.integration.webhooks.webhook_support import T0, enqueue, run

pytestmark = pytest.mark.timeout(30)

LINES = 25  # header lines, LINE_GAP_S apart: 10 s for the whole answer
LINE_GAP_S = 0.4


class Dripping(BaseHTTPRequestHandler):
    """Answers 200, one header line at a time."""

    protocol_version = "HTTP/1.1"
    requests: list[str] = []

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).requests.append(self.path)
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            for i in range(LINES):
                self.wfile.flush()
                time.sleep(LINE_GAP_S)
                self.wfile.write(f"X-Slow-{i}: {i}\r\n".encode())
            self.wfile.write(b"Content-Length: 0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            return  # the sender hung up

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


def serve(host: str) -> Iterator[str]:
    Dripping.requests = []
    server = ThreadingHTTPServer((host, 0), Dripping)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def slow_url() -> Iterator[str]:
    yield from serve("127.0.0.1")


@pytest.fixture
def inside_url() -> Iterator[str]:
    yield from serve("127.0.0.2")


@pytest.mark.parametrize("limit", ["attempt", "run"])
def test_a_subscriber_that_drips_its_answer_is_cut_off(
        store: TaskStore, settings: Settings, task: ExportTask, slow_url: str, limit: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a delivery to a subscriber that takes 10 s to answer, a line at a time
    d = enqueue(store, task, slow_url + "/hook")
    started = time.monotonic()
    # WHEN it is attempted with 1.5 s: the attempt's own limit, or the run's deadline
    if limit == "attempt":
        monkeypatch.setattr(delivery, "REQUEST_TIMEOUT_S", 1.5)
        stats = run(store, settings, T0)
    else:
        stats = run(store, settings, T0, deadline=started + 1.5)
    # THEN the attempt ended by then, is recorded as timed out, and is due again later
    assert time.monotonic() - started < 3.5
    assert stats.attempted == 1 and stats.failed == 1 and Dripping.requests == ["/hook"]
    stored = store.get_delivery(d.id)
    assert stored.state is DeliveryState.PENDING and stored.due_at is not None
    assert stored.due_at > T0
    (attempt,) = stored.attempts
    assert attempt["status"] is None and attempt["error"].startswith("timeout")


def test_a_subscriber_whose_name_rebinds_is_refused(
        store: TaskStore, settings: Settings, task: ExportTask, inside_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a subscriber name that passes the check, then connects to 127.0.0.2
    host = "hooks.rebind.example"
    rebinding(monkeypatch, host)
    d = enqueue(store, task, inside_url.replace("127.0.0.2", host) + "/hook")
    # WHEN the delivery is attempted
    run(store, settings, T0)
    # THEN the connection was refused where it landed: nothing reached the server
    (attempt,) = store.get_delivery(d.id).attempts
    assert attempt["error"].startswith("refused") and "non-public" in attempt["error"]
    assert Dripping.requests == []
