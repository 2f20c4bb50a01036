"""The copy itself, step by step as :mod:`shared.storage.copy` describes it: the skip check,
the server-side shortcut, the streamed multipart upload with its journal, the verification.
:func:`shared.storage.copy.copy_source` builds a :class:`Copier` and runs it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from itertools import chain
from typing import Any

from shared.errors import IntegrityError, StorageError
from shared.model import CosObjectSource, PartRecord, UrlSource
from shared.storage.base import ObjectStore, UploadedPart, UploadNotFoundError
from shared.storage.pipeline import (
    FROM_THE_START,
    HASH_DEPTH,
    MAX_PARTS,
    BackgroundMd5,
    CopyJournal,
    CopyResult,
    PartBuffers,
    Segment,
    put_part_retrying,
    resume_plan,
    stream_md5,
)
from shared.storage.reading import SourceParts
from shared.storage.sources import Body, RestartNeeded

log = logging.getLogger(__name__)


class Copier:
    def __init__(self, source: UrlSource | CosObjectSource, store: ObjectStore, key: str, *,
                 part_size: int, expected_size: int | None, journal: CopyJournal | None,
                 reader: Any, metadata: dict[str, str], concurrency: int,
                 reopen_attempts: int, server_side: bool = True,
                 deadline: float | None = None, max_parts: int = MAX_PARTS) -> None:
        self.source = source
        self.store = store
        self.key = key
        self.part_size = part_size
        self.expected_size = expected_size
        self.journal = journal
        self.metadata = metadata
        self.concurrency = max(1, concurrency)
        self.server_side = server_side
        self.source_parts = SourceParts(reader, part_size=part_size,
                                        expected_size=expected_size,
                                        reopen_attempts=reopen_attempts, deadline=deadline,
                                        max_parts=max_parts)

    # journal helpers -----------------------------------------------------------
    def _pinned(self) -> str | None:  # pin/pinned are optional journal methods
        fn = getattr(self.journal, "pinned", None)
        return fn() if callable(fn) else None

    def _pin(self, validator: str | None) -> None:
        fn = getattr(self.journal, "pin", None)
        if callable(fn) and validator:
            fn(validator)

    def _forget(self, upload_id: str | None) -> None:
        if upload_id:
            try:
                self.store.abort_upload(self.key, upload_id)
            except StorageError as exc:
                log.warning("could not abort upload of %s: %s", self.key, exc.message)
        if self.journal is not None:
            self.journal.finished()

    # main ----------------------------------------------------------------------
    def run(self) -> CopyResult:
        existing = self.store.head(self.key)
        if existing is not None and existing.metadata.get("md5") and (
                self.expected_size is None or existing.size == self.expected_size) and (
                not self._unprotected()):
            if self.journal is not None:
                upload_id, _ = self.journal.load()
                if upload_id:
                    self._forget(upload_id)
            log.info("%s is already in the destination; skipping the copy", self.key)
            return CopyResult(self.key, self.store.uri(self.key), existing.size,
                              existing.metadata["md5"], 0, resumed=False, skipped=True)

        upload_id, records = self.journal.load() if self.journal is not None else (None, [])
        kept, segments = resume_plan(records if upload_id else [], self.part_size)
        if not upload_id and self.server_side:
            copied = self._server_side()
            if copied is not None:
                return copied
        for attempt in range(2):
            try:
                return self._copy(upload_id, kept, segments)
            except (RestartNeeded, UploadNotFoundError) as exc:
                if attempt:
                    raise StorageError(f"copy restarted twice: {exc}") from exc
                log.info("copy of %s starts over: %s", self.key, exc)
                self._forget(upload_id)
                upload_id, kept, segments = None, [], list(FROM_THE_START)
        raise AssertionError("unreachable")

    def _unprotected(self) -> bool:
        """Whether the object already there lacks the destination's write options (it was
        written before they were set): then it is written again, not skipped."""
        found = self.store.protection_problems(self.key)
        if found:
            log.info("%s is in the destination without its protections (%s); copying it "
                     "again", self.key, "; ".join(found))
        return bool(found)

    def _server_side(self) -> CopyResult | None:
        """Let the store copy the source itself, where it can; None if it cannot."""
        info = self.store.server_side_copy(self.source, self.key, self.metadata)
        if info is None:
            return None
        if self.expected_size is not None and info.size != self.expected_size:
            raise IntegrityError(f"the source holds {info.size} bytes, the provider said "
                                 f"{self.expected_size}")
        md5 = info.metadata.get("md5")
        if not md5:  # a multipart source: its ETag is no MD5, so read the copy back once
            md5, size = stream_md5(self.store, self.key)
            if size != info.size:
                raise IntegrityError(f"destination holds {size} bytes, expected {info.size}")
            self.store.record_md5(self.key, md5)
        log.info("%s copied server-side (%d bytes)", self.key, info.size)
        return CopyResult(self.key, self.store.uri(self.key), info.size, md5, 0,
                          resumed=False, skipped=False, server_side=True)

    def _copy(self, upload_id: str | None, kept: list[PartRecord],
              segments: list[Segment]) -> CopyResult:
        pinned = self._pinned() if upload_id and kept else None
        body = self.source_parts.open_checked(segments[0], pinned)
        try:
            return self._stream(body, upload_id, kept, segments, pinned)
        finally:
            body.close()

    def _stream(self, body: Body, upload_id: str | None, kept: list[PartRecord],
                segments: list[Segment], pinned: str | None) -> CopyResult:
        resumed = bool(upload_id and kept)
        hasher = None if resumed else BackgroundMd5(HASH_DEPTH, crc=body.crc64 is not None)
        try:
            return self._stream_with(body, upload_id, kept, segments, pinned, hasher)
        finally:
            if hasher is not None:
                hasher.close()

    def _stream_with(self, body: Body, upload_id: str | None, kept: list[PartRecord],
                     segments: list[Segment], pinned: str | None,
                     hasher: BackgroundMd5 | None) -> CopyResult:
        resumed = hasher is None
        parts = [UploadedPart(r.part_number, r.etag) for r in kept]
        first_validator = body.validator
        meta = dict(self.metadata)
        said: dict[str, Any] = {}

        # parts being uploaded, parts waiting to be hashed, the one being read, one spare
        buffers = PartBuffers(self.part_size, self.concurrency + HASH_DEPTH + 2)
        reads = self.source_parts.parts(body, segments, buffers, pinned, said)
        try:
            return self._upload(reads, upload_id, parts, body, hasher, said, buffers, meta,
                                first_validator, resumed)
        finally:
            reads.close()

    def _upload(self, reads: Iterator[tuple[int, int, bytearray, int]],
                upload_id: str | None, parts: list[UploadedPart], body: Body,
                hasher: BackgroundMd5 | None, said: dict[str, Any], buffers: PartBuffers,
                meta: dict[str, str], first_validator: str | None,
                resumed: bool) -> CopyResult:
        first = next(reads)
        _number, _offset, buf, filled = first
        if not resumed and filled < self.part_size:
            # Fits in one part: one request, no multipart bookkeeping.
            assert hasher is not None
            whole = bytes(memoryview(buf)[:filled])
            hasher.update(whole)
            md5 = hasher.hexdigest()
            self._verify(len(whole), body.total, body.md5, md5, upload_id, body.crc64,
                         hasher.crc64())
            if upload_id:
                self._forget(upload_id)
            info = self.store.put_object(self.key, whole, {**meta, "md5": md5})
            if info.size != len(whole):
                raise IntegrityError(f"destination holds {info.size} bytes, "
                                     f"expected {len(whole)}")
            return CopyResult(self.key, self.store.uri(self.key), len(whole), md5, 1,
                              resumed=False, skipped=False)

        if upload_id is None:
            # An MD5 the source vouches for goes into the metadata up front: if ours matches
            # at the end, the object is complete as is (nothing to record afterwards); if
            # not, the upload is aborted, never completed.
            start_meta = {**meta, "md5": body.md5} if body.md5 else meta
            upload_id = self.store.start_upload(self.key, start_meta)
            if self.journal is not None:
                self.journal.started(upload_id)
                self._pin(first_validator)

        inflight: dict[Future[str], int] = {}
        failure: BaseException | None = None
        size = 0

        def harvest(futures: set[Future[str]]) -> None:
            nonlocal failure
            for fut in futures:
                pn = inflight.pop(fut)
                try:
                    etag = fut.result()
                except BaseException as exc:  # noqa: BLE001 - re-raised after the loop
                    failure = failure or exc
                    continue
                parts.append(UploadedPart(pn, etag))

        with ThreadPoolExecutor(max_workers=self.concurrency,
                                thread_name_prefix="copy-part") as pool:
            try:
                for number, offset, buf, filled in chain([first], reads):
                    size = offset + filled
                    if not filled:
                        break
                    data = memoryview(buf)[:filled]
                    users: list[Future[Any]] = []
                    if hasher is not None:
                        users.append(hasher.update(data))
                    fut = pool.submit(self._put_and_journal, upload_id, number, data, offset,
                                      size)
                    users.append(fut)
                    buffers.lend(buf, users)
                    inflight[fut] = number
                    # The next part is read only into a free upload slot: at most
                    # ``concurrency`` parts are ever read and not yet stored, which is what
                    # a kill can cost.
                    while len(inflight) >= self.concurrency:
                        finished, _ = wait(set(inflight), return_when=FIRST_COMPLETED)
                        harvest(finished)
                    if failure is not None:
                        break
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                failure = failure or exc
            finally:
                if inflight:
                    harvest(set(wait(set(inflight)).done))
        if failure is not None:
            raise failure
        return self._finish(upload_id, parts, size, said, hasher, body, meta, resumed)

    def _finish(self, upload_id: str, parts: list[UploadedPart], size: int,
                said: dict[str, Any], hasher: BackgroundMd5 | None, body: Body,
                meta: dict[str, str], resumed: bool) -> CopyResult:
        parts.sort(key=lambda p: p.part_number)
        total = said.get("total")
        if hasher is not None:
            md5 = hasher.hexdigest()
            self._verify(size, total, body.md5, md5, upload_id, body.crc64, hasher.crc64())
            info = self.store.complete_upload(self.key, upload_id, parts, meta)
            if info.size != size:
                self._forget(None)
                raise IntegrityError(f"destination holds {info.size} bytes, expected {size}")
            if info.metadata.get("md5") != md5:  # not vouched for up front: recorded now
                self.store.record_md5(self.key, md5)
        else:
            # The kept parts were never read by this process, so the MD5 of the whole comes
            # from the finished object, read back from the destination.
            self._verify(size, total, None, None, upload_id)
            info = self.store.complete_upload(self.key, upload_id, parts, meta)
            md5, stored = stream_md5(self.store, self.key)
            if stored != size or info.size != size:
                self._forget(None)
                raise IntegrityError(f"destination holds {stored} bytes, expected {size}")
            vouched = said.get("md5") or info.metadata.get("md5")  # the source's, or at start
            if vouched and vouched != md5:
                # Clear the unverified md5 so the next attempt copies again, not skips.
                self.store.set_metadata(self.key, {"md5": ""})
                self._forget(None)
                raise IntegrityError("MD5 of the copied object differs from the source's")
            if info.metadata.get("md5") != md5:
                self.store.record_md5(self.key, md5)
        if self.journal is not None:
            self.journal.finished()
        log.info("copied %d bytes into %s in %d parts%s", size, self.key, len(parts),
                 " (resumed)" if resumed else "")
        return CopyResult(self.key, self.store.uri(self.key), size, md5, len(parts),
                          resumed=resumed, skipped=False)

    def _put_and_journal(self, upload_id: str, number: int, data: memoryview, start: int,
                         end: int) -> str:
        """Upload one part and journal it at once (on the uploading thread), so a kill
        loses at most the parts still in flight."""
        etag = put_part_retrying(self.store, self.key, upload_id, number, data, start)
        if self.journal is not None:
            self.journal.part_done(PartRecord(number, etag, start, end))
        return etag

    def _verify(self, size: int, total: int | None, source_md5: str | None,
                md5: str | None, upload_id: str | None, source_crc: int | None = None,
                crc: int | None = None) -> None:
        problem = None
        if self.expected_size is not None and size != self.expected_size:
            problem = f"copied {size} bytes, the provider said {self.expected_size}"
        elif total is not None and size != total:
            problem = f"copied {size} bytes, the source announced {total}"
        elif source_md5 and md5 and source_md5 != md5:
            problem = "MD5 of the copied bytes differs from the source's"
        elif source_crc is not None and crc is not None and source_crc != crc:
            problem = "CRC-64 of the copied bytes differs from the source's"
        if problem:
            self._forget(upload_id)
            raise IntegrityError(problem)
