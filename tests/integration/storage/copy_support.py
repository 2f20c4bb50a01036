"""What the copy tests share: the part size they copy with, a journal kept in memory, and a
copy killed with part 1 in flight."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest

from shared.errors import StorageError
from shared.model import CosObjectSource, PartRecord, UrlSource
from shared.storage.base import ObjectStore
from shared.storage.copy import copy_source

KB = 1024
PART = 64 * KB


class MemoryJournal:
    """The journal protocol in memory, with the optional pin/pinned extension."""

    def __init__(self, *, pinning: bool = True) -> None:
        self.upload_id: str | None = None
        self.parts: dict[int, PartRecord] = {}
        self.validator: str | None = None
        self.finished_calls = 0
        if not pinning:
            self.pin = None  # type: ignore[assignment]
            self.pinned = None  # type: ignore[assignment]

    def load(self) -> tuple[str | None, list[PartRecord]]:
        return self.upload_id, sorted(self.parts.values(), key=lambda p: p.part_number)

    def started(self, upload_id: str) -> None:
        self.upload_id = upload_id
        self.parts.clear()

    def part_done(self, part: PartRecord) -> None:
        self.parts[part.part_number] = part

    def finished(self) -> None:
        self.upload_id, self.validator = None, None
        self.parts.clear()
        self.finished_calls += 1

    def pin(self, validator: str) -> None:
        self.validator = validator

    def pinned(self) -> str | None:
        return self.validator


def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def killed_with_part_one_in_flight(store: ObjectStore, source: UrlSource | CosObjectSource,
                                   key: str, part_size: int, journal: MemoryJournal,
                                   last: int, **kwargs: Any) -> None:
    """Copy with four uploads at once, part 1's upload held back until parts 2..``last``
    are stored and journaled, then failed: the process dying with part 1 in flight.
    (``last`` ≤ 4: the parts in flight beside part 1, within the copy's buffers.)"""
    others = set(range(2, last + 1))
    stored = threading.Event()
    real_put, real_done = store.put_part, journal.part_done

    def part_done(part: PartRecord) -> None:
        real_done(part)
        if others <= set(journal.parts):
            stored.set()

    def put_part(key: str, upload_id: str, number: int, chunk: Any, *,
                 offset: int | None = None) -> str:
        if number == 1:
            assert stored.wait(30), "the later parts were never stored"
            raise StorageError("killed with part 1 in flight", retryable=False)
        return real_put(key, upload_id, number, chunk, offset=offset)

    store.put_part = put_part  # type: ignore[method-assign]
    journal.part_done = part_done  # type: ignore[method-assign]
    try:
        with pytest.raises(StorageError, match="part 1 in flight"):
            copy_source(source, store, key, part_size=part_size, journal=journal,
                        concurrency=4, **kwargs)
    finally:
        del store.put_part, journal.part_done
    assert sorted(journal.parts) == sorted(others)


PUBLIC_ADDRESS = "93.184.216.34"  # any globally routable address: the check passes


def rebinding(monkeypatch: pytest.MonkeyPatch, host: str, to: str = "127.0.0.2") -> list[str]:
    """Make ``host`` resolve to a public address on its first look-up (the guard's check)
    and to ``to`` on every later one (the connect): DNS rebinding, on loopback. Returns the
    log of look-ups of ``host``."""
    import socket

    real = socket.getaddrinfo
    lookups: list[str] = []

    def getaddrinfo(name: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if name != host:
            return real(name, port, *args, **kwargs)
        lookups.append(name)
        return real(PUBLIC_ADDRESS if len(lookups) == 1 else to, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups
