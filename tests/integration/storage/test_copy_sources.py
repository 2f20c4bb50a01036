"""copy_source and the source's URL: expiry (also mid-copy), redirects and the check of each
hop, a missing source; and keys that would escape the store. Fixtures in conftest.py."""

from __future__ import annotations

import pytest

from shared.errors import StorageError, UnsafeTargetError
from shared.model import UrlSource
from shared.storage.copy import copy_source
from shared.storage.local import LocalObjectStore
from shared.storage.sources import SourceExpiredError, UnsafeSourceError
from tests.integration.storage.copy_support import PART, MemoryJournal
from tests.integration.storage.source_server import SourceServer


def test_expired_url_raises_source_expired(server: SourceServer,
                                           store: LocalObjectStore) -> None:
    server.expired = True
    with pytest.raises(SourceExpiredError) as err:
        copy_source(UrlSource(server.url()), store, "e.bin", part_size=PART)
    assert err.value.retryable
    assert "secret-token" not in str(err.value)


def test_expiry_mid_copy_then_fresh_url_resumes(server: SourceServer, store: LocalObjectStore,
                                                data: bytes) -> None:
    journal = MemoryJournal()
    server.kill_after = 6 * PART + 5
    with pytest.raises(StorageError):
        copy_source(UrlSource(server.url()), store, "m.bin", part_size=PART, journal=journal,
                    reopen_attempts=0)
    server.expired = True
    with pytest.raises(SourceExpiredError):
        copy_source(UrlSource(server.url()), store, "m.bin", part_size=PART, journal=journal)
    server.expired = False
    before = server.served
    result = copy_source(UrlSource(server.url("/file.csv")), store, "m.bin", part_size=PART,
                         journal=journal)
    assert result.resumed and store.read("m.bin") == data
    assert server.served - before == len(data) - 6 * PART


def test_redirects_are_checked(server: SourceServer, store: LocalObjectStore,
                               data: bytes) -> None:
    server.redirects = {"/a": "/b", "/b": "/file.csv"}
    seen: list[str] = []
    result = copy_source(UrlSource(server.url("/a")), store, "red.bin", part_size=PART,
                         check_url=seen.append)
    assert store.read("red.bin") == data and result.size == len(data)
    assert [u.split("?")[0] for u in seen] == [server.base + p for p in ("/a", "/b",
                                                                          "/file.csv")]


def test_refused_redirect_stops_the_copy(server: SourceServer,
                                         store: LocalObjectStore) -> None:
    server.redirects = {"/a": "http://169.254.169.254/latest/meta-data"}

    def check(url: str) -> None:
        if "169.254" in url:
            raise UnsafeTargetError("link-local address")

    with pytest.raises(UnsafeSourceError) as err:
        copy_source(UrlSource(server.url("/a")), store, "ssrf.bin", part_size=PART,
                    check_url=check)
    assert not err.value.retryable
    assert [p for p, _ in server.requests] == ["/a"]


def test_too_many_redirects(server: SourceServer, store: LocalObjectStore) -> None:
    server.redirects = {f"/r{i}": f"/r{i + 1}" for i in range(10)}
    with pytest.raises(StorageError, match="redirects"):
        copy_source(UrlSource(server.url("/r0")), store, "loop.bin", part_size=PART)


def test_missing_source_is_not_retryable(server: SourceServer,
                                         store: LocalObjectStore) -> None:
    server.redirects = {"/gone": "http://127.0.0.1:9/nothing"}
    with pytest.raises(StorageError) as err:
        copy_source(UrlSource(server.url("/gone")), store, "g.bin", part_size=PART)
    assert err.value.retryable  # connection refused: transient


def test_key_escape_refused(server: SourceServer, store: LocalObjectStore) -> None:
    from shared.errors import ValidationError

    for key in ("../x", "/etc/passwd", "a//b", "a\\b", ".courier-meta/x"):
        with pytest.raises(ValidationError):
            copy_source(UrlSource(server.url()), store, key, part_size=PART)
    assert server.requests == []
