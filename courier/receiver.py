"""A local webhook receiver that verifies Standard Webhooks signatures and records deliveries.

Used by the demo and the tests. It can be told to fail (``fail_next``), to answer 429 with a
``Retry-After`` or 410, so the retry paths can be exercised against a real HTTP peer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Received:
    webhook_id: str
    event_type: str | None
    payload: dict[str, Any]
    verified: bool
    status: int
    at: float = 0.0  # time.time() when the request arrived


@dataclass
class Receiver:
    secret: str  # whsec_… the receiver verifies with
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0  # answer 500 to this many requests
    answer: tuple[int, dict[str, str]] | None = None  # fixed answer (e.g. 429 + Retry-After)
    # scripted answers: webhook-id -> (status, seconds to wait before answering)
    script: Callable[[str], tuple[int, float]] | None = None
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, extra = receiver._decide()
                if receiver.script is not None and status < 300:
                    status, delay = receiver.script(self.headers.get("webhook-id", ""))
                    time.sleep(delay)
                verified = True
                try:
                    Webhook(receiver.secret).verify(body, {k.lower(): v for k, v
                                                           in self.headers.items()})
                except Exception:  # noqa: BLE001 - any verification failure counts
                    verified = False
                    status = 400 if status < 300 else status
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {}
                with receiver._lock:
                    receiver.received.append(Received(
                        self.headers.get("webhook-id", ""), payload.get("type"), payload,
                        verified, status, arrived))
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _decide(self) -> tuple[int, dict[str, str]]:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 500, {}
            if self.answer is not None:
                return self.answer
        return 204, {}

    def delivered(self) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.status < 300 and r.verified]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
