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
   buffers, allocated once per copy; nothing touches the local disk. The next part is read
   only once an upload slot is free, so at most ``concurrency`` parts are ever read and not
   yet stored: what a kill can cost. The size need not be
   known up front. A source that fits in one part (and is not a resume) goes through
   ``put_object``.
2a. **Limits.** An upload has at most 10,000 parts: when the announced size needs more, the
   part grows to the smallest multiple of ``part_size`` that fits (up to the stores' 5 TiB
   object), and fewer parts go at once (``concurrency`` shrinks by the same factor, down to
   one): memory stays ``part_size × (concurrency + 4)``, about 2.6 GiB for a 5 TiB file
   (528 MiB parts, one at a time) with the default 8 MiB part. A source that sends more
   than announced (by the provider, else by its own answer) is cut off at the announced
   size and the copy fails, not retried
   (:class:`~shared.storage.pipeline.SourceTooLargeError`). With a ``deadline`` the
   source's connection is shut down when it passes, however slowly bytes still arrive
   (:class:`~shared.storage.pipeline.CopyDeadlineError`, retried; the parts stored stay).
3. **Journal.** Every part is recorded through ``journal.part_done`` as soon as the store
   has it (from the uploading thread, in completion order), so a kill re-reads at most the
   parts that were in flight. A later invocation whose ``journal.load()`` returns
   the upload id keeps every journaled part, gaps included (parts finish out of order: part
   1 may die in flight after parts 2 and 3 are stored; :func:`~shared.storage.pipeline.
   resume_plan`), reads only the missing parts with ``Range: bytes=N-M`` requests and the
   rest after the last kept part with ``Range: bytes=N-``, and completes with all parts in
   order, so finished parts are not downloaded or uploaded again. A source that ignores
   Range (200 with the whole body) can serve a gap at byte 0; anywhere else it starts the
   copy over.
4. **Source pinning.** The source's validator (strong ETag, else Last-Modified) is sent as
   ``If-Range`` on a resume: a source that changed answers with the whole body (200), and the
   copy starts over on a fresh upload. A journal may also implement the optional
   ``pin(validator)`` / ``pinned() -> str | None`` methods; then the validator seen when the
   upload started is stored and compared on resume (a mismatch starts over as well).
5. **Verification.** The byte count is checked against ``expected_size``, the response's
   ``Content-Length`` / ``Content-Range`` total and the size the store reports; an MD5 the
   source advertises (``Content-MD5`` on a full response, ``x-amz-meta-md5`` /
   ``x-cos-meta-md5``, a COS object's single-part ETag) is compared with ours, and so is the
   CRC-64 COS sends with a whole object (``x-cos-hash-crc64ecma``, the one check of a
   multipart COS source's bytes; a resumed copy has no CRC of its own to compare). Any mismatch
   aborts the upload, clears the journal and raises :class:`IntegrityError`.
6. **Where the MD5 goes.** When the source vouches for an MD5 (``Content-MD5``,
   ``x-*-meta-md5``), it is written as ``md5`` metadata when the upload starts and checked
   before completing. Otherwise the copy hashes while streaming, completes the upload, and
   hands the MD5 to ``ObjectStore.record_md5`` (an object tag on S3/COS, so the object is
   not rewritten; the sidecar on a folder). Until that succeeds the object has no ``md5``,
   so an interrupted copy is copied again rather than skipped.
   MD5 state cannot be carried across invocations (and a resume around gaps does not read
   the kept parts), so a resumed copy reads the finished object back from the destination
   (streamed, bounded memory) to compute it, checks its size and any MD5 the source vouched
   for (on any of the resume's answers, or at the upload's start), and only then records
   it. (A resumed upload carries a vouched md5 from its start: if it fails the read-back
   check, ``md5`` is blanked and IntegrityError raised.)

Errors: :class:`SourceExpiredError` when the URL (or the temporary credentials) lapsed — ask
the provider for a fresh one and call again, the copy resumes; other failures are
:class:`StorageError` with ``retryable`` set; finished parts stay journalled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared import cutoff
from shared.keys import check_key
from shared.model import CosObjectSource, UrlSource
from shared.storage.base import ObjectStore
from shared.storage.copier import Copier
from shared.storage.cos_source import CosReader
from shared.storage.pipeline import MAX_PARTS, CopyJournal, CopyResult, part_size_for
from shared.storage.sources import UrlReader

DEFAULT_PART_SIZE = 8 * 1024 * 1024
DEFAULT_CONCURRENCY = 4


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
                server_side: bool = True, deadline: float | None = None,
                max_parts: int = MAX_PARTS) -> CopyResult:
    """Copy ``source`` into ``store`` at ``key`` (see the module doc for the guarantees).

    ``concurrency``: parts uploaded at once (default: :func:`copy_concurrency`).
    ``reopen_attempts``: how often a broken source connection is reopened (Range from the
    current part) within this call before giving up. ``session`` / ``cos_client``: inject
    a ``requests.Session`` / ``CosS3Client`` (tests, connection reuse). ``server_side``:
    let the store copy the source itself when it can (``False`` always streams).
    ``deadline`` (``time.monotonic()``): the copy stops reading then, however slowly the
    source still sends (:class:`~shared.storage.pipeline.CopyDeadlineError`, retryable).
    ``max_parts``: the most parts an upload may have (the stores' 10,000; tests lower it)."""
    check_key(key, "key")
    if concurrency is None:
        concurrency = copy_concurrency(store)
    if part_size <= 0:
        raise ValueError("part_size must be positive")
    if expected_size is None and source.size is not None:
        expected_size = source.size
    grown = part_size_for(expected_size, part_size, max_parts)
    if grown != part_size:
        # fewer parts at once: memory grows with the part, not with part × concurrency
        concurrency = max(1, concurrency * part_size // grown)
        part_size = grown
    reader: UrlReader | CosReader
    if isinstance(source, UrlSource):
        reader = UrlReader(source, check_url, session)
    elif isinstance(source, CosObjectSource):
        reader = CosReader(source, cos_client, guard=check_url)
    else:
        raise TypeError(f"cannot copy from {type(source).__name__}")
    copy = Copier(source, store, key, part_size=part_size, expected_size=expected_size,
                 journal=journal, reader=reader, metadata=dict(metadata or {}),
                 concurrency=concurrency, reopen_attempts=reopen_attempts,
                 server_side=server_side, deadline=deadline, max_parts=max_parts)
    try:
        with cutoff.cut_off_at(deadline):
            return copy.run()
    finally:
        reader.close()
