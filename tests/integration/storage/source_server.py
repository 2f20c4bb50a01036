"""A small threaded HTTP file server on 127.0.0.1:0 that behaves like a presigned-URL host,
with switches for the failures a copy must survive.

``SourceServer(data).start()``; ``url("/f")`` is a download URL. Knobs (attributes, change
them between requests):

* ``served`` — body bytes sent so far (all requests); ``requests`` — request log
  (path, Range header).
* ``corrupt`` — flip one byte in the middle of what is sent (Content-MD5 still tells
  the truth).
* ``announce_size`` — Content-Length / Content-Range total to claim instead of the real one
  (the body is truncated or padded accordingly, so the connection stays well-formed).
* ``expired`` — answer 403 ``AccessDenied`` / ``Request has expired``.
* ``kill_after`` — close the connection once this many body bytes went out in total
  (then the switch resets), like a function that died mid-copy.
* ``redirects`` — ``{"/a": "/b"}``: answer 302 to the target.
* ``etag`` — the ETag (change it to simulate a replaced object); ``content_md5`` on/off.
* ``ranges`` — honour Range (``bytes=a-`` and ``bytes=a-b``) / If-Range (off: always 200
  with the whole body).
* ``headers`` — extra response headers (e.g. ``x-cos-request-id``, to answer as COS).
* ``drip_s`` — pause this long before each chunk (with ``chunk=1``: a byte at a time).
* ``no_length`` — send no Content-Length: the body runs until the connection closes.

``SourceServer(data, host="127.0.0.2")`` listens on another loopback address.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class SourceServer:
    def __init__(self, data: bytes, *, chunk: int = 64 * 1024, host: str = "127.0.0.1") -> None:
        self.data = data
        self.chunk = chunk
        self.host = host
        self.drip_s = 0.0
        self.no_length = False
        self.served = 0
        self.requests: list[tuple[str, str | None]] = []
        self.corrupt = False
        self.announce_size: int | None = None
        self.expired = False
        self.kill_after: int | None = None
        # stall the answer once this many bytes are served, until ``resume`` is set
        self.hold_at: int | None = None
        self.held = threading.Event()
        self.resume = threading.Event()
        self.redirects: dict[str, str] = {}
        self.etag = '"v1-' + hashlib.md5(data).hexdigest()[:8] + '"'
        self.content_md5 = True
        self.ranges = True
        self.headers: dict[str, str] = {}
        self.lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ control
    def start(self) -> SourceServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def do_GET(self) -> None:  # noqa: N802
                server._handle(self)

        self._httpd = ThreadingHTTPServer((self.host, 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def base(self) -> str:
        assert self._httpd is not None
        port = self._httpd.server_address[1]
        return f"http://{self.host}:{port}"

    def url(self, path: str = "/file.csv") -> str:
        return self.base + path + "?X-Signature=secret-token"

    # ------------------------------------------------------------------ serving
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        rng = h.headers.get("Range")
        with self.lock:
            self.requests.append((path, rng))
        if path in self.redirects:
            target = self.redirects[path]
            if target.startswith("/"):
                target = self.base + target + "?X-Signature=other"
            h.send_response(302)
            h.send_header("Location", target)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if self.expired:
            body = (b"<?xml version='1.0'?><Error><Code>AccessDenied</Code>"
                    b"<Message>Request has expired</Message></Error>")
            h.send_response(403)
            h.send_header("Content-Type", "application/xml")
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        data = self.data
        if self.corrupt and data:
            mid = len(data) // 2
            data = data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:]
        total = len(data) if self.announce_size is None else self.announce_size
        if self.announce_size is not None:
            data = (data + b"\0" * total)[:total]
        start, stop = 0, total
        if_range = h.headers.get("If-Range")
        use_range = bool(self.ranges and rng and (if_range is None or if_range == self.etag))
        if use_range:
            assert rng is not None
            spec = rng.split("=", 1)[1]
            first_text, last_text = spec.split("-", 1)
            first = int(first_text)
            if first >= total:
                h.send_response(416)
                h.send_header("Content-Range", f"bytes */{total}")
                h.send_header("Content-Length", "0")
                h.end_headers()
                return
            start = first
            if last_text.strip():  # bytes=a-b: only up to b (inclusive)
                stop = min(stop, int(last_text) + 1)
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{stop - 1}/{total}")
        else:
            h.send_response(200)
            if self.content_md5:
                digest = hashlib.md5(self.data).digest()
                h.send_header("Content-MD5", base64.b64encode(digest).decode())
        if self.no_length:
            h.close_connection = True
        else:
            h.send_header("Content-Length", str(stop - start))
        h.send_header("ETag", self.etag)
        h.send_header("Accept-Ranges", "bytes")
        for name, value in self.headers.items():
            h.send_header(name, value)
        h.end_headers()
        pos = start
        while pos < stop:
            piece = data[pos:min(stop, pos + self.chunk)]
            if self.drip_s:
                import time

                time.sleep(self.drip_s)
            if self.hold_at is not None and pos >= self.hold_at:
                self.hold_at = None
                self.held.set()
                self.resume.wait(30)
            with self.lock:
                kill = self.kill_after
                if kill is not None and self.served + len(piece) >= kill:
                    piece = piece[:max(0, kill - self.served)]
                    self.kill_after = None
                    self.served += len(piece)
                    cut = True
                else:
                    self.served += len(piece)
                    cut = False
            try:
                h.wfile.write(piece)
                h.wfile.flush()
            except OSError:
                return
            pos += len(piece)
            if cut:
                h.close_connection = True
                try:
                    import socket

                    h.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
