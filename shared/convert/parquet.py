"""CSV and JSON (one object per line, or an array) into Parquet with typed columns, via DuckDB.

One member at a time, in bounded memory and bounded temporary disk:

1. :meth:`ParquetConverter.spool` takes the member's content as it comes out of the archive
   and writes it gzip'd (level 1) into a temporary folder under :func:`tempfile.gettempdir`
   (``/tmp`` on Lambda and SCF, 512 MB on each);
2. :meth:`ParquetConverter.convert` has DuckDB read that file (``read_csv`` /
   ``read_json``, types detected from the data) and write the Parquet file beside it
   (zstd), one row group after another;
3. the caller uploads the Parquet file in parts and the folder is removed.

The spooled member and the Parquet file together stay under ``tmp_bytes``
(``COURIER_PARQUET_TMP_MB``, 384 MB by default: room on a 512 MB ``/tmp``); the gzip'd
spool is stopped at that bound as it grows, and a Parquet file that takes the pair past it
fails the member. DuckDB runs with ``memory_limit`` :data:`MEMORY_MB`, :data:`THREADS`
threads, and spills (if it must) into the same folder. A member DuckDB cannot read as its
extension says fails with :class:`ConversionError` naming the member.

Types: DuckDB's sniffer detects them from the first 20,480 rows of a ``.gz`` file (it cannot
sample further into a stream it cannot seek; duckdb.org/docs/stable/data/csv/auto_detection),
so a value further on that the detected type does not hold is converted again with
``sample_size = -1`` (every row). ``memory_limit`` bounds DuckDB's buffer manager only, and
``max_temp_directory_size`` its spill (duckdb.org/docs/stable/operations_manual/limits); the
rest of its memory is small and measured by ``bench/bench_parquet.py``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.errors import StorageError

MODULE = "duckdb"
MEMORY_MB = 256  # DuckDB's memory_limit while converting (the complete function has 1024)
THREADS = 1  # a Lambda of 1024 MB has about 0.6 of a vCPU; SCF's is alike
SPOOL_LEVEL = 1  # gzip level of the spooled member: fast, and about a fifth of CSV's size
READ_SIZE = 1024 * 1024
# member extensions (the last one, lower case) and how DuckDB reads them
KINDS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".ndjson": "json"}


class ConversionError(StorageError):
    """A member cannot be converted as it is; asking again does not help."""

    stage = "converting to Parquet"

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def kind_of(name: str) -> str | None:
    """``"csv"`` or ``"json"`` for a member the converter takes, else None."""
    return KINDS.get(os.path.splitext(name.lower())[1])


@dataclass
class Spooled:
    """A member's content as spooled: its size and MD5, and the gzip'd file holding it."""

    name: str
    kind: str
    path: Path
    content_size: int = 0
    content_md5: Any = field(default_factory=hashlib.md5)  # noqa: S324 - integrity


@dataclass(frozen=True)
class Converted:
    path: Path
    size: int
    rows: int
    columns: dict[str, str]  # column name -> DuckDB type


class ParquetConverter:
    """A temporary folder and the bound on it; ``with`` removes the folder."""

    def __init__(self, tmp_bytes: int, *, memory_mb: int = MEMORY_MB,
                 threads: int = THREADS) -> None:
        import duckdb  # noqa: F401 - fail here, before a byte is spooled, if it is missing

        self.tmp_bytes, self.memory_mb, self.threads = tmp_bytes, memory_mb, threads
        self.folder = Path(tempfile.mkdtemp(prefix="courier-parquet-"))

    def __enter__(self) -> ParquetConverter:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def spool(self, name: str, chunks: Iterator[bytes]) -> Spooled:
        """Write ``chunks`` (the member's content) gzip'd into the folder, within the bound."""
        kind = kind_of(name)
        if kind is None:
            raise ConversionError(f"member {name!r} is neither CSV nor JSON")
        self._clear()
        spooled = Spooled(name, kind, self.folder / f"member.{kind}.gz")
        packer = zlib.compressobj(SPOOL_LEVEL, zlib.DEFLATED, 31)
        with open(spooled.path, "wb") as out:
            for chunk in chunks:
                spooled.content_md5.update(chunk)
                spooled.content_size += len(chunk)
                out.write(packer.compress(chunk))
                if out.tell() > self.tmp_bytes // 2:
                    raise ConversionError(
                        f"member {name!r} is too large to convert within the temporary "
                        f"space (COURIER_PARQUET_TMP_MB={self.tmp_bytes // 1048576}: the "
                        "member, gzip'd, and its Parquet file must fit together)")
            out.write(packer.flush())
        return spooled

    def convert(self, spooled: Spooled) -> Converted:
        """The Parquet file of ``spooled`` (see the module doc)."""
        import duckdb

        target = self.folder / "member.parquet"
        try:
            try:
                copied, described = self._copy(spooled, target, sample=None)
            except (duckdb.ConversionException, duckdb.InvalidInputException):
                # perhaps a value past the sniffer's sample that its type does not hold:
                # detect the types from every row instead (one more pass over the member)
                copied, described = self._copy(spooled, target, sample=-1)
        except duckdb.Error as exc:
            raise ConversionError(
                f"member {spooled.name!r} is not valid {spooled.kind.upper()}: "
                f"{_said(exc, spooled)}") from exc
        size = target.stat().st_size
        if size + spooled.path.stat().st_size > self.tmp_bytes:
            raise ConversionError(
                f"member {spooled.name!r}: its Parquet file does not fit in the temporary "
                f"space (COURIER_PARQUET_TMP_MB={self.tmp_bytes // 1048576})")
        spooled.path.unlink()
        return Converted(target, size, int(copied[0]) if copied else 0,
                         {str(row[0]): str(row[1]) for row in described})

    def _copy(self, spooled: Spooled, target: Path, *, sample: int | None
              ) -> tuple[Any, list[Any]]:
        import duckdb

        source = _quoted(spooled.path)
        sampled = "" if sample is None else f", sample_size = {int(sample)}"
        reader = (f"read_csv({source}, compression = 'gzip'{sampled})" if spooled.kind == "csv"
                  else f"read_json({source}, format = 'auto', compression = 'gzip'{sampled})")
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": f"{self.memory_mb}MB", "threads": self.threads,
            "temp_directory": str(self.folder / "spill"),
            "max_temp_directory_size": f"{max(self.tmp_bytes // 1048576 // 4, 1)}MB"}
        with duckdb.connect(config=config) as con:
            copied = con.execute(f"COPY (SELECT * FROM {reader}) TO {_quoted(target)} "
                                 "(FORMAT parquet, COMPRESSION zstd)").fetchone()
            described = con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({_quoted(target)})").fetchall()
        return copied, described

    def _clear(self) -> None:
        for path in self.folder.iterdir():
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink()


def read_chunks(path: Path, size: int = READ_SIZE) -> Iterator[bytes]:
    with open(path, "rb") as source:
        while chunk := source.read(size):
            yield chunk


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _said(exc: BaseException, spooled: Spooled) -> str:
    """What DuckDB said up to its first blank line (not the data line it quotes, nor the kind
    of error it starts with), with the member's name for the temporary file's path."""
    text = re.sub(r"^[A-Za-z ]{1,40} Error: ", "", str(exc).strip())
    text = text.replace(str(spooled.path), spooled.name)
    said: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            break
        if not line.startswith("Original Line") and len(said) < 2:
            said.append(line.strip().rstrip("."))
    joined = "; ".join(said) or "it could not be read"
    return joined if len(joined) <= 300 else joined[:297] + "..."
