"""Result files: registered by token, served from signed URLs, generated on the fly.

Content is NDJSON, deterministic per file seed, exactly ``size`` bytes. Every line has the
same width (``LINE``) except the last, which absorbs the remainder, so any byte range is
produced without building the whole file.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Optional
from urllib.parse import quote

LINE = 200
CHUNK = 64 * 1024


@dataclass(frozen=True)
class FileEntry:
    token: str
    name: str
    size: int
    seed: str
    modified: float  # sandbox unix time the file came to exist

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

    def register(self, token: str, name: str, size: int, seed: str, modified: float) -> FileEntry:
        entry = FileEntry(token=token, name=name, size=int(size), seed=seed, modified=modified)
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
