"""LocalObjectStore: a folder that behaves like a bucket (sandbox, tests, on-premises mounts).

Layout under ``root``::

    <key>                                  finished objects
    .courier-staging/<upload_id>/          one multipart upload in progress
        upload.json                        its key and initial metadata
        data                               parts given with their offset, written in place
        part-00001.json                    one record per finished part: offset, size, ETag
        part-00001                         a part given without an offset: its own file
    .courier-meta/<key>.json               sidecar: size, etag, user metadata (md5, …)

A part whose byte offset in the object is known (``put_part(..., offset=N)``, as the copy
does) is written straight into ``data`` at that offset and flushed to disk (the copy
journals a part as finished once ``put_part`` returns), then dropped from the page cache
(``POSIX_FADV_DONTNEED``: it is not read again soon, and a copy of gigabytes then holds no
more cache than a part, where a container counts cache against its memory); its record is
written (to a temporary name, then renamed) only after the bytes are, so a recorded part is
whole. When the parts named at ``complete_upload`` tile ``data`` from byte 0 without gaps,
that file *is* the object: it is cut to size, fsynced and renamed over the key, and no byte
is written twice.
Otherwise (parts without offsets, or a selection of parts) the parts are concatenated into
a temporary file next to the target, which is fsynced and renamed. Either way readers see
the old object or the new one, never half of one. The sidecar is written the same way after
the rename; a sidecar whose size disagrees with the file (the file was replaced by hand) is
ignored.

A part's ETag is a CRC-32 of its bytes and their length: it only has to tell parts apart
when the upload is completed, and the whole object's MD5 is the copy's business.

Every error of the file system becomes a :class:`StorageError` that says what went wrong in
words (:func:`disk_error`): a name too long, a file where a folder should be, no permission or
a read-only disk are not retried (they need the operator or another key); a full disk and
other I/O errors are.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import uuid
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from shared.errors import StorageError
from shared.keys import check_key
from shared.storage.base import ObjectInfo, ObjectStore, UploadedPart, UploadNotFoundError
from shared.storage.local_files import COPY_BUFFER, append_range
from shared.write_options import NO_OPTIONS, WriteOptions, check_backend

log = logging.getLogger(__name__)

STAGING_DIR = ".courier-staging"
DATA_FILE = "data"
META_DIR = ".courier-meta"

_NOT_RETRYABLE = {
    errno.ENAMETOOLONG: "a name in the key is too long for the destination folder's file system",
    errno.ENOTDIR: "a file stands where the key needs a folder",
    errno.EISDIR: "a folder stands where the key needs a file",
    errno.EACCES: "no permission to write in the destination folder",
    errno.EPERM: "no permission to write in the destination folder",
    errno.EROFS: "the destination folder is on a read-only file system",
}
_RETRYABLE = {
    errno.ENOSPC: "the destination folder's disk is full",
    errno.EDQUOT: "the destination folder's disk quota is used up",
}
F = TypeVar("F", bound=Callable[..., Any])


def disk_error(exc: OSError, key: str) -> StorageError:
    """``exc`` as a :class:`StorageError` naming the problem (not the folder's path)."""
    shown = key if len(key) <= 80 else key[:77] + "..."
    if exc.errno in _NOT_RETRYABLE:
        return StorageError(f"{_NOT_RETRYABLE[exc.errno]} (key {shown!r})", retryable=False)
    if exc.errno in _RETRYABLE:
        return StorageError(f"{_RETRYABLE[exc.errno]} (key {shown!r})", retryable=True)
    reason = exc.strerror or "input/output error"
    return StorageError(f"the destination folder failed: {reason} (key {shown!r})",
                        retryable=True)


def _translated(method: F) -> F:
    """Turn the file system's errors of ``method(self, key, ...)`` into StorageErrors."""
    @functools.wraps(method)
    def wrapper(self: Any, key: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, key, *args, **kwargs)
        except StorageError:
            raise
        except OSError as exc:
            raise disk_error(exc, key) from exc

    return wrapper  # type: ignore[return-value]


class LocalObjectStore(ObjectStore):
    scheme = "file"
    # Each part is flushed to disk before put_part returns: a second writer lets one part
    # be written while the other is flushed. More only contend for the same disk.
    copy_concurrency = 2

    def __init__(self, root: str | os.PathLike[str], *,
                 write: WriteOptions = NO_OPTIONS) -> None:
        check_backend(write, "file")  # a folder honours none: any option is refused
        self.root = Path(root).resolve()

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    # ------------------------------------------------------------------ paths
    def _path(self, key: str) -> Path:
        check_key(key, "key")
        path = self.root.joinpath(*key.split("/"))
        # Belt and braces: symlinks inside root must not lead outside it.
        real = Path(os.path.realpath(path))
        if real != self.root and self.root not in real.parents:
            raise StorageError(f"key {key!r} resolves outside the destination folder",
                               retryable=False)
        return path

    def _meta_path(self, key: str) -> Path:
        check_key(key, "key")
        return self.root.joinpath(META_DIR, *key.split("/")).with_name(
            key.rsplit("/", 1)[-1] + ".json")

    def _upload_dir(self, upload_id: str) -> Path:
        if not upload_id or not all(c in "0123456789abcdef" for c in upload_id):
            raise UploadNotFoundError("malformed upload id")
        return self.root / STAGING_DIR / upload_id

    def uri(self, key: str) -> str:
        return self._path(key).as_uri()

    # ------------------------------------------------------------------ reads
    @_translated
    def head(self, key: str) -> ObjectInfo | None:
        path = self._path(key)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        if not path.is_file():
            return None
        sidecar = self._read_sidecar(key)
        if sidecar and sidecar.get("size") == st.st_size:
            return ObjectInfo(key=key, size=st.st_size, etag=sidecar.get("etag"),
                              metadata=dict(sidecar.get("metadata") or {}))
        return ObjectInfo(key=key, size=st.st_size)

    @_translated
    def read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise StorageError(f"no object {key!r}", retryable=False) from exc

    @_translated
    def read_range(self, key: str, start: int, length: int) -> bytes:
        try:
            with self._path(key).open("rb") as fh:
                fh.seek(start)
                return fh.read(length)
        except FileNotFoundError as exc:
            raise StorageError(f"no object {key!r}", retryable=False) from exc

    @_translated
    def delete(self, key: str) -> None:
        for path in (self._path(key), self._meta_path(key)):
            path.unlink(missing_ok=True)

    def iter_read(self, key: str, chunk_size: int = COPY_BUFFER) -> Iterator[bytes]:
        try:
            fh = self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise StorageError(f"no object {key!r}", retryable=False) from exc
        except OSError as exc:
            raise disk_error(exc, key) from exc
        with fh:
            while True:
                try:
                    chunk = fh.read(chunk_size)
                except OSError as exc:
                    raise disk_error(exc, key) from exc
                if not chunk:
                    return
                yield chunk

    # -------------------------------------------------------------- multipart
    @_translated
    def start_upload(self, key: str, metadata: dict[str, str] | None = None) -> str:
        self._path(key)
        upload_id = uuid.uuid4().hex
        folder = self._upload_dir(upload_id)
        folder.mkdir(parents=True, exist_ok=False)
        _write_atomic(folder / "upload.json",
                      json.dumps({"key": key, "metadata": dict(metadata or {})}).encode())
        return upload_id

    def _upload(self, key: str, upload_id: str) -> tuple[Path, dict[str, Any]]:
        folder = self._upload_dir(upload_id)
        try:
            info = json.loads((folder / "upload.json").read_text())
        except (FileNotFoundError, ValueError) as exc:
            raise UploadNotFoundError(f"no upload {upload_id} for {key!r}") from exc
        if info.get("key") != key:
            raise UploadNotFoundError(f"upload {upload_id} is not for {key!r}")
        return folder, info

    @_translated
    def put_part(self, key: str, upload_id: str, part_number: int,
                 data: bytes | bytearray | memoryview, *, offset: int | None = None) -> str:
        if not 1 <= part_number <= 10000:
            raise StorageError(f"part number {part_number} out of range", retryable=False)
        if offset is not None and offset < 0:
            raise StorageError(f"part offset {offset} is negative", retryable=False)
        folder, _ = self._upload(key, upload_id)
        etag = f"{zlib.crc32(data):08x}{len(data):010x}"
        name = f"part-{part_number:05d}"
        if offset is None:
            _write_atomic(folder / name, data)
        else:
            _pwrite_all(folder / DATA_FILE, data, offset)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(folder / name)  # an earlier offset-less try of this part
        record = {"etag": etag, "size": len(data), "offset": offset}
        _write_atomic(folder / f"{name}.json", json.dumps(record).encode())
        return etag

    @_translated
    def complete_upload(self, key: str, upload_id: str, parts: list[UploadedPart],
                        metadata: dict[str, str] | None = None) -> ObjectInfo:
        folder, info = self._upload(key, upload_id)
        if not parts:
            raise StorageError("cannot complete an upload without parts", retryable=False)
        numbers = [p.part_number for p in parts]
        if numbers != sorted(set(numbers)):
            raise StorageError("parts must be in ascending order without duplicates",
                               retryable=False)
        records = [self._part_record(folder, part) for part in parts]
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        size = sum(int(r["size"]) for r in records)
        data_file = folder / DATA_FILE
        if _tiles_from_zero(records):
            with open(data_file, "r+b") as out:
                out.truncate(size)  # a longer, abandoned try of the last part
                os.fsync(out.fileno())
            os.replace(data_file, target)
        else:
            self._concatenate(folder, parts, records, target)
        digest = hashlib.md5()  # noqa: S324 - an ETag, not security
        for record in records:
            digest.update(str(record["etag"]).encode())
        etag = f"{digest.hexdigest()}-{len(parts)}"
        merged = dict(info.get("metadata") or {})
        merged.update(metadata or {})
        self._write_sidecar(key, size, etag, merged)
        shutil.rmtree(folder, ignore_errors=True)
        return ObjectInfo(key=key, size=size, etag=etag, metadata=merged)

    @staticmethod
    def _part_record(folder: Path, part: UploadedPart) -> dict[str, Any]:
        try:
            record = json.loads((folder / f"part-{part.part_number:05d}.json").read_text())
        except (FileNotFoundError, ValueError) as exc:
            raise StorageError(f"part {part.part_number} was never uploaded",
                               retryable=False) from exc
        if record.get("etag") != part.etag.strip('"'):
            raise StorageError(f"part {part.part_number} has a different ETag",
                               retryable=False)
        return record  # type: ignore[no-any-return]

    @staticmethod
    def _concatenate(folder: Path, parts: list[UploadedPart], records: list[dict[str, Any]],
                     target: Path) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                for part, record in zip(parts, records):
                    if record.get("offset") is None:
                        path, start = folder / f"part-{part.part_number:05d}", 0
                    else:
                        path, start = folder / DATA_FILE, int(record["offset"])
                    with path.open("rb") as src:
                        append_range(src, out, start, int(record["size"]))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @_translated
    def abort_upload(self, key: str, upload_id: str) -> None:
        try:
            folder = self._upload_dir(upload_id)
        except UploadNotFoundError:
            return
        shutil.rmtree(folder, ignore_errors=True)

    @_translated
    def put_object(self, key: str, data: bytes, metadata: dict[str, str] | None = None
                   ) -> ObjectInfo:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, data)
        etag = hashlib.md5(data).hexdigest()  # noqa: S324
        meta = dict(metadata or {})
        self._write_sidecar(key, len(data), etag, meta)
        return ObjectInfo(key=key, size=len(data), etag=etag, metadata=meta)

    @property
    def where(self) -> str:
        return self.root.as_uri()

    @_translated
    def set_metadata(self, key: str, metadata: dict[str, str]) -> ObjectInfo:
        info = self.head(key)
        if info is None:
            raise StorageError(f"no object {key!r}", retryable=False)
        merged = dict(info.metadata)
        merged.update(metadata)
        self._write_sidecar(key, info.size, info.etag, merged)
        return ObjectInfo(key=key, size=info.size, etag=info.etag, metadata=merged)

    # -------------------------------------------------------------- sidecars
    def _read_sidecar(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self._meta_path(key).read_text())
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _write_sidecar(self, key: str, size: int, etag: str | None,
                       metadata: dict[str, str]) -> None:
        path = self._meta_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {"key": key, "size": size, "etag": etag, "metadata": metadata}
        _write_atomic(path, json.dumps(body, sort_keys=True).encode())


def _tiles_from_zero(records: list[dict[str, Any]]) -> bool:
    """Whether the parts, in order, cover ``data`` from byte 0 without gaps or overlaps."""
    pos = 0
    for record in records:
        if record.get("offset") != pos:
            return False
        pos += int(record["size"])
    return True


def _pwrite_all(path: Path, data: bytes | bytearray | memoryview, offset: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        view, start = memoryview(data), offset
        while view:
            written = os.pwrite(fd, view, offset)
            view, offset = view[written:], offset + written
        # on disk before the part is reported done: the copy journals it as finished
        os.fdatasync(fd)
        if hasattr(os, "posix_fadvise"):  # written and synced: its pages are not read soon
            os.posix_fadvise(fd, start, offset - start, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _write_atomic(path: Path, data: bytes | bytearray | memoryview) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise

