"""The create handler refuses a new export with a 503 naming the destination while the
destination fails its probe; the probe leaves nothing behind; a schedule that cannot fire
stops the function at cold start."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from time import monotonic
from typing import Any

import pytest

from functions import common
from shared.errors import ConfigError
from shared.storage import probe as probe_module
from tests.e2e.helpers import cls_body, post


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_create_is_refused_while_the_destination_is_unreachable(
        handlers_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    for name, value in {"COURIER_DESTINATION": "s3://exports-bucket/courier",
                        "COURIER_S3_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": "x",
                        "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    common.reset()
    status, body = post(handlers_env["COURIER_API_KEYS"], cls_body())
    assert status == 503, body
    assert body["error"] == "destination_unavailable"
    # the problem names the bucket and the endpoint, in words
    assert "s3://exports-bucket" in body["detail"] and endpoint in body["detail"]
    assert "EndpointConnectionError" not in body["detail"]
    # nothing was accepted
    assert common.bundle().store().list_tasks(limit=5).items == []


def test_the_failure_is_remembered_then_probed_again(
        handlers_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where the destination folder should be")
    monkeypatch.setenv("COURIER_DESTINATION", f"file://{blocker}/bucket")
    common.reset()
    key = handlers_env["COURIER_API_KEYS"]
    calls: list[Any] = []
    real = probe_module.probe
    monkeypatch.setattr(probe_module, "probe", lambda store: (calls.append(store), real(store)))
    assert post(key, cls_body())[0] == 503
    assert post(key, cls_body())[0] == 503
    assert len(calls) == 1  # the failure is remembered: one probe for both
    # fixed: once the remembered failure runs out, the next create probes again and passes
    blocker.unlink()
    later = monotonic() + probe_module.FAILURE_TTL_S + 1
    monkeypatch.setattr(probe_module, "monotonic", lambda: later)
    status, body = post(key, cls_body())
    assert status == 202, body
    assert len(calls) == 2
    assert not list((blocker / "bucket").rglob("courier-probe-*"))


def test_a_usable_destination_lets_creates_through_and_keeps_no_probe(
        handlers_env: dict[str, str]) -> None:
    status, body = post(handlers_env["COURIER_API_KEYS"], cls_body())
    assert status == 202, body
    bucket = Path(handlers_env["COURIER_DESTINATION"].removeprefix("file://"))
    assert not list(bucket.rglob("courier-probe-*"))


def test_a_schedule_naming_an_unknown_provider_stops_the_cold_start(
        handlers_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURIER_SCHEDULES", json.dumps(
        [{"name": "typo", "provider": "clss", "params": {}}]))
    common.reset()
    with pytest.raises(ConfigError, match=r"COURIER_SCHEDULES\[0\]\.provider: unknown "
                                          r"provider 'clss'"):
        common.bundle()


def test_a_refused_webhook_endpoint_is_logged_once_per_cold_start(
        handlers_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    monkeypatch.setenv("COURIER_WEBHOOK_URLS", "http://10.9.8.7/hook")
    common.reset()
    records: list[logging.LogRecord] = []
    previous = logging.getLogRecordFactory()

    def keep(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        records.append(record)
        return record

    logging.setLogRecordFactory(keep)
    try:
        for _ in range(3):  # three invocations of one warm container
            assert post(handlers_env["COURIER_API_KEYS"], cls_body())[0] == 202
    finally:
        logging.setLogRecordFactory(previous)
    startup = [r.getMessage() for r in records if r.getMessage().startswith("startup check")]
    assert len(startup) == 1, startup
    assert "webhook http://10.9.8.7/hook" in startup[0]
    assert "COURIER_ALLOW_PRIVATE_HOSTS" in startup[0]
