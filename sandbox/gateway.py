"""A small HTTP server in front of another one (a COS or AWS emulation): every request goes
to the subclass's ``_handle``, which answers, rewrites or forwards it upstream."""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import requests

log = logging.getLogger(__name__)
G = TypeVar("G", bound="HttpGateway")


class HttpGateway:
    name = "gateway"  # in thread names and log lines

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._session = requests.Session()

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def start(self: G) -> G:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and an XML body go out in two writes: without TCP_NODELAY the body
            # waits for the client's delayed ACK (about 40 ms an answer on a kept-alive link)
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                log.debug(f"{gateway.name}: " + format, *args)

            def _any(self) -> None:
                try:
                    gateway._handle(self)
                except (BrokenPipeError, ConnectionResetError):  # the client went away
                    self.close_connection = True

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any  # noqa: N815

        self._httpd = _Quiet((self._host, self._port), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.1,), daemon=True,
                         name=self.name).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self._session.close()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "start() first"
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def __enter__(self: G) -> G:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (killed, timed out) is no traceback; anything else is."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            super().handle_error(request, client_address)
