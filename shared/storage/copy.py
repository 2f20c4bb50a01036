"""Stream a source (presigned URL or COS object) into an :class:`ObjectStore`, resumably.

How a copy goes
---------------
1. **Idempotency.** If the destination already holds ``key`` with an ``md5`` in its user
   metadata (and the expected size, when one is known), nothing is downloaded:
   ``CopyResult(skipped=True)``. A leftover journalled upload is aborted and forgotten.
1a. **Server-side copy.** With no upload in progress, the store is asked to copy the source
   itself (``ObjectStore.server_side_copy``: a COS object the destination's credentials can
   read, an S3 object on the same endpoint). The size is checked, and the MD5 taken from the
   source (metadata, single-part ETag) or read back once from the copy:
   ``CopyResult(server_side=True)``. A store that cannot answers None and the copy streams.
2. **Streaming.** The source is read sequentially, one part (``part_size`` bytes) at a time,
   straight into a recycled part buffer, and each part is handed to a small thread pool that
   uploads it while a single worker thread hashes the parts in order. At most
   ``concurrency`` parts are being uploaded, two more may wait for the hasher, plus the one
   being read and a spare, so memory is bounded by ``part_size × (concurrency + 4)``
   buffers, allocated once per copy; nothing touches the local disk. The size need not be
   known up front. A source that fits in one part (and is not a resume) goes through
   ``put_object``.
3. **Journal.** Every part is recorded through ``journal.part_done`` as soon as the store
   has it (from the uploading thread, in completion order), so a kill re-reads at most the
   parts that were in flight. A later invocation whose ``journal.load()`` returns
   the upload id continues after the last *contiguous* finished part with a ``Range:
   bytes=N-`` request, so finished parts are not downloaded or uploaded again.
4. **Source pinning.** The source's validator (strong ETag, else Last-Modified) is sent as
   ``If-Range`` on a resume: a source that changed answers with the whole body (200), and the
   copy starts over on a fresh upload. A journal may also implement the optional
   ``pin(validator)`` / ``pinned() -> str | None`` methods; then the validator seen when the
   upload started is stored and compared on resume (a mismatch starts over as well).
5. **Verification.** The byte count is checked against ``expected_size``, the response's
   ``Content-Length`` / ``Content-Range`` total and the size the store reports; an MD5 the
   source advertises (``Content-MD5`` on a full response, ``x-amz-meta-md5`` /
   ``x-cos-meta-md5``, a COS object's single-part ETag) is compared with ours. Any mismatch
   aborts the upload, clears the journal and raises :class:`IntegrityError`.
6. **Where the MD5 goes.** When the source vouches for an MD5 (``Content-MD5``,
   ``x-*-meta-md5``), it is written as ``md5`` metadata when the upload starts and checked
   before completing. Otherwise the copy hashes while streaming, completes the upload, and
   hands the MD5 to ``ObjectStore.record_md5`` (an object tag on S3/COS, so the object is
   not rewritten; the sidecar on a folder). Until that succeeds the object has no ``md5``,
   so an interrupted copy is copied again rather than skipped.
   MD5 state cannot be carried across invocations, so a resumed copy reads the finished
   object back from the destination (streamed, bounded memory) to compute it, checks it,
   and only then records it. (A resumed upload carries a vouched md5 from its start: if it
   fails the read-back check, ``md5`` is blanked and IntegrityError raised.)

Errors: :class:`SourceExpiredError` when the URL (or the temporary credentials) lapsed — ask
the provider for a fresh one and call again, the copy resumes; other failures are
:class:`StorageError` with ``retryable`` set; finished parts stay journalled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from shared.errors import IntegrityError, StorageError
from shared.model import PartRecord
from shared.storage.base import (
    CosObjectSource,
    ObjectStore,
    UploadedPart,
    UploadNotFoundError,
    UrlSource,
)
from shared.storage.keys import check_key
from shared.storage.pipeline import (
    HASH_DEPTH,
    BackgroundMd5,
    CopyJournal,
    CopyResult,
    PartBuffers,
    contiguous,
    put_part_retrying,
    stream_md5,
)
from shared.storage.sources import (
    Body,
    CosReader,
    RestartNeeded,
    UrlReader,
    fill,
)

log = logging.getLogger(__name__)

DEFAULT_PART_SIZE = 8 * 1024 * 1024
DEFAULT_CONCURRENCY = 4


class _Copy:
    def __init__(self, source: UrlSource | CosObjectSource, store: ObjectStore, key: str, *,
                 part_size: int, expected_size: int | None, journal: CopyJournal | None,
                 reader: Any, metadata: dict[str, str], concurrency: int,
                 reopen_attempts: int, server_side: bool = True) -> None:
        self.source = source
        self.store = store
        self.key = key
        self.part_size = part_size
        self.expected_size = expected_size
        self.journal = journal
        self.reader = reader
        self.metadata = metadata
        self.concurrency = max(1, concurrency)
        self.reopen_attempts = reopen_attempts
        self.server_side = server_side

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
                self.expected_size is None or existing.size == self.expected_size):
            if self.journal is not None:
                upload_id, _ = self.journal.load()
                if upload_id:
                    self._forget(upload_id)
            log.info("%s is already in the destination; skipping the copy", self.key)
            return CopyResult(self.key, self.store.uri(self.key), existing.size,
                              existing.metadata["md5"], 0, resumed=False, skipped=True)

        upload_id, records = self.journal.load() if self.journal is not None else (None, [])
        done = contiguous(records) if upload_id else []
        if not upload_id and self.server_side:
            copied = self._server_side()
            if copied is not None:
                return copied
        for attempt in range(2):
            try:
                return self._copy(upload_id, done)
            except (RestartNeeded, UploadNotFoundError) as exc:
                if attempt:
                    raise StorageError(f"copy restarted twice: {exc}") from exc
                log.info("copy of %s starts over: %s", self.key, exc)
                self._forget(upload_id)
                upload_id, done = None, []
        raise AssertionError("unreachable")

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

    def _open(self, offset: int, validator: str | None) -> Body:
        return self.reader.open(offset, validator)  # type: ignore[no-any-return]

    def _copy(self, upload_id: str | None, done: list[PartRecord]) -> CopyResult:
        offset = done[-1].end if done else 0
        pinned = self._pinned() if upload_id else None
        body = self._open(offset, pinned)
        try:
            if body.restarted or (upload_id and done and pinned and body.validator
                                  and body.validator != pinned):
                raise RestartNeeded("the source changed since the upload started")
            return self._stream(body, upload_id, done)
        finally:
            body.close()

    def _stream(self, body: Body, upload_id: str | None, done: list[PartRecord]) -> CopyResult:
        resumed = bool(upload_id and done)
        hasher = None if resumed else BackgroundMd5(HASH_DEPTH)
        try:
            return self._stream_with(body, upload_id, done, hasher)
        finally:
            if hasher is not None:
                hasher.close()

    def _stream_with(self, body: Body, upload_id: str | None, done: list[PartRecord],
                     hasher: BackgroundMd5 | None) -> CopyResult:
        resumed = hasher is None
        offset = body.start
        parts = [UploadedPart(r.part_number, r.etag) for r in done]
        number = len(done) + 1
        first_validator = body.validator
        total = body.total
        meta = dict(self.metadata)

        # parts being uploaded, parts waiting to be hashed, the one being read, one spare
        buffers = PartBuffers(self.part_size, self.concurrency + HASH_DEPTH + 2)
        buf = buffers.take()
        filled = self._read_into(body, buf, offset)
        if not resumed and filled < self.part_size:
            # Fits in one part: one request, no multipart bookkeeping.
            assert hasher is not None
            first = bytes(memoryview(buf)[:filled])
            hasher.update(first)
            md5 = hasher.hexdigest()
            self._verify(len(first), total, body.md5, md5, upload_id)
            if upload_id:
                self._forget(upload_id)
            info = self.store.put_object(self.key, first, {**meta, "md5": md5})
            if info.size != len(first):
                raise IntegrityError(f"destination holds {info.size} bytes, "
                                     f"expected {len(first)}")
            return CopyResult(self.key, self.store.uri(self.key), len(first), md5, 1,
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

        inflight: dict[Future[str], tuple[int, int, int]] = {}
        failure: BaseException | None = None

        def harvest(futures: set[Future[str]]) -> None:
            nonlocal failure
            for fut in futures:
                pn, start, end = inflight.pop(fut)
                try:
                    etag = fut.result()
                except BaseException as exc:  # noqa: BLE001 - re-raised after the loop
                    failure = failure or exc
                    continue
                parts.append(UploadedPart(pn, etag))

        with ThreadPoolExecutor(max_workers=self.concurrency,
                                thread_name_prefix="copy-part") as pool:
            try:
                while filled:
                    data = memoryview(buf)[:filled]
                    users: list[Future[Any]] = []
                    if hasher is not None:
                        users.append(hasher.update(data))
                    while len(inflight) >= self.concurrency:
                        finished, _ = wait(set(inflight), return_when=FIRST_COMPLETED)
                        harvest(finished)
                    if failure is not None:
                        buffers.lend(buf, users)
                        break
                    fut = pool.submit(self._put_and_journal, upload_id, number, data, offset,
                                      offset + filled)
                    users.append(fut)
                    buffers.lend(buf, users)
                    inflight[fut] = (number, offset, offset + filled)
                    offset += filled
                    number += 1
                    if filled < self.part_size:
                        break
                    buf = buffers.take()
                    filled = self._read_into(body, buf, offset)
            except BaseException as exc:  # noqa: BLE001 - re-raised below
                failure = failure or exc
            finally:
                if inflight:
                    harvest(set(wait(set(inflight)).done))
        if failure is not None:
            raise failure

        size = offset
        parts.sort(key=lambda p: p.part_number)
        if hasher is not None:
            md5 = hasher.hexdigest()
            self._verify(size, total, body.md5, md5, upload_id)
            info = self.store.complete_upload(self.key, upload_id, parts, meta)
            if info.size != size:
                self._forget(None)
                raise IntegrityError(f"destination holds {info.size} bytes, expected {size}")
            if info.metadata.get("md5") != md5:  # not vouched for up front: recorded now
                self.store.record_md5(self.key, md5)
        else:
            self._verify(size, total, None, None, upload_id)
            info = self.store.complete_upload(self.key, upload_id, parts, meta)
            md5, stored = stream_md5(self.store, self.key)
            if stored != size or info.size != size:
                self._forget(None)
                raise IntegrityError(f"destination holds {stored} bytes, expected {size}")
            vouched = body.md5 or info.metadata.get("md5")  # the source's, set at start
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

    def _read_into(self, body: Body, buf: bytearray, offset: int) -> int:
        """Fill ``buf`` with the next part from ``body``; returns its length (short only at
        the end). A broken connection is reopened at ``offset`` (the part start) a few
        times, and the part read again, before giving up."""
        view = memoryview(buf)
        for attempt in range(self.reopen_attempts + 1):
            try:
                return fill(body, view)
            except (StorageError, RestartNeeded):
                raise
            except Exception as exc:  # noqa: BLE001 - network errors of several libraries
                body.close()
                if attempt == self.reopen_attempts:
                    raise StorageError(f"reading the source failed: {type(exc).__name__}"
                                       ) from exc
                log.info("source read broke at %d (%s); reopening", offset,
                         type(exc).__name__)
                fresh = self._open(offset, body.validator)
                if fresh.restarted or (body.validator and fresh.validator
                                       and fresh.validator != body.validator):
                    fresh.close()
                    raise RestartNeeded("the source changed during the copy") from exc
                body.read, body.close, body.readinto = fresh.read, fresh.close, fresh.readinto
        raise AssertionError("unreachable")

    def _verify(self, size: int, total: int | None, source_md5: str | None,
                md5: str | None, upload_id: str | None) -> None:
        problem = None
        if self.expected_size is not None and size != self.expected_size:
            problem = f"copied {size} bytes, the provider said {self.expected_size}"
        elif total is not None and size != total:
            problem = f"copied {size} bytes, the source announced {total}"
        elif source_md5 and md5 and source_md5 != md5:
            problem = "MD5 of the copied bytes differs from the source's"
        if problem:
            self._forget(upload_id)
            raise IntegrityError(problem)


def copy_concurrency(store: ObjectStore) -> int:
    """Parts uploaded at once for ``store``: its ``copy_concurrency`` (a local folder gains
    nothing from parallel writes), else :data:`DEFAULT_CONCURRENCY`."""
    return store.copy_concurrency or DEFAULT_CONCURRENCY


def copy_source(source: UrlSource | CosObjectSource, store: ObjectStore, key: str, *,
                part_size: int = DEFAULT_PART_SIZE, expected_size: int | None = None,
                journal: CopyJournal | None = None,
                check_url: Callable[[str], None] | None = None,
                metadata: dict[str, str] | None = None,
                concurrency: int | None = None, reopen_attempts: int = 2,
                session: Any = None, cos_client: Any = None,
                server_side: bool = True) -> CopyResult:
    """Copy ``source`` into ``store`` at ``key`` (see the module doc for the guarantees).

    ``concurrency``: parts uploaded at once (default: :func:`copy_concurrency`).
    ``reopen_attempts``: how often a broken source connection is reopened (Range from the
    current part) within this call before giving up. ``session`` / ``cos_client``: inject
    a ``requests.Session`` / ``CosS3Client`` (tests, connection reuse). ``server_side``:
    let the store copy the source itself when it can (``False`` always streams)."""
    check_key(key, "key")
    if concurrency is None:
        concurrency = copy_concurrency(store)
    if part_size <= 0:
        raise ValueError("part_size must be positive")
    if expected_size is None and source.size is not None:
        expected_size = source.size
    reader: UrlReader | CosReader
    if isinstance(source, UrlSource):
        reader = UrlReader(source, check_url, session)
    elif isinstance(source, CosObjectSource):
        reader = CosReader(source, cos_client)
    else:
        raise TypeError(f"cannot copy from {type(source).__name__}")
    copy = _Copy(source, store, key, part_size=part_size, expected_size=expected_size,
                 journal=journal, reader=reader, metadata=dict(metadata or {}),
                 concurrency=concurrency, reopen_attempts=reopen_attempts,
                 server_side=server_side)
    try:
        return copy.run()
    finally:
        reader.close()
