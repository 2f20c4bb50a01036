"""Fixtures shared by the integration and e2e tests: the sandbox, a webhook receiver, and a
bundle wired to them (SQLite state, a local-folder bucket)."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.config import Settings

# Every sandbox in the suite holds its answers against the vendor SDKs' models
# (sandbox/conformance.py); a subprocess sandbox inherits the setting.
os.environ.setdefault("SANDBOX_CONFORMANCE", "strict")
# pytest-xdist's workers run with COLUMNS=80 and LINES=24 in their environment, which a
# serial run does not have; the CLI sizes its tables by COLUMNS (200 when unset, off a
# terminal), so its subprocesses would print wrapped tables in one kind of run only.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)


@pytest.fixture(autouse=True)
def sandbox_conformance(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test during which a sandbox answered (or accepted a request) outside the
    vendor SDK's model of the action, naming the action and the field. A test that serves an
    off-model answer on purpose (to show the client never takes it for success) names what
    it departs in: ``@pytest.mark.off_model("Tasks[0].Status: a string")``."""
    from sandbox import conformance

    marker = request.node.get_closest_marker("off_model")
    meant = tuple(marker.args) if marker else ()
    conformance.drain()
    yield
    problems = [p for p in conformance.drain() if not any(m in p for m in meant)]
    if problems:
        pytest.fail("the sandbox departed from the vendor SDK's model:\n  "
                    + "\n  ".join(dict.fromkeys(problems)), pytrace=False)


@pytest.fixture(autouse=True)
def metrics_of_this_test_only() -> None:
    """Each test starts with nothing counted: what an earlier test counted outside a handler
    (a poller ticked directly) is never flushed by this test's first invocation."""
    from shared.runtime import metrics

    metrics.RECORDER.take()


@pytest.fixture(autouse=True)
def shared_logger_restored() -> Iterator[None]:
    """Each test starts with the ``shared`` logger as the test before found it: a handler's
    logging setup (shared/runtime/logs.py) gives it the function's handlers and stops its
    propagation, as it must on the platforms, which would leave later tests' caplog blind."""
    shared = logging.getLogger("shared")
    handlers, filters, level, propagate = (list(shared.handlers), list(shared.filters),
                                           shared.level, shared.propagate)
    yield
    shared.handlers, shared.filters, shared.propagate = handlers, filters, propagate
    shared.setLevel(level)  # through setLevel: it clears the loggers' level caches


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from sandbox import Sandbox

    sb = Sandbox(port=0, queue_s=1.0, process_s=2.0, file_size=4096)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@pytest.fixture
def receiver(webhook_secret: str) -> Iterator[Any]:
    from courier.receiver import Receiver

    rx = Receiver(webhook_secret).start()
    try:
        yield rx
    finally:
        rx.stop()


@pytest.fixture
def api_key() -> str:
    return "test-" + secrets.token_urlsafe(24)


@pytest.fixture
def courier_env(tmp_path: Path, sandbox: Any, receiver: Any, webhook_secret: str,
                api_key: str) -> dict[str, str]:
    """Environment of a bundle pointed at the sandbox: what a deployment would set."""
    secret_id, secret_key = sandbox.credentials
    ali_key, ali_secret = sandbox.dms.credentials
    return {
        "COURIER_PROFILE": "sandbox",
        "COURIER_API_KEYS": api_key,
        "COURIER_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "COURIER_DESTINATION": f"file://{tmp_path / 'bucket'}",
        "COURIER_WEBHOOK_SECRETS": webhook_secret,
        "COURIER_WEBHOOK_URLS": receiver.url,
        "COURIER_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
        "COURIER_POLL_INTERVAL_S": "1",
        "TENCENTCLOUD_SECRETID": secret_id,
        "TENCENTCLOUD_SECRETKEY": secret_key,
        "TENCENTCLOUD_REGION": "ap-guangzhou",
        "COURIER_TENCENT_ENDPOINT": sandbox.url,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": ali_key,
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": ali_secret,
        "COURIER_DMS_ENDPOINT": sandbox.url,
        # cloudwatch: configured (its tests point it at moto), never contacted by the others
        "COURIER_CLOUDWATCH_BUCKET": "courier-staging",
    }


@pytest.fixture
def bundle(courier_env: dict[str, str]) -> Iterator[Any]:
    from shared.bundle import Bundle

    b = Bundle(Settings.from_env(courier_env))
    try:
        yield b
    finally:
        b.store().close()


@pytest.fixture
def handlers_env(courier_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[
        dict[str, str]]:
    """The real handlers (functions/*) reading this environment, as on a cold start."""
    from functions import common

    for name in list(os.environ):
        if name.startswith(("COURIER_", "TENCENTCLOUD_", "ALIBABA_CLOUD_")):
            monkeypatch.delenv(name)
    for name, value in courier_env.items():
        monkeypatch.setenv(name, value)
    common.reset()
    yield courier_env
    common.reset()
