"""Reading the members of an archive that sits in the destination store, within limits.

* ``.tar.gz`` / ``.tgz`` (CLS): streamed, front to back, through :meth:`ObjectStore.iter_read`
  (no temporary disk; the gzip and tar buffers are bounded). ``tarfile`` reads the headers;
  a member's bytes are handed on as zlib produces them (:class:`Inflated`), not copied
  through tarfile's stream buffers, and the object is read to its end, so that every stored
  byte is checked against the raw copy's MD5.
* ``.zip`` (DMS): the central directory and each member are read by ranged reads
  (:class:`RangedFile` over :meth:`ObjectStore.read_range`), never the whole archive.

Everything an archive says about itself is checked against what it holds: a member larger
than ``max_member_bytes``, members together larger than ``max_total_bytes``, or more unpacked
bytes per archive byte than ``max_ratio`` (a zip bomb) stop the reading with
:class:`ArchiveError`, counted on the bytes actually produced, not only on the headers. A
corrupt archive (bad gzip or tar data, a bad zip directory or CRC) is an
:class:`ArchiveError` too. Only regular files are members; folders, links and devices are
skipped.
"""

from __future__ import annotations

import io
import logging
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from shared.errors import StorageError
from shared.setting_values import UnpackSettings
from shared.storage.base import ObjectStore

log = logging.getLogger(__name__)

READ_AHEAD = 1024 * 1024  # one ranged read of a zip fetches at least this much
STREAM_BUFFER = 64 * 1024  # read size of a streamed archive from its store
FEED_SIZE = 64 * 1024  # compressed bytes given to zlib at once (its unconsumed tail is a copy)
OUT_SIZE = 64 * 1024  # decompressed bytes at most per step: below malloc's mmap threshold, in cache
MAX_HEADER = 16 * 1024 * 1024  # a tar header (long name, pax records) read whole, at most
KINDS = {".tar.gz": "tar.gz", ".tgz": "tar.gz", ".zip": "zip"}


class ArchiveError(StorageError):
    """The archive cannot be unpacked as it is; asking again does not help."""

    stage = "unpacking"

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def archive_kind(file_name: str | None) -> str | None:
    """``"tar.gz"`` or ``"zip"`` for an archive Courier unpacks, else None."""
    name = (file_name or "").lower()
    return next((kind for ext, kind in KINDS.items() if name.endswith(ext)), None)


@dataclass
class Member:
    name: str
    size: int | None  # as the archive declares it (None: not declared)
    stream: io.RawIOBase | io.BytesIO  # its content, checked by the Limits it is read under


class Limits:
    """The unpack limits of one archive of ``archive_size`` bytes, counted as bytes come."""

    def __init__(self, settings: UnpackSettings, archive_size: int) -> None:
        self.settings = settings
        self.archive_size = max(archive_size, 1)
        self.total = 0

    def declared(self, name: str, size: int | None, packed: int | None = None) -> None:
        """Refuse a member by its header before a byte of it is read."""
        if size is None:
            return
        self._member(name, size)
        if packed is not None and size > self.settings.max_ratio * max(packed, 1) \
                and size > 1024 * 1024:
            self._bomb(f"member {name!r} unpacks {size} bytes from {packed} "
                       "(COURIER_UNPACK_MAX_RATIO)")
        self._sum(self.total + size, name)

    def counted(self, name: str, member_bytes: int, more: int) -> None:
        """``more`` bytes of member ``name`` were produced (``member_bytes`` so far)."""
        self.total += more
        self._member(name, member_bytes)
        self._sum(self.total, name)

    def _member(self, name: str, size: int) -> None:
        if size > self.settings.max_member_bytes:
            raise ArchiveError(f"member {name!r} is larger than the "
                               f"{self.settings.max_member_bytes // 1024**2} MB a member may "
                               "unpack to (COURIER_UNPACK_MAX_MEMBER_MB)")

    def _sum(self, total: int, name: str) -> None:
        if total > self.settings.max_total_bytes:
            self._bomb(f"its members unpack to more than "
                       f"{self.settings.max_total_bytes // 1024**2} MB "
                       "(COURIER_UNPACK_MAX_TOTAL_MB)")
        if total > self.settings.max_ratio * self.archive_size and total > 1024 * 1024:
            self._bomb(f"its members unpack to more than {self.settings.max_ratio:g} times "
                       "its own size (COURIER_UNPACK_MAX_RATIO)")

    @staticmethod
    def _bomb(why: str) -> None:
        raise ArchiveError(f"the archive looks like a decompression bomb: {why}")


