"""A real local webhook receiver: ThreadingHTTPServer on 127.0.0.1:0 in a thread; and the
two calls the delivery tests make (queue an event, run one delivery pass)."""

from __future__ import annotations

import base64
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shared.config import Settings
from shared.model import ExportTask, TaskState
from shared.state.base import TaskStore
from shared.webhooks import delivery

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Plan:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class Receiver:
    """Records every request; answers with the planned responses in order, then ``default``."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.plan: list[Plan] = []
        self.default = Plan(200)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver.lock:
                    receiver.requests.append(Seen(self.command, self.path,
                                                  {k.lower(): v for k, v in self.headers.items()},
                                                  body))
                    plan = receiver.plan.pop(0) if receiver.plan else receiver.default
                self.send_response(plan.status)
                for k, v in plan.headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_POST = _serve  # noqa: N815
            do_GET = _serve  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.02}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def respond(self, *plans: Plan | int) -> None:
        with self.lock:
            self.plan.extend(p if isinstance(p, Plan) else Plan(p) for p in plans)

    def posts(self, path: str | None = None) -> list[Seen]:
        with self.lock:
            return [r for r in self.requests
                    if r.method == "POST" and (path is None or r.path == path)]

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def make_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def run(store: TaskStore, settings: Settings, now: Any, **kw: Any) -> delivery.DeliveryStats:
    """One delivery pass as worker ``test`` at simulated time ``now``."""
    return delivery.deliver_due(store, settings, owner="test", now=now, **kw)


def enqueue(store: TaskStore, task: ExportTask, url: str, event: str = "export.delivered",
            now: Any = T0) -> Any:
    """Queue one event of ``task`` for ``url``; the delivery."""
    data = {"export_id": task.id, "provider": task.provider, "state": task.state.value}
    (d,) = delivery.enqueue_event(store, task, event, data, [url], now=now)
    return d


def other_task(store: TaskStore) -> ExportTask:
    """A second, failed task in ``store``."""
    stored, _ = store.insert_task(ExportTask(provider="cls", params={},
                                             state=TaskState.FAILED))
    return stored
