"""Fixtures of the copy tests (test_copy*.py): a local HTTP source serving random
bytes, and a LocalObjectStore to copy into. Modules with a store of their own define theirs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.storage.local import LocalObjectStore
from tests.integration.storage.copy_support import PART
from tests.integration.storage.source_server import SourceServer


@pytest.fixture
def data() -> bytes:
    return os.urandom(10 * PART + 1234)


@pytest.fixture
def server(data: bytes) -> Iterator[SourceServer]:
    srv = SourceServer(data).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "bucket")
