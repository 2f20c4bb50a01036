"""A forwarding HTTP proxy that drops some request headers on the way: an object store that
takes a write but does not keep what one header asked (``x-amz-storage-class``, …), for the
tests of the check after writing. Both ends are real: the SDK and the server behind."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

import requests

from tests import servers

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@contextmanager
def dropping(upstream: str, *names: str) -> Iterator[str]:
    """``with dropping(moto.url, "x-amz-storage-class") as url:`` — requests to ``url`` go
    to ``upstream`` without those headers (signatures are not checked behind: moto)."""
    dropped = {n.lower() for n in names}

    class Forward(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            out = {k: v for k, v in self.headers.items()
                   if k.lower() not in dropped | HOP}
            resp = requests.request(self.command, upstream + self.path, headers=out,
                                    data=body, timeout=30, allow_redirects=False)
            self.send_response(resp.status_code)
            for k, v in resp.headers.items():
                if k.lower() not in HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(resp.content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(resp.content)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

        def log_message(self, *args: object) -> None:
            pass

    with servers.serving(Forward) as url:
        yield url
