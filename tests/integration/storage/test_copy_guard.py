"""Downloads go through the outbound guard's session: the address a connection actually
reaches is checked, so a name that answers a public address to the check and a loopback one
to the connect (DNS rebinding) never gets its bytes stored or delivered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from shared import netguard
from shared.bundle import Bundle
from shared.model import CosObjectSource, TaskState, UrlSource
from shared.storage.copy import copy_source
from shared.storage.local import LocalObjectStore
from shared.storage.sources import UnsafeSourceError
from tests.integration.storage.copy_support import rebinding
from tests.integration.storage.source_server import SourceServer
from tests.integration.test_completion_lease import ready_export

HOST = "files.rebind.example"
SECRET = b"internal bytes that must never leave 127.0.0.2\n" * 20


@pytest.fixture
def inside() -> Iterator[SourceServer]:
    """A server on 127.0.0.2: an address the guard must refuse (only 127.0.0.1 is allowed)."""
    srv = SourceServer(SECRET, host="127.0.0.2").start()
    try:
        yield srv
    finally:
        srv.stop()


def rebinding_url(srv: SourceServer) -> str:
    return srv.url().replace("127.0.0.2", HOST)


def test_a_copy_refuses_a_link_that_rebinds_to_loopback(
        inside: SourceServer, store: LocalObjectStore,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a link whose host passes the check and then connects to 127.0.0.2
    lookups = rebinding(monkeypatch, HOST)
    guard = netguard.OutboundGuard(("127.0.0.1",))
    # WHEN it is copied through the guard
    with pytest.raises(UnsafeSourceError) as err:
        copy_source(UrlSource(rebinding_url(inside)), store, "f.csv", check_url=guard)
    # THEN the connection was refused where it landed: no request reached the server,
    # nothing was stored, and the reason says why
    assert len(lookups) >= 2 and not err.value.retryable
    assert "non-public address" in err.value.message
    assert inside.requests == [] and store.head("f.csv") is None


def test_an_export_whose_link_rebinds_fails_and_delivers_nothing(
        bundle: Bundle, sandbox: Any, inside: SourceServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a ready export whose download link rebinds to 127.0.0.2
    export_id = ready_export(bundle, sandbox)
    store = bundle.store()
    task = store.get_task(export_id)
    task.result.update(url=rebinding_url(inside), size=len(SECRET))
    store.update_task(task)
    rebinding(monkeypatch, HOST)
    # WHEN it is completed
    task = bundle.completer.complete(export_id, owner="complete:test")
    # THEN it failed with a clear reason, announced, and no byte of 127.0.0.2 was stored
    assert task.state is TaskState.FAILED and task.error is not None
    assert "non-public address" in task.error["reason"]
    assert not task.error["retryable"] and inside.requests == []
    events = [d.event_type for d in store.list_deliveries(task_id=export_id, limit=20).items]
    assert "export.failed" in events and "export.delivered" not in events
    bucket = bundle.destination()
    assert isinstance(bucket, LocalObjectStore)
    assert not [p for p in bucket.root.rglob("*") if p.is_file() and SECRET[:20] in
                p.read_bytes()]


def test_a_cos_source_that_rebinds_to_loopback_is_refused(
        inside: SourceServer, store: LocalObjectStore,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a COS source (temporary credentials) whose endpoint rebinds to 127.0.0.2
    rebinding(monkeypatch, HOST)
    port = inside.base.rsplit(":", 1)[1]
    source = CosObjectSource(bucket="results-1250000000", region="ap-guangzhou",
                             key="dlc/result.csv", secret_id="AKIDtest", secret_key="k",
                             token="t", endpoint=f"http://{HOST}:{port}")
    # WHEN it is copied through the guard
    with pytest.raises(UnsafeSourceError) as err:
        copy_source(source, store, "result.csv",
                    check_url=netguard.OutboundGuard(("127.0.0.1",)))
    # THEN the connection was refused where it landed and nothing was stored
    assert "non-public address" in err.value.message and not err.value.retryable
    assert inside.requests == [] and store.head("result.csv") is None


def test_a_download_ignores_proxy_settings_of_the_environment(
        server: SourceServer, store: LocalObjectStore, data: bytes,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN proxy variables naming a proxy that does not exist (through a proxy, the guard
    # would only ever see the proxy's address)
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    # WHEN a link is copied through the guard
    result = copy_source(UrlSource(server.url()), store, "direct.bin",
                         check_url=netguard.OutboundGuard(("127.0.0.1",)))
    # THEN it went straight to the source
    assert result.size == len(data) and store.read("direct.bin") == data
