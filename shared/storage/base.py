"""ObjectStore: where a finished export lands.

A store is multipart-shaped so that a copy can be resumed from recorded parts:
``start_upload`` → ``put_part`` × N → ``complete_upload`` (or ``abort_upload``). ``head``
tells whether an object is already there (idempotent copies). Backends: ``local.py``
(a folder), ``s3.py`` (boto3), ``cos.py`` (cos-python-sdk-v5).

The sources a copy reads from (:class:`~shared.model.UrlSource`,
:class:`~shared.model.CosObjectSource`, …) are part of the model: providers make them,
storage reads them.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from shared.errors import StorageError
from shared.write_options import NO_OPTIONS, WriteOptions

log = logging.getLogger(__name__)


class UploadNotFoundError(StorageError):
    """The multipart upload is gone (completed, aborted or expired): start a new one."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)  # user metadata (e.g. md5)


@dataclass(frozen=True)
class UploadedPart:
    part_number: int
    etag: str


def sdk_body(data: bytes | bytearray | memoryview) -> bytes | bytearray:
    """``data`` as an SDK accepts a request body (bytes or bytearray): a view that spans a
    whole bytearray (a copy's full part buffer) is handed over as that bytearray, without
    copying; any other view is copied."""
    if isinstance(data, memoryview):
        owner = data.obj
        if isinstance(owner, bytearray) and data.nbytes == len(owner) and data.contiguous:
            return owner
        return data.tobytes()
    return data


class ObjectStore(ABC):
    """A destination bucket (or folder) under a fixed prefix."""

    scheme: str = ""
    copy_concurrency: int = 0  # parts uploaded at once; 0: the copy's default
    write: WriteOptions = NO_OPTIONS  # the protections every object written here carries

    def protection(self) -> dict[str, Any]:
        """The write options asked of this store, as recorded with a delivery (empty: none);
        every object written was checked to carry them."""
        return self.write.record()

    def protection_problems(self, key: str) -> list[str]:
        """What the object ``key`` (written earlier) lacks of the write options, each
        naming the option; empty when it has them all (or none were asked)."""
        return []

    @abstractmethod
    def uri(self, key: str) -> str:
        """The user-facing URI of ``key`` (``s3://bucket/key``, ``file:///…``)."""

    @abstractmethod
    def head(self, key: str) -> ObjectInfo | None:
        """Size, ETag and user metadata of ``key``, or None if absent."""

    @abstractmethod
    def start_upload(self, key: str, metadata: dict[str, str] | None = None) -> str:
        """Begin a multipart upload; returns its upload id."""

    @abstractmethod
    def put_part(self, key: str, upload_id: str, part_number: int,
                 data: bytes | bytearray | memoryview, *, offset: int | None = None) -> str:
        """Upload one part (numbers from 1); returns its ETag. The store must not keep
        ``data`` (a copy reuses the buffer once the call returns). ``offset``: where the part's
        bytes start in the object, if the caller knows (parts of one upload must then not
        overlap); a store may use it to write the part in place (a local folder does)."""

    @abstractmethod
    def complete_upload(
        self, key: str, upload_id: str, parts: list[UploadedPart],
        metadata: dict[str, str] | None = None,
    ) -> ObjectInfo:
        """Assemble the parts in order into the object."""

    @abstractmethod
    def abort_upload(self, key: str, upload_id: str) -> None:
        """Drop an unfinished upload and its parts (no error if already gone)."""

    def put_object(self, key: str, data: bytes, metadata: dict[str, str] | None = None
                   ) -> ObjectInfo:
        """Single-request upload for small objects; default goes through one part."""
        upload_id = self.start_upload(key, metadata)
        etag = self.put_part(key, upload_id, 1, data)
        return self.complete_upload(key, upload_id, [UploadedPart(1, etag)], metadata)

    def read(self, key: str) -> bytes:
        """Whole object (tests, verification of small objects)."""
        raise NotImplementedError

    def delete(self, key: str) -> None:
        """Remove the object (no error when it is absent): the doctor's probe object, an
        unpacked archive's raw copy when it is not to be kept."""
        raise NotImplementedError

    @property
    def where(self) -> str:
        """The destination in words for a person: its URI root and, for a bucket, the
        endpoint its requests go to."""
        return repr(self)

    def iter_read(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        """The object as a stream of chunks (bounded memory); default reads it whole."""
        yield self.read(key)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """``length`` bytes of the object from ``start`` (fewer at its end), by one ranged
        read: an archive's directory is read this way, never the whole object."""
        raise NotImplementedError

    def set_metadata(self, key: str, metadata: dict[str, str]) -> ObjectInfo:
        """Merge ``metadata`` into the user metadata of an existing object."""
        raise NotImplementedError

    def record_md5(self, key: str, md5: str) -> None:
        """Attach the MD5 of an existing object's bytes, learnt only after they were written,
        without rewriting the object where the store can; :meth:`head` reports it as
        ``metadata["md5"]``. The default keeps it in the user metadata."""
        self.set_metadata(key, {"md5": md5})

    def presign(self, key: str, expires_s: int) -> str | None:
        """A time-limited download link, where the backend can make one."""
        return None

    def server_side_copy(self, source: Any, key: str, metadata: dict[str, str] | None = None
                         ) -> ObjectInfo | None:
        """Copy ``source`` into ``key`` without downloading, if this store can; else None."""
        return None


MD5_TAG = "md5"


class TaggedObjectStore(ObjectStore):
    """A bucket (S3, COS) whose user metadata is fixed when an object is written but whose
    object tags can change afterwards: an MD5 learnt only once the upload is done goes
    into the tag ``md5`` instead of a rewrite of the whole object."""

    @abstractmethod
    def _tags(self, key: str) -> dict[str, str]:
        """The object's tags."""

    @abstractmethod
    def _put_tags(self, key: str, tags: dict[str, str]) -> None:
        """Replace the object's tags with ``tags`` (none: remove them all)."""

    def _with_tagged_md5(self, key: str, metadata: dict[str, str]) -> dict[str, str]:
        """``metadata`` plus the MD5 tag as ``md5``, unless the metadata carries one. Without
        the right to read tags there is no tagged MD5 to find: the copy then copies again
        rather than skip, which is safe."""
        if "md5" not in metadata:
            try:
                md5 = self._tags(key).get(MD5_TAG)
            except StorageError as exc:
                if exc.status != 403:
                    raise
                log.warning("cannot read object tags (%s); grant GetObjectTagging so that "
                            "copies already done are recognised", exc.message)
                md5 = None
            if md5:
                return {**metadata, "md5": md5}
        return metadata

    def record_md5(self, key: str, md5: str) -> None:
        """Keep ``md5`` in the tag ``md5``, leaving the other tags as they are; an empty
        ``md5`` removes it. The object itself is not rewritten. Where the store refuses the
        tag (403: no right to tag objects; 400: e.g. the object already has the most tags
        allowed), the MD5 goes into the metadata instead, by a server-side rewrite."""
        try:
            tags = {k: v for k, v in self._tags(key).items() if k != MD5_TAG}
            if md5:
                tags[MD5_TAG] = md5
            self._put_tags(key, tags)
        except StorageError as exc:
            if exc.status not in (400, 403):
                raise
            log.warning("cannot tag %s (%s): its MD5 goes into the metadata by rewriting "
                        "the object; grant Get/Put/DeleteObjectTagging to avoid that",
                        key, exc.message)
            self.set_metadata(key, {"md5": md5})
