"""The unpack journal as the state table keeps it (``shared.copy_journal.TaskJournal``), in
memory: the unpack tests' stand-in for the state table."""

from __future__ import annotations

from typing import Any


class Journal:
    def __init__(self) -> None:
        self.done: list[dict[str, Any]] = []
        self.upload: dict[str, str] | None = None

    def members(self) -> list[dict[str, Any]]:
        return list(self.done)

    def member_done(self, entry: dict[str, Any]) -> None:
        self.done.append(entry)
        self.upload = None

    def member_upload(self, upload: dict[str, str] | None) -> None:
        self.upload = dict(upload) if upload else None

    def open_upload(self) -> dict[str, str] | None:
        return self.upload
