"""The create function's HTTP API on 127.0.0.1, for ``courier ui`` and the tests.

Each request becomes the event a Lambda function URL sends (HTTP API v2 shape) and goes to
the real create handler's app (``bundle.api.handle``), one at a time, like one warm
container.

A server on a person's machine is reachable by every web page their browser opens, so before
any byte of a body is read the request must pass :class:`Gate`:

* ``Host`` names this server (``localhost``, ``127.0.0.1`` or ``[::1]`` with the bound
  port): a foreign name is ``421`` (a page on another site, DNS rebinding);
* ``Content-Length`` is one whole number (else ``400``; ``Transfer-Encoding`` is ``411``) and
  at most the API's body limit (else ``413``, the body never read);
* a ``POST`` says ``Content-Type: application/json`` (else ``415``): a web page on another
  site can send a form or ``text/plain`` without asking, but JSON only after a CORS preflight,
  which this server never grants.

``COURIER_AUTH=none`` serves only on a loopback address (the Gate always runs).
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from courier.local import LocalContext
from shared.http.problem import PROBLEM_JSON, Problem

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
READ_TIMEOUT_S = 30  # a client that stops sending mid-request frees its thread after this


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


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Gate:
    """What a request must show before its body is read (see the module's text)."""

    hosts: frozenset[str]  # the Host values that name this server, lower case
    max_body_bytes: int

    @classmethod
    def for_address(cls, host: str, port: int, max_body_bytes: int) -> Gate:
        names = set(LOOPBACK_NAMES)
        if not is_loopback(host) and host not in ("", "0.0.0.0", "::"):  # noqa: S104
            names.add(f"[{host}]" if ":" in host else host)
        return cls(frozenset(f"{name}:{port}".lower() for name in names), max_body_bytes)

    def check(self, method: str, headers: Mapping[str, str],
              lengths: list[str]) -> tuple[Problem | None, int]:
        """``(refusal or None, body length)``; ``headers`` with lower-case names, ``lengths``
        every Content-Length given."""
        host = (headers.get("host") or "").strip().lower()
        if host not in self.hosts:
            return refusal(421, "misdirected_request", "Host must name this server: "
                           f"{', '.join(sorted(self.hosts))}", "Host"), 0
        if headers.get("transfer-encoding"):
            return refusal(411, "length_required", "Transfer-Encoding is not taken here; "
                           "send the body with a Content-Length", "Transfer-Encoding"), 0
        if len(set(v.strip() for v in lengths)) > 1:
            return refusal(400, "invalid_request", "Content-Length is given twice with "
                           "different values", "Content-Length"), 0
        raw = lengths[0].strip() if lengths else "0"
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
            return refusal(400, "invalid_request", "Content-Length must be a whole number of "
                           "bytes", "Content-Length"), 0
        length = int(raw)
        if length > self.max_body_bytes:
            return refusal(413, "content_too_large", f"the body is larger than "
                           f"{self.max_body_bytes} bytes", "body"), 0
        if method == "POST":
            media = (headers.get("content-type") or "").split(";", 1)[0].strip().lower()
            if media != "application/json" and not media.endswith("+json"):
                return refusal(415, "unsupported_media_type", "a POST must be "
                               "Content-Type: application/json", "Content-Type"), 0
        return None, length


def page_url(base: str, key: str | None = None) -> str:
    """The status page at ``base``; with ``key``, the key rides in the fragment
    (``/ui#key=…``): a browser never sends a fragment to the server, and the page reads it into
    the tab's session storage and removes it from the address bar."""
    return f"{base}/ui" + (f"#key={quote(key, safe='')}" if key else "")


def refusal(status: int, kind: str, detail: str, field: str) -> Problem:
    return Problem(status, kind, detail, {"field": field})


class LocalApiServer:
    """``with LocalApiServer(bundle) as server: server.url``."""

    def __init__(self, bundle: Any, port: int = 0, host: str = "127.0.0.1") -> None:
        self.bundle = bundle
        self.port = port
        self.host = host
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.server_address[1]
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104
        return f"http://{host}:{port}"

    def answer(self, method: str, target: str, headers: dict[str, str],
               body: bytes) -> dict[str, Any]:
        with self.lock:
            return self.bundle.api.handle(function_url_event(method, target, headers, body),
                                          LocalContext(30))

    def start(self) -> LocalApiServer:
        from shared.errors import ConfigError

        if self.bundle.settings.auth == "none" and not is_loopback(self.host):
            raise ConfigError(f"COURIER_AUTH=none serves on a loopback address only, not on "
                              f"{self.host}: set COURIER_API_KEYS to serve there")
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = READ_TIMEOUT_S

            def _serve(self) -> None:
                refused, length = gate.check(
                    self.command, {k.lower(): v for k, v in self.headers.items()},
                    self.headers.get_all("Content-Length") or [])
                if refused is not None:
                    self.close_connection = True  # the body, if any, is never read
                    rid = f"local-{secrets.token_hex(6)}"
                    problem = refused.body(urlsplit(self.path).path, rid)
                    self._send(refused.status, {"Content-Type": PROBLEM_JSON,
                                                "Connection": "close", "X-Request-Id": rid},
                               json.dumps(problem, separators=(",", ":")).encode())
                    return
                body = self.rfile.read(length)
                if len(body) < length:  # the client hung up mid-body
                    self.close_connection = True
                    return
                out = server.answer(self.command, self.path, dict(self.headers.items()), body)
                self._send(int(out.get("statusCode", 500)), out.get("headers") or {},
                           (out.get("body") or "").encode())

            def _send(self, status: int, headers: dict[str, Any], payload: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    if k.lower() != "content-length":
                        self.send_header(k, str(v))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - http.server names

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        gate = Gate.for_address(self.host, self._server.server_address[1],
                                self.bundle.settings.max_body_bytes)
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
