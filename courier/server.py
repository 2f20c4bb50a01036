"""The create function's HTTP API on 127.0.0.1, for ``courier ui`` and the tests.

Each request becomes the event a Lambda function URL sends (HTTP API v2 shape) and goes to
the real create handler's app (``bundle.api.handle``), one at a time, like one warm
container.
"""

from __future__ import annotations

import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from courier.local import LocalContext


def function_url_event(method: str, target: str, headers: dict[str, str],
                       body: bytes) -> dict[str, Any]:
    parts = urlsplit(target)
    return {
        "version": "2.0", "rawPath": parts.path, "rawQueryString": parts.query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "queryStringParameters": dict(parse_qsl(parts.query)) or None,
        "requestContext": {"http": {"method": method, "path": parts.path,
                                    "sourceIp": "127.0.0.1"},
                           "requestId": f"local-{secrets.token_hex(6)}", "stage": "$default"},
        "body": body.decode("utf-8", "replace"), "isBase64Encoded": False,
    }


class LocalApiServer:
    """``with LocalApiServer(bundle) as server: server.url``."""

    def __init__(self, bundle: Any, port: int = 0) -> None:
        self.bundle = bundle
        self.port = port
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    def answer(self, method: str, target: str, headers: dict[str, str],
               body: bytes) -> dict[str, Any]:
        with self.lock:
            return self.bundle.api.handle(function_url_event(method, target, headers, body),
                                          LocalContext(30))

    def start(self) -> LocalApiServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                out = server.answer(self.command, self.path, dict(self.headers.items()), body)
                payload = (out.get("body") or "").encode()
                self.send_response(int(out.get("statusCode", 500)))
                for k, v in (out.get("headers") or {}).items():
                    if k.lower() != "content-length":
                        self.send_header(k, str(v))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server names

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, name="courier-api",
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> LocalApiServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
