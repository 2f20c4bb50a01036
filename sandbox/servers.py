"""Find or start the real servers that the tests, the benchmarks and the fault-injection run
(``bench/chaos``) talk to — with no test framework in sight, so a harness can import it.

Every function returns a URL (or a handle) or raises :class:`ServerUnavailable` with a reason
that says what is missing and how to get it. ``tests/servers.py`` turns that into a skip (a
failure when ``CI=true``).

* :func:`postgres_url` — PostgreSQL on 127.0.0.1:5432, database ``test`` (trust auth).
* :func:`mysql_url`    — MariaDB/MySQL on 127.0.0.1:3306, database ``test``, root without
  a password.
* :func:`start_moto`   — a moto server (DynamoDB, S3, Lambda, …) on a free 127.0.0.1 port.
* :func:`unique_name`  — a fresh table / prefix name, so concurrent runs never collide.
* :func:`serving`      — an HTTP handler on a free 127.0.0.1 port, for a block.

Override the discovery with ``COURIER_TEST_POSTGRES_URL`` / ``COURIER_TEST_MYSQL_URL``.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

HOST = "127.0.0.1"
HINT = "start it with `bash .ci/services.sh` (or `make services`)"


class ServerUnavailable(RuntimeError):
    """A server a test or a run needs is not reachable; the message says which and why."""


def unique_name(prefix: str = "t") -> str:
    """``prefix`` plus 10 random hex digits: a table name no other run uses."""
    return f"{prefix}_{secrets.token_hex(5)}"


# ---------------------------------------------------------------- PostgreSQL
def postgres_url(database: str = "test") -> str:
    """``postgresql://USER@127.0.0.1:5432/test`` for the first user that can log in."""
    try:
        import psycopg
    except ImportError as exc:
        raise ServerUnavailable("psycopg is not installed (pip install 'psycopg[binary]')") \
            from exc
    override = os.environ.get("COURIER_TEST_POSTGRES_URL")
    candidates = [override] if override else [
        f"postgresql://{user}@{HOST}:5432/{database}" for user in ("postgres", "root")
    ]
    errors = []
    for url in candidates:
        try:
            psycopg.connect(url, connect_timeout=3).close()
            return url
        except psycopg.Error as exc:
            errors.append(f"{_safe(url)}: {str(exc).strip().splitlines()[0]}")
    raise ServerUnavailable(f"PostgreSQL is not reachable ({'; '.join(errors)}); {HINT}")


# --------------------------------------------------------------- MySQL/MariaDB
def mysql_url(database: str = "test") -> str:
    """``mysql://root@127.0.0.1:3306/test`` if MariaDB/MySQL answers there."""
    try:
        import pymysql
    except ImportError as exc:
        raise ServerUnavailable("PyMySQL is not installed (pip install pymysql)") from exc
    url = os.environ.get("COURIER_TEST_MYSQL_URL") or f"mysql://root@{HOST}:3306/{database}"
    parts = urlsplit(url)
    try:
        pymysql.connect(host=parts.hostname or HOST, port=parts.port or 3306,
                        user=unquote(parts.username or "root"),
                        password=unquote(parts.password or ""),
                        database=parts.path.lstrip("/") or None, connect_timeout=3).close()
    except pymysql.err.MySQLError as exc:
        raise ServerUnavailable(f"MariaDB/MySQL is not reachable at {_safe(url)} ({exc}); "
                                f"{HINT}") from exc
    return url


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


# -------------------------------------------------------------- a handler
@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``with servers.serving(Handler) as url:`` — ``handler`` served on a free port of
    127.0.0.1 (one thread per request) until the block ends."""
    server = ThreadingHTTPServer((HOST, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ------------------------------------------------------------------- moto
@dataclass
class MotoServer:
    """A running moto server; ``url`` is its endpoint (``http://127.0.0.1:PORT``)."""

    url: str
    server: Any

    def stop(self) -> None:
        self.server.stop()

    def reset(self) -> None:
        """Forget every resource (moto's reset API)."""
        import requests

        requests.post(f"{self.url}/moto-api/reset", timeout=10)


S3_MIN_PART = 5 * 1024 * 1024  # S3's smallest part but the last (moto's default)
COS_MIN_PART = 1024 * 1024  # COS's (the COS gateway checks it; moto must take such parts)
OSS_MIN_PART = 100 * 1024  # OSS's (the OSS gateway checks it; moto must take such parts)
_MOTO_LOCK = threading.Lock()  # one request at a time across every moto of this process


def start_moto(part_min: int = S3_MIN_PART) -> MotoServer:
    """Start moto's threaded server on a free port of 127.0.0.1. Stop it with ``.stop()``.

    moto evaluates a conditional write and applies it without a lock, so two concurrent
    requests can both pass one condition — which DynamoDB itself never allows. This server
    therefore runs one request at a time (connections are still served by threads), so
    conditional writes are atomic as on the real service.

    ``part_min``: the smallest multipart part (but the last) this server takes. moto keeps it
    in one module global (``moto.s3.models.S3_UPLOAD_PART_MIN_SIZE``), so each request sets
    it for the server it reaches, under a lock every moto of the process shares. A moto
    behind the COS gateway takes :data:`COS_MIN_PART`; the gateway enforces COS's minimum.
    """
    try:
        from moto.moto_server import werkzeug_app
        from moto.server import ThreadedMotoServer
        from werkzeug.serving import make_server
    except ImportError as exc:
        raise ServerUnavailable("moto[server] is not installed (pip install 'moto[server]')") \
            from exc

    class AtomicMotoServer(ThreadedMotoServer):
        def _server_entry(self) -> None:
            from sandbox.moto_s3 import object_lock_fixes, unknown_upload_fix

            app = unknown_upload_fix(object_lock_fixes(
                werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app)))
            import moto.s3.models as s3_models

            def one_at_a_time(environ: Any, start_response: Any) -> Any:
                with _MOTO_LOCK:
                    s3_models.S3_UPLOAD_PART_MIN_SIZE = part_min
                    return list(app(environ, start_response))

            self._server = make_server(self._ip_address, self._port, one_at_a_time,
                                       threaded=True,
                                       request_handler=werkzeug_app.MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request
    server = AtomicMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return MotoServer(url=f"http://{host}:{port}", server=server)


def aws_test_env() -> dict[str, str]:
    """Fake credentials and region for boto3 against moto (never real ones)."""
    return {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",  # noqa: S106
            "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
