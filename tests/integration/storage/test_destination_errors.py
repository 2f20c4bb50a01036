"""A destination's errors name the bucket and the endpoint, in words (the SDKs' own
exception names never reach a person), and the probe leaves nothing behind."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from shared.errors import StorageError
from shared.storage.cos import CosObjectStore
from shared.storage.local import LocalObjectStore
from shared.storage.probe import PROBE_PREFIX, probe
from shared.storage.s3 import S3ObjectStore


def closed_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_an_unreachable_s3_endpoint_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    endpoint = closed_endpoint()
    store = S3ObjectStore("exports-bucket", "courier", endpoint_url=endpoint,
                          region="us-east-1")
    with pytest.raises(StorageError) as caught:
        store.head("a/key.csv")
    text = caught.value.message
    assert text == (f"head s3://exports-bucket at {endpoint}: could not connect, or the "
                    "connection broke"), text
    assert "EndpointConnectionError" not in text


def test_an_unreachable_cos_endpoint_is_named() -> None:
    endpoint = closed_endpoint()
    store = CosObjectStore("exports-1250000000", region="ap-guangzhou", endpoint=endpoint,
                           secret_id="AKIDexample", secret_key="not-shown")
    with pytest.raises(StorageError) as caught:
        store.put_object("a/key.csv", b"x")
    assert caught.value.message.startswith(f"put object cos://exports-1250000000 at {endpoint}")
    assert "not-shown" not in caught.value.message


def test_the_cos_endpoint_defaults_to_the_region() -> None:
    store = CosObjectStore("exports-1250000000", region="ap-guangzhou", secret_id="AKIDx",
                           secret_key="k")
    assert store.where == "cos://exports-1250000000 at https://cos.ap-guangzhou.myqcloud.com"


def test_the_probe_writes_reads_back_and_deletes(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    probe(store)
    assert not [p for p in tmp_path.rglob("*") if PROBE_PREFIX in p.name]


def test_a_failed_probe_names_the_step_and_the_destination(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError) as caught:
        probe(LocalObjectStore(blocker / "bucket"))
    assert caught.value.message.startswith("the probe object could not be written (")
    assert str(blocker) in caught.value.message
