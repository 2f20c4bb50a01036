"""A copy's progress in the state table, and the heartbeat that keeps its lease.

:class:`TaskJournal` records what a copy into the destination has done so far (the multipart
upload and its parts, the source version the parts were read from, the key, the files of a
several-file result, the members of an unpacked archive), so a copy killed at any point
resumes where it stopped instead of starting over. :class:`Heartbeat` renews the copy's
lease on a thread and writes its progress with it, at most every :data:`PROGRESS_EVERY_S`.
Both are used by :mod:`shared.completion`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from shared.clock import to_iso, utcnow
from shared.model import ExportTask, PartRecord
from shared.runtime.context import export_keys
from shared.state.base import TaskStore

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 5.0  # copy progress is written at most this often (with the lease)


class TaskJournal:
    """Copy progress kept in the state table, so a killed copy resumes where it stopped."""

    def __init__(self, store: TaskStore, task: ExportTask) -> None:
        self.store = store
        self.task = task
        self.lock = threading.Lock()  # parts are journaled from the uploading threads
        self.bytes_done = 0  # copy progress, written with the lease (bounded writes)
        self.parts_done = 0
        self.began = utcnow()

    def _save(self, change: Callable[[ExportTask], None]) -> None:
        with self.lock:
            change(self.task)
            self.task = self.store.update_task(self.task)

    def progress(self) -> dict[str, Any]:
        """How far the copy has got: bytes and parts done, the total where known."""
        return {"bytes_done": self.bytes_done, "parts_done": self.parts_done,
                "bytes_total": self.task.result.get("size") or None,
                "started_at": to_iso(self.began), "updated_at": to_iso(utcnow())}

    def renew(self, lease_s: float) -> None:
        """Push the lease (and the time the timer looks again) ``lease_s`` ahead, and
        record the copy's progress."""
        def push(task: ExportTask) -> None:
            task.lease_until = task.due_at = utcnow() + timedelta(seconds=lease_s)
            task.destination["copy"] = self.progress()

        self._save(push)

    def load(self) -> tuple[str | None, list[PartRecord]]:
        upload_id = self.task.destination.get("upload_id")
        if not upload_id:
            return None, []
        return upload_id, self.store.list_parts(self.task.id, upload_id)

    def started(self, upload_id: str) -> None:
        self._save(lambda task: task.destination.__setitem__("upload_id", upload_id))

    def part_done(self, part: PartRecord) -> None:
        upload_id = self.task.destination.get("upload_id")
        if upload_id:
            self.store.record_part(self.task.id, upload_id, part)
        with self.lock:
            self.bytes_done += part.end - part.start
            self.parts_done += 1

    def pin(self, validator: str) -> None:
        """Remember the source's version (ETag / Last-Modified) the parts were read from."""
        self._save(lambda task: task.destination.__setitem__("source_validator", validator))

    def pinned(self) -> str | None:
        value = self.task.destination.get("source_validator")
        return str(value) if value else None

    def keep_key(self, key: str) -> None:
        """Remember the destination key, so a resumed copy writes to the same place."""
        self._save(lambda task: task.destination.__setitem__("key", key))

    def files(self) -> list[dict[str, Any]]:
        """The files of a several-file result already copied (in order)."""
        return list(self.task.destination.get("files") or [])

    def file_done(self, entry: dict[str, Any]) -> None:
        self._save(lambda task: task.destination.setdefault("files", []).append(entry))

    def members(self) -> list[dict[str, Any]]:
        """The members of an archive already unpacked and stored (in archive order)."""
        return list((self.task.destination.get("unpack") or {}).get("members") or [])

    def member_done(self, entry: dict[str, Any]) -> None:
        def done(task: ExportTask) -> None:
            unpack = task.destination.setdefault("unpack", {})
            unpack.setdefault("members", []).append(entry)
            unpack.pop("upload", None)  # the member's upload, if it had one, is complete

        self._save(done)

    def member_upload(self, upload: dict[str, str] | None) -> None:
        """The multipart upload of the member being stored (key, upload id), as soon as it
        starts; None once an unfinished one was aborted."""
        def note(task: ExportTask) -> None:
            unpack = task.destination.setdefault("unpack", {})
            if upload is None:
                unpack.pop("upload", None)
            else:
                unpack["upload"] = dict(upload)

        self._save(note)

    def open_upload(self) -> dict[str, str] | None:
        """The member upload a killed unpacking left unfinished, if any."""
        upload = (self.task.destination.get("unpack") or {}).get("upload")
        return dict(upload) if upload else None

    def raw_landed(self, raw: dict[str, Any]) -> None:
        """The archive is in place and verified: the unpack stage reads it from there."""
        self._save(lambda task: task.destination.__setitem__("raw", raw))

    def finished(self) -> None:
        self.task.destination.pop("upload_id", None)
        self.task.destination.pop("source_validator", None)
        self.store.clear_parts(self.task.id)


class Heartbeat:
    """Renews a copy's lease (and writes its progress) every few seconds, on a thread, until
    stopped."""

    def __init__(self, journal: TaskJournal, lease_s: float) -> None:
        self.journal = journal
        self.lease_s = lease_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="copy-lease", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(min(self.lease_s / 3, PROGRESS_EVERY_S)):
            try:
                self.journal.renew(self.lease_s)
            except Exception:  # noqa: BLE001 - the copy goes on; its next write will tell
                task = self.journal.task  # on its own thread: no export context here
                log.warning("export %s: could not renew the copy's lease", task.id,
                            exc_info=True, extra=export_keys(task.id, task.provider))
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(5)