class CountingStream(io.RawIOBase):
    """A member's stream that reports every chunk to :class:`Limits`."""

    def __init__(self, inner: IO[bytes], name: str, limits: Limits) -> None:
        self.inner, self.name, self.limits, self.done = inner, name, limits, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            chunk = self.inner.read(size)
        except (zlib.error, EOFError, OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
            raise ArchiveError(f"the archive is corrupt: member {self.name!r} cannot be "
                               f"read ({_words(exc)})") from exc
        self.done += len(chunk)
        self.limits.counted(self.name, self.done, len(chunk))
        return chunk


class Inflated:
    """The gzip data of an object read front to back, decompressed as it is read, as a
    forward-only file for ``tarfile``: :meth:`read` gives exactly what is asked (headers),
    :meth:`read_some` a member's bytes as they come out of zlib, without joining or copying
    them; :meth:`seek` only skips forward. Each decompression yields at most
    :data:`OUT_SIZE` bytes from at most :data:`FEED_SIZE` compressed ones, so a bomb costs
    no memory (the :class:`Limits` stop it as it unpacks). Concatenated gzip members are read
    one after the other, as gzip does; ``seen`` gets every stored byte of the object."""

    def __init__(self, chunks: Iterator[bytes], seen: Callable[[bytes], None]) -> None:
        self.outputs = _inflate(chunks, seen)
        self.current, self.at, self.pos = b"", 0, 0

    def tell(self) -> int:
        return self.pos

    def read_some(self, size: int) -> bytes:
        """Up to ``size`` bytes (at least one unless the data has ended)."""
        if self.at >= len(self.current):
            self.current, self.at = next(self.outputs, b""), 0
            if not self.current:
                return b""
        n = min(size, len(self.current) - self.at)
        if self.at == 0 and n == len(self.current):
            piece = self.current  # the whole output of one decompression: no copy
        else:
            piece = self.current[self.at:self.at + n]
        self.at += n
        self.pos += n
        return piece

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            raise io.UnsupportedOperation("an archive is never read whole")
        if size > MAX_HEADER:  # tarfile reads headers whole (a long name, pax records)
            raise ArchiveError(f"the archive is corrupt: a header of {size} bytes, over the "
                               f"{MAX_HEADER // 1024**2} MB a header may hold")
        pieces = []
        while size > 0 and (piece := self.read_some(size)):
            pieces.append(piece)
            size -= len(piece)
        return b"".join(pieces)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self.pos + offset
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < self.pos:
            raise io.UnsupportedOperation("a streamed archive is only read forward")
        while self.pos < target and self.read_some(target - self.pos):
            pass
        return self.pos

    def rest(self) -> Iterator[bytes]:
        """What follows the tar data (padding up to its record), to the end of the object."""
        while piece := self.read_some(OUT_SIZE):
            yield piece


def _inflate(chunks: Iterator[bytes], seen: Callable[[bytes], None]) -> Iterator[bytes]:
    inflate = zlib.decompressobj(31)
    try:
        for raw in chunks:
            seen(raw)
            view = memoryview(raw)
            for at in range(0, len(view), FEED_SIZE):
                data: bytes | memoryview = view[at:at + FEED_SIZE]
                while data:
                    if inflate.eof:  # another gzip member follows the one that ended
                        inflate = zlib.decompressobj(31)
                    out = inflate.decompress(data, OUT_SIZE)
                    data = inflate.unused_data if inflate.eof else inflate.unconsumed_tail
                    if out:
                        yield out
        while not inflate.eof:  # output zlib still holds for input it has taken
            out = inflate.decompress(inflate.unconsumed_tail, OUT_SIZE)
            if not out:
                raise ArchiveError("the archive is corrupt: its gzip data ends early")
            yield out
    except zlib.error as exc:
        raise ArchiveError(f"the archive is corrupt: {_words(exc)}") from exc


class TarData:
    """The bytes of one tar member, read straight from the :class:`Inflated` stream."""

    def __init__(self, stream: Inflated, size: int) -> None:
        self.stream, self.left = stream, size

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0 or size == 0:
            return b""
        piece = self.stream.read_some(self.left if size < 0 else min(size, self.left))
        if not piece:
            raise EOFError("unexpected end of data")
        self.left -= len(piece)
        return piece


class RangedFile(io.RawIOBase):
    """A seekable view of an object through ranged reads (at least :data:`READ_AHEAD`
    bytes each), holding one read-ahead buffer."""

    def __init__(self, store: ObjectStore, key: str, size: int) -> None:
        self.store, self.key, self.size = store, key, size
        self.pos, self.buf_start, self.buf = 0, 0, b""
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self.size - self.pos)
        if want <= 0:
            return 0
        inside = self.buf_start <= self.pos and self.pos + want <= self.buf_start + len(self.buf)
        if not inside:
            self.buf_start = self.pos
            self.buf = self.store.read_range(self.key, self.pos, max(want, READ_AHEAD))
            self.requests += 1
        at = self.pos - self.buf_start
        data = self.buf[at:at + want]
        buffer[:len(data)] = data
        self.pos += len(data)
        return len(data)


