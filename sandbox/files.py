"""Result files: registered by token, served from signed URLs, generated on the fly.

Content is NDJSON, deterministic per file seed, exactly ``size`` bytes. Every line has the
same width (``LINE``) except the last, which absorbs the remainder, so any byte range is
produced without building the whole file.

A *packed* file is what a vendor ships compressed: CLS a gzip'd tar (``FileName`` ends
``.tar.gz`` in the DescribeExports example), DMS a zip (the GetDataExportDownloadURL
example URL ends ``.zip``). It holds one member of ``size`` bytes built as above; the served
file is the archive, built once in memory (deterministic: fixed times), so its size and
content differ from the member's. Packed members are kept to :data:`MAX_PACKED` bytes.
A member named ``….csv`` holds CSV of the same size (:func:`csv_content`: a header
``seq,file,level,msg,pad``, then fixed-width rows), so a test knows what it holds: rows
``0..n-1`` with ``seq`` the row number.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import io
import re
import secrets
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import quote

LINE = 200
CHUNK = 64 * 1024
MAX_PACKED = 64 * 1024 * 1024  # members of packed files are built in memory
# Assumption (no page states it): the Content-Type the object store gives each kind.
CONTENT_TYPES = {None: "application/octet-stream", "zip": "application/zip",
                 "tar.gz": "application/gzip"}


@dataclass(frozen=True)
class FileEntry:
    token: str
    name: str
    size: int
    seed: str
    modified: float  # sandbox unix time the file came to exist
    packing: Optional[str] = None  # None (plain), "zip" or "tar.gz"
    data: Optional[bytes] = field(default=None, repr=False, compare=False)  # packed bytes

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.packing]

    @property
    def etag(self) -> str:
        digest = hashlib.sha256(f"{self.seed}:{self.size}".encode()).hexdigest()
        return f'"{digest[:32]}"'


def _line(seed: str, index: int, width: int) -> bytes:
    """Line ``index`` of a file, exactly ``width`` bytes including the trailing newline."""
    head = (f'{{"seq":{index},"file":"{seed}","level":"INFO",'
            f'"msg":"sandbox log line {index}","pad":"')
    tail = '"}\n'
    room = width - len(head) - len(tail)
    if room < 0:  # tiny file: plain filler, still newline-terminated
        return (("x" * (width - 1)) + "\n").encode() if width > 0 else b""
    return (head + ("abcdefghijklmnopqrstuvwxyz" * (room // 26 + 1))[:room] + tail).encode()


def _width(size: int, index: int) -> int:
    lines = max(size // LINE, 1)
    if index < lines - 1:
        return LINE
    return size - LINE * (lines - 1)


def generate(entry: FileEntry, start: int = 0, end: Optional[int] = None) -> Iterator[bytes]:
    """Bytes ``start``..``end`` (inclusive) of a file, in chunks of about :data:`CHUNK`."""
    size = entry.size
    stop = size - 1 if end is None else min(end, size - 1)
    if size <= 0 or start > stop:
        return
    if entry.data is not None:
        for at in range(start, stop + 1, CHUNK):
            yield entry.data[at:min(at + CHUNK, stop + 1)]
        return
    lines = max(size // LINE, 1)
    index = min(start // LINE, lines - 1)
    offset = start - index * LINE
    buf: list[bytes] = []
    buffered = 0
    remaining = stop - start + 1
    while remaining > 0 and index < lines:
        data = _line(entry.seed, index, _width(size, index))[offset:offset + remaining]
        offset = 0
        index += 1
        remaining -= len(data)
        buf.append(data)
        buffered += len(data)
        if buffered >= CHUNK:
            yield b"".join(buf)
            buf, buffered = [], 0
    if buf:
        yield b"".join(buf)


class FileStore:
    """Token -> file, plus HMAC-signed, time-limited download URLs."""

    def __init__(self) -> None:
        self._files: dict[str, FileEntry] = {}
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()

    def register(self, token: str, name: str, size: int, seed: str, modified: float,
                 packing: Optional[str] = None, member: Optional[str] = None) -> FileEntry:
        """A file ``name`` under ``token``; with ``packing`` an archive holding one member
        ``member`` of ``size`` bytes (built once: the same registration is answered from
        the first)."""
        entry = FileEntry(token=token, name=name, size=int(size), seed=seed, modified=modified)
        if packing is not None:
            with self._lock:
                known = self._files.get(token)
            if known is not None and known.packing == packing and known.name == name:
                return known
            entry = pack(entry, packing, member or "data")
        with self._lock:
            self._files[token] = entry
        return entry

    def get(self, token: str) -> Optional[FileEntry]:
        with self._lock:
            return self._files.get(token)

    def remove(self, token: str) -> None:
        with self._lock:
            self._files.pop(token, None)

    def sign(self, token: str, name: str, expires: int) -> str:
        msg = f"{token}/{name}:{int(expires)}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()

    def check(self, token: str, name: str, sign: str, expires: int) -> bool:
        return hmac.compare_digest(self.sign(token, name, expires), sign)

    def url(self, base: str, token: str, name: str, expires: int) -> str:
        return (f"{base}/files/{quote(token, safe='')}/{quote(name, safe='')}"
                f"?sign={self.sign(token, name, expires)}&t={int(expires)}")


def csv_content(plain: FileEntry) -> bytes:
    """The rows of ``plain`` as CSV, ``plain.size`` bytes: a header, then rows of
    :data:`LINE` bytes (the last absorbs the remainder), each padded in its ``pad`` column;
    as many lines as the NDJSON form has."""
    header = b"seq,file,level,msg,pad\n"
    body = max(plain.size - len(header), LINE)
    rows = max(plain.size // LINE - 1, 1)  # with the header: as many lines as the NDJSON
    lines = [header]
    for i in range(rows):
        width = LINE if i < rows - 1 else body - LINE * (rows - 1)
        head = f"{i},{plain.seed},INFO,sandbox log line {i},".encode()
        lines.append(head + b"a" * max(width - len(head) - 1, 0) + b"\n")
    return b"".join(lines)


def pack(plain: FileEntry, packing: str, member: str) -> FileEntry:
    """``plain``'s bytes as the single member of a zip or a gzip'd tar."""
    if plain.size > MAX_PACKED:
        raise ValueError(f"packed files hold at most {MAX_PACKED} bytes")
    content = csv_content(plain) if member.endswith(".csv") else b"".join(generate(plain))
    buf = io.BytesIO()
    if packing == "zip":
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            info = zipfile.ZipInfo(member, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    elif packing == "tar.gz":
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=int(plain.modified)) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
                entry = tarfile.TarInfo(member)
                entry.size, entry.mtime, entry.mode = len(content), int(plain.modified), 0o644
                tar.addfile(entry, io.BytesIO(content))
    else:
        raise ValueError(f"unknown packing {packing!r}")
    data = buf.getvalue()
    return FileEntry(token=plain.token, name=plain.name, size=len(data), seed=plain.seed,
                     modified=plain.modified, packing=packing, data=data)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(value: str, size: int) -> Optional[tuple[int, int]]:
    """Inclusive (start, end) of one ``bytes=`` range; None when it cannot be satisfied."""
    m = _RANGE.match(value.strip())
    if not m or (not m.group(1) and not m.group(2)) or size <= 0:
        return None
    if not m.group(1):  # suffix: the last N bytes
        n = int(m.group(2))
        return (max(size - n, 0), size - 1) if n else None
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else size - 1
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)
