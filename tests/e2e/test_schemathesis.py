"""Schemathesis against the OpenAPI document, through a real local HTTP server that hands
every request to the create handler (API key set): all routes, its default checks (no server
error, responses and status codes as documented), a bounded number of examples per route.

``positive_data_acceptance`` is left out: the validators hold rules between fields (``From``
before ``To``, a real calendar date) that a JSON Schema cannot say, so a schema-valid body can
rightly get a ``400`` naming the field."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings

EXAMPLES_PER_OPERATION = 15  # per operation and mode (positive, negative)
COUNTS: dict[str, int] = {}


class HandlerServer:
    """HTTP on 127.0.0.1 -> an API Gateway REST event -> ``create_export.handler``."""

    def __init__(self) -> None:
        from courier.local import LocalContext
        from functions import create_export

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                event = {
                    "httpMethod": self.command, "path": parts.path,
                    "resource": parts.path, "headers": dict(self.headers.items()),
                    # a gateway passes ?state= as an empty value: so does this server
                    "queryStringParameters": dict(parse_qsl(
                        parts.query, keep_blank_values=True)) or None,
                    "body": base64.b64encode(raw).decode() if raw else None,
                    "isBase64Encoded": bool(raw),
                    "requestContext": {"httpMethod": self.command, "path": parts.path,
                                       "resourcePath": parts.path, "stage": "$default",
                                       "identity": {"sourceIp": "127.0.0.1"}},
                }
                out = create_export.handler(event, LocalContext())
                body = out.get("body") or ""
                data = body.encode() if isinstance(body, str) else body
                self.send_response(out["statusCode"])
                for name, value in (out.get("headers") or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> HandlerServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(handlers_env: dict[str, str]) -> Iterator[HandlerServer]:
    with HandlerServer() as srv:
        yield srv


def test_schemathesis_finds_nothing(server: HandlerServer, api_key: str) -> None:
    import schemathesis
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    failures: list[str] = []
    total = 0
    from schemathesis import GenerationMode

    for result, mode in [(r, m) for r in schema.get_all_operations()
                         for m in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]:
        operation = result.ok()
        label = f"{operation.label} ({mode.value})"
        raw = operation.definition.raw
        if mode is GenerationMode.NEGATIVE and operation.path == "/ui" and not (
                raw.get("parameters") or raw.get("requestBody")):
            continue  # the page takes no input at all: there is nothing to get wrong
        seen = [0]

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            seen[0] += 1  # noqa: B023 - run() is called in this same iteration
            case.call_and_validate(base_url=server.url, headers={"X-Api-Key": api_key},
                                   excluded_checks=[positive_data_acceptance])

        try:
            run()
        except BaseException as exc:  # noqa: BLE001 - a FailureGroup: collect, go on
            failures.append(f"{label}: {exc}"[:3000])
        COUNTS[label] = seen[0]
        total += seen[0]
    print(f"schemathesis: {len(COUNTS) // 2} operations, {total} examples, "
          f"{len(failures)} failures")
    assert not failures, "\n\n".join(failures)
    assert all(n > 0 for n in COUNTS.values()) and total >= len(COUNTS) * 5
