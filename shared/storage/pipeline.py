"""The streaming copy's moving parts: recycled part buffers, the in-order MD5 worker, the
journal protocol, part uploads with retries, and reading an object back for its MD5.

:mod:`shared.storage.copy` reads each part of the source into a buffer from
:class:`PartBuffers`, hands a view of it to the upload pool and to :class:`BackgroundMd5`,
and lends the buffer out until both are done with it. Memory stays at a fixed number of
buffers however large the source.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from shared.errors import StorageError
from shared.model import PartRecord
from shared.storage.base import ObjectStore, UploadNotFoundError
from shared.storage.crc64 import crc64

HASH_DEPTH = 2  # parts that may wait for the MD5 worker
MAX_PARTS = 10_000  # S3 and COS: parts in one multipart upload
# S3's largest object (5 TiB); taken as the limit for every destination (an assumption: COS
# is held to it too, though its own documents allow a larger multipart object)
MAX_OBJECT_BYTES = 5 * 1024 ** 4


class CopyDeadlineError(StorageError):
    """The copy ran out of time (its own limit, or the invocation's time left) while the
    source was still sending: it is tried again later and resumes from its recorded parts."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class SourceTooLargeError(StorageError):
    """The source sends more bytes than were announced for it: cut off there, not retried
    (the same source would do the same again)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def part_size_for(size: int | None, part_size: int, max_parts: int = MAX_PARTS) -> int:
    """The part size for an object of ``size`` bytes: ``part_size``, or the smallest multiple
    of it that copies ``size`` in at most ``max_parts`` parts. Unknown size: ``part_size``."""
    if size is None or size <= part_size * max_parts:
        return part_size
    if size > MAX_OBJECT_BYTES:
        raise StorageError(f"the file has {size} bytes; object stores take at most "
                           f"{MAX_OBJECT_BYTES} bytes in one object", retryable=False)
    return part_size * -(-size // (part_size * max_parts))


class BackgroundMd5:
    """MD5 (and COS's CRC-64) over the parts in order, computed on a worker thread (hashlib
    drops the GIL for large updates), so hashing overlaps reading and uploading. At most
    ``depth`` parts wait to be hashed, which keeps memory bounded."""

    def __init__(self, depth: int, *, crc: bool = False) -> None:
        self._md5 = hashlib.md5()  # noqa: S324 - an integrity checksum, not security
        # CRC-64 as COS computes it, beside the MD5, only when there is one to compare with
        # (it holds the GIL: a copy that needs none does not pay for it)
        self._with_crc = crc
        self._crc = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy-md5")
        self._pending: list[Future[None]] = []
        self._depth = max(1, depth)

    def update(self, data: bytes | memoryview) -> Future[None]:
        """Queue ``data`` (left untouched until the returned future is done)."""
        fut = self._pool.submit(self._update, data)
        self._pending.append(fut)
        while len(self._pending) > self._depth:
            self._pending.pop(0).result()
        return fut

    def _update(self, data: bytes | memoryview) -> None:
        self._md5.update(data)
        if self._with_crc:
            self._crc = crc64(data, self._crc)

    def _settle(self) -> None:
        for fut in self._pending:
            fut.result()
        self._pending.clear()

    def hexdigest(self) -> str:
        self._settle()
        return self._md5.hexdigest()

    def crc64(self) -> int | None:
        """The CRC-64 of what was hashed; None unless asked for at construction."""
        self._settle()
        return self._crc if self._with_crc else None

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class PartBuffers:
    """The copy's part buffers, recycled: one is reused once its upload and its hashing are
    done, so a copy allocates at most ``count`` of them however large the source, and the
    source is read straight into them (no per-part allocation, no joining of chunks)."""

    def __init__(self, part_size: int, count: int) -> None:
        self._part_size = part_size
        self._count = max(1, count)
        self._made = 0
        self._busy: deque[tuple[bytearray, list[Future[Any]]]] = deque()

    def take(self) -> bytearray:
        """A buffer to read the next part into: a new one while fewer than ``count`` exist,
        else the oldest lent one, once its users are done."""
        if self._made < self._count or not self._busy:
            self._made += 1
            return bytearray(self._part_size)
        buf, users = self._busy.popleft()
        wait(users)  # their outcomes are collected by the copy loop
        return buf

    def lend(self, buf: bytearray, users: list[Future[Any]]) -> None:
        """``buf`` holds a part that ``users`` (its upload, its hashing) still read."""
        self._busy.append((buf, users))


PART_ATTEMPTS = 3


class CopyJournal(Protocol):
    """Where a copy records its multipart progress (``shared.copy_journal.TaskJournal``)."""

    def load(self) -> tuple[str | None, list[PartRecord]]: ...

    def started(self, upload_id: str) -> None: ...

    def part_done(self, part: PartRecord) -> None: ...

    def finished(self) -> None: ...


@dataclass(frozen=True)
class CopyResult:
    key: str
    uri: str
    size: int
    md5: str
    parts: int  # parts in the object (1 for put_object)
    resumed: bool  # continued a journalled upload
    skipped: bool  # the object was already there; nothing copied
    server_side: bool = False  # copied inside the object store, never downloaded


@dataclass(frozen=True)
class Segment:
    """A stretch of the source a copy reads: parts numbered from ``number`` on, from byte
    ``start`` to ``end`` (exclusive; None: to the source's end)."""

    number: int
    start: int
    end: int | None = None


FROM_THE_START = (Segment(1, 0),)


def resume_plan(records: list[PartRecord], part_size: int
                ) -> tuple[list[PartRecord], list[Segment]]:
    """What a resume keeps of its journal and what it reads again. Every recorded part that
    fits the file's layout is kept, gaps included: parts finish out of order when several
    are uploaded at once, so part 1 may be lost in flight while parts 2 and 3 are stored.
    A part fits when it starts where the kept part before it ends, or, after a run of
    missing parts, exactly that many whole parts of ``part_size`` further on. The first part
    that does not fit, and every part after it, is dropped and read again. The stretches to
    read are the gaps (whole parts, in byte order), then the tail after the last kept part
    (to the source's end; empty when the last kept part was the file's short last one)."""
    kept: list[PartRecord] = []
    gaps: list[Segment] = []
    pos, number = 0, 1
    for rec in sorted({r.part_number: r for r in records}.values(),
                      key=lambda r: r.part_number):
        missing = rec.part_number - number
        if missing < 0 or rec.end <= rec.start or rec.start - pos != missing * part_size:
            break
        if missing:
            gaps.append(Segment(number, pos, rec.start))
        kept.append(rec)
        pos, number = rec.end, rec.part_number + 1
    return kept, [*gaps, Segment(number, pos)]


def put_part_retrying(store: ObjectStore, key: str, upload_id: str, number: int,
                       data: bytes | memoryview, offset: int) -> str:
    for attempt in range(1, PART_ATTEMPTS + 1):
        try:
            return store.put_part(key, upload_id, number, data, offset=offset)
        except UploadNotFoundError:
            raise
        except StorageError as exc:
            if not exc.retryable or attempt == PART_ATTEMPTS:
                raise
            time.sleep(0.2 * 2 ** attempt)
    raise AssertionError("unreachable")


def stream_md5(store: ObjectStore, key: str) -> tuple[str, int]:
    digest = hashlib.md5()  # noqa: S324 - an integrity checksum, not security
    size = 0
    for chunk in store.iter_read(key):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size