def tar_members(store: ObjectStore, key: str, limits: Limits,
                seen: Callable[[bytes], None]) -> Iterator[Member]:
    """The regular files of the ``.tar.gz`` at ``key``, in archive order; ``seen`` gets
    every stored byte of the archive (to check it against the raw copy's MD5), to its end."""
    stream = Inflated(store.iter_read(key, STREAM_BUFFER), seen)
    try:
        with tarfile.TarFile(fileobj=stream, mode="r") as tar:  # type: ignore[arg-type]
            for info in _checked(tar):
                if not info.isfile():
                    log.info("archive member %r is not a regular file; skipped", info.name)
                    continue
                limits.declared(info.name, info.size)
                if info.issparse() or stream.tell() != info.offset_data:
                    inner: Any = tar.extractfile(info)  # through tarfile's own reader
                else:
                    inner = TarData(stream, info.size)
                yield Member(info.name, info.size, CountingStream(inner, info.name, limits))
    except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
        raise ArchiveError(f"the archive is corrupt: {_words(exc)}") from exc
    for piece in stream.rest():  # to the end, so that every stored byte is seen and checked
        limits.counted("", 0, len(piece))


def _checked(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    while True:
        try:
            info = tar.next()
        except (tarfile.TarError, zlib.error, EOFError, OSError) as exc:
            raise ArchiveError(f"the archive is corrupt: {_words(exc)}") from exc
        if info is None:
            return
        yield info


def zip_members(store: ObjectStore, key: str, size: int, limits: Limits,
                skip: Callable[[int], bool] = lambda index: False) -> Iterator[Member]:
    """The regular files of the ``.zip`` at ``key`` in directory order, each checked by its
    header before it is read; the ``skip``-th member (counting regular files from 0, one
    already stored) is yielded without a stream and not read."""
    try:
        archive = zipfile.ZipFile(RangedFile(store, key, size))  # noqa: SIM115 - closed below
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ArchiveError(f"the archive is corrupt: {_words(exc)}") from exc
    with archive:
        files = [info for info in archive.infolist() if not info.is_dir()]
        for index, info in enumerate(files):
            limits.declared(info.filename, info.file_size, info.compress_size)
            if skip(index):
                limits.total += info.file_size
                yield Member(info.filename, info.file_size, io.BytesIO())
                continue
            try:
                inner = archive.open(info)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
                raise ArchiveError(f"the archive is corrupt: member {info.filename!r} cannot "
                                   f"be read ({_words(exc)})") from exc
            with inner:
                yield Member(info.filename, info.file_size,
                             CountingStream(inner, info.filename, limits))


def _words(exc: BaseException) -> str:
    """What went wrong, without a class name a user has no use for."""
    text = str(exc).strip()
    return text or "unexpected end of data"
