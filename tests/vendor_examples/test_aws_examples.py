"""AWS: the published CreateExportTask, DescribeExportTasks and GetCallerIdentity answers,
through boto3 (botocore's models), to :class:`CloudwatchProvider`.

A small HTTP server stands for AWS: it answers CloudWatch Logs (JSON 1.1, the wire form the
CLI example prints) with the example's body as is, and STS (query protocol) with the
example's fields in the XML answer botocore parses. GetCallerIdentity is what the CloudWatch
provider asks for the account id that names its one-task-at-a-time queue
(``queue_key``); the expectation is that key.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import pytest

from shared.errors import ProviderError
from shared.model import ExportTask
from shared.pacing import RateLimiter
from shared.providers.aws import client
from shared.providers.base import RemoteStatus
from shared.providers.cloudwatch import CloudwatchProvider
from shared.vendor_settings import AwsSettings
from tests import servers
from tests.vendor_examples.support import answer

REGION = "us-east-1"
TASK_ID = "a1b2c3d4-5678-90ab-cdef-example11111"
EXAMPLES: dict[str, dict[str, Any]] = {
    "aws-CreateExportTask-1.json": {"taskIds": [TASK_ID]},
    "aws-DescribeExportTasks-1.json": {"status": RemoteStatus.READY, "progress": 100},
    "aws-GetCallerIdentity-1.json": {"queue_key": f"cloudwatch:123456789012:{REGION}"},
    "aws-GetCallerIdentity-2.json": {"queue_key": f"cloudwatch:123456789012:{REGION}"},
    "aws-GetCallerIdentity-3.json": {"queue_key": f"cloudwatch:123456789012:{REGION}"},
}
CALLERS = [n for n in EXAMPLES if "GetCallerIdentity" in n]


class Recorded:
    """Answers by action: Logs JSON bodies, STS result fields."""

    def __init__(self) -> None:
        self.answers: dict[str, dict[str, Any]] = {}
        self.asked: list[str] = []


def _handler(recorded: Recorded) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            target = self.headers.get("X-Amz-Target") or ""
            if target:
                action = target.rsplit(".", 1)[-1]
                recorded.asked.append(action)
                self._send(json.dumps(recorded.answers[action]).encode(),
                           "application/x-amz-json-1.1")
                return
            action = parse_qs(body.decode())["Action"][0]
            recorded.asked.append(action)
            fields = "".join(f"<{k}>{escape(str(v))}</{k}>"
                             for k, v in recorded.answers[action].items())
            xml = (f'<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
                   f"<{action}Result>{fields}</{action}Result><ResponseMetadata><RequestId>"
                   f"01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>"
                   f"</{action}Response>")
            self._send(xml.encode(), "text/xml")

        def _send(self, payload: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Recorded]]:
    for name, value in servers.aws_test_env().items():
        monkeypatch.setenv(name, value)
    recorded = Recorded()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(recorded))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", recorded
    finally:
        server.shutdown()
        server.server_close()


def provider(url: str) -> CloudwatchProvider:
    settings = AwsSettings(staging_bucket="amzn-s3-demo-bucket", region=REGION, endpoint=url,
                           s3_endpoint=url)
    return CloudwatchProvider(settings, sts=client("sts", url, REGION),
                              limiter=RateLimiter(rate=1000))


def export() -> ExportTask:
    """An export of the CreateExportTask example's request (its times in ms)."""
    return ExportTask(provider="cloudwatch", params={
        "logGroupName": "demo-log-group", "from": 1715918400000, "to": 1715920200000})


def test_create_export_task(aws: tuple[str, Recorded]) -> None:
    url, recorded = aws
    name = "aws-CreateExportTask-1.json"
    recorded.answers["CreateExportTask"] = answer(name)
    sub = provider(url).create(export())
    assert sub.remote["taskIds"] == EXAMPLES[name]["taskIds"]


def test_describe_export_tasks(aws: tuple[str, Recorded]) -> None:
    url, recorded = aws
    name = "aws-DescribeExportTasks-1.json"
    recorded.answers["DescribeExportTasks"] = answer(name)
    task = export()
    task.remote = {"groups": ["demo-log-group"], "index": 0, "prefix": "courier-staging/x",
                   "taskIds": [TASK_ID]}
    outcome = provider(url).poll([task])[task.id]
    want = EXAMPLES[name]
    assert not isinstance(outcome, ProviderError), outcome
    assert (outcome.status, outcome.progress) == (want["status"], want["progress"])


@pytest.mark.parametrize("name", CALLERS)
def test_get_caller_identity_names_the_queue(aws: tuple[str, Recorded], name: str) -> None:
    url, recorded = aws
    recorded.answers["GetCallerIdentity"] = answer(name)
    assert provider(url).queue_key(export()) == EXAMPLES[name]["queue_key"]
    assert recorded.asked == ["GetCallerIdentity"]
