"""What the copy tests share: the part size they copy with, and a journal kept in memory."""

from __future__ import annotations

import hashlib

from shared.model import PartRecord

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
