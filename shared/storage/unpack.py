"""Unpack: the second stage of a delivery, over Courier's own verified raw copy.

When unpacking is on (``COURIER_UNPACK``, a schedule's or an export's ``unpack``) and the
result is an archive (:func:`~shared.storage.archives.archive_kind`: CLS ``.tar.gz``, DMS
``.zip``), the copy stage lands the archive under ``raw/`` and records it with the export
(``destination.raw``: key, size, MD5). This stage then reads it back from the destination
(:mod:`shared.storage.archives`) and stores every member as its own gzip object beside
``manifest.json`` (a member that already is ``.gz`` is stored as it is, once checked to be
gzip). Keys follow :class:`~shared.storage.manifest.KeyAllocator`: ``x.csv`` becomes
``x.csv.gz``; unsafe names are made safe and a name used twice gets ``-2``, ``-3``.

Each stored member is journalled (``journal.members()`` / ``journal.member_done(entry)``),
so a stage that was killed resumes with the first member not yet stored, without asking the
vendor again and without rewriting a member. A member too large for one request goes up as a
multipart upload, whose id is journalled as soon as the store gives it
(``journal.member_upload({"key", "upload_id"})``, cleared with the member's entry); a stage
killed in the middle of such a member finds it on resume (``journal.open_upload()``) and
aborts it before it stores the member anew, so no unfinished upload is left behind (both
methods are optional: a journal without them keeps no upload id).

The manifest is written last and lists every member with its stored key, size and MD5 of
the stored bytes, and the size and MD5 of its content (the member's own bytes); it exists
only once every member is in place. Then, unless ``COURIER_UNPACK_KEEP_RAW=off``, the
archive stays where it is.

With ``format: parquet`` (``COURIER_FORMAT``, a schedule's or an export's ``format``), CSV and
JSON members (``.csv``, ``.tsv``, ``.json``, ``.jsonl``, ``.ndjson``) are converted instead,
one Parquet file per member (:mod:`shared.convert.parquet`, DuckDB): ``x.csv`` becomes
``x.parquet``, listed with its rows and column types; the other members are stored gzip'd as
above. The format is recorded with the raw copy, so a resumed stage keeps it.

A member whose content is not what its extension says (``.csv``, ``.json``, ``.log``, …: not
UTF-8 text, or holding NUL bytes; ``.json`` not starting with ``{`` or ``[``; ``.gz`` not
gzip) fails the export, as do a corrupt archive and the limits of
:class:`~shared.storage.archives.Limits`; the raw copy stays and no manifest is written.
"""

from __future__ import annotations

import codecs
import functools
import hashlib
import json
import logging
import os
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

from shared.convert.parquet import ParquetConverter, kind_of, read_chunks
from shared.errors import ConfigError, IntegrityError
from shared.keys import split_extension
from shared.model import SourceSet
from shared.packaged import converter_missing
from shared.setting_values import UnpackSettings
from shared.storage.archives import (
    ArchiveError,
    Limits,
    Member,
    archive_kind,
    tar_members,
    zip_members,
)
from shared.storage.base import ObjectStore, UploadedPart
from shared.storage.manifest import KeyAllocator, SetResult, protection_entry
from shared.storage.pipeline import CopyDeadlineError, put_part_retrying

log = logging.getLogger(__name__)

RAW_PREFIX = "raw/"
SET_KIND = "set"  # a raw copy of several archives (the files of a CLS export split in parts)
GZIP_LEVEL = 6  # zlib's default: the speed/size balance gzip tools use
READ_SIZE = 64 * 1024  # a member's bytes per step: hashed and gzip'd while in cache
TEXT_EXTENSIONS = {".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".log", ".txt"}


def raw_key(key: str) -> str:
    """Where the archive of an unpacked delivery lands."""
    return RAW_PREFIX + key


def set_kind(sources: SourceSet) -> str | None:
    """:data:`SET_KIND` for a result of several files that are all archives (unpacked one
    after the other into one manifest), else None (the files are delivered as they are)."""
    kinds = [archive_kind(source.file_name) for source in sources.items]
    return SET_KIND if kinds and all(kinds) else None


class ContentCheck:
    """Whether a member's bytes are what its extension says, chunk by chunk."""

    def __init__(self, name: str) -> None:
        ext = split_extension(name.lower())[1]
        self.name = name
        self.last = "." + ext.rsplit(".", 1)[-1] if ext else ""
        self.text = self.last in TEXT_EXTENSIONS
        self.decoder = codecs.getincrementaldecoder("utf-8")() if self.text else None
        self.head = b""
        self.seen = 0

    def feed(self, chunk: bytes) -> None:
        if len(self.head) < 16:
            self.head += chunk[:16]
        if self.decoder is not None:
            if b"\0" in chunk:
                self._wrong("it holds NUL bytes, which text does not")
            try:
                self.decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                self._wrong(f"byte {self.seen + exc.start} is not UTF-8 text")
        self.seen += len(chunk)

    def finish(self) -> None:
        if self.decoder is not None:
            try:
                self.decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                self._wrong("it ends inside a UTF-8 character")
        if self.last == ".json" and self.head.lstrip()[:1] not in (b"{", b"[", b""):
            self._wrong("JSON starts with '{' or '['")
        if self.last == ".gz" and self.seen and not self.head.startswith(b"\x1f\x8b"):
            self._wrong("it is not gzip data")

    def _wrong(self, why: str) -> None:
        raise ArchiveError(f"member {self.name!r} is not what its extension says: {why}")


def stored_name(name: str, fmt: str = "gzip") -> str:
    """The member's name as stored: gzip'd, so ``.gz`` is added unless it is there; or, in
    Parquet, its extension replaced by ``.parquet``."""
    if fmt == "parquet" and kind_of(name):
        return os.path.splitext(name)[0] + ".parquet"
    return name if name.lower().endswith(".gz") else name + ".gz"


class MemberWriter:
    """One member into one object: gzip'd as it comes, uploaded in parts of ``part_size``
    (one request when it fits in one), MD5s of the content and of the stored bytes. A part
    that meets a retryable store error is sent again (:func:`put_part_retrying`: a bounded
    number of attempts, backing off), so one throttled request does not fail the member."""

    def __init__(self, store: ObjectStore, key: str, *, part_size: int,
                 metadata: dict[str, str], passthrough: bool,
                 started: Callable[[dict[str, str]], None] | None = None) -> None:
        self.store, self.key, self.part_size, self.metadata = store, key, part_size, metadata
        self.started = started  # told the upload id as soon as the store gives it
        self.gzip = None if passthrough else zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        self.content_md5 = hashlib.md5()  # noqa: S324 - integrity, not security
        self.stored_md5 = hashlib.md5()  # noqa: S324
        self.content_size = self.stored_size = 0
        self.buffer = bytearray()
        self.upload_id: str | None = None
        self.parts: list[UploadedPart] = []

    def write(self, chunk: bytes) -> None:
        self.content_md5.update(chunk)
        self.content_size += len(chunk)
        self._emit(self.gzip.compress(chunk) if self.gzip is not None else chunk)

    def _emit(self, data: bytes) -> None:
        if not data:
            return
        self.stored_md5.update(data)
        self.stored_size += len(data)
        self.buffer += data
        while len(self.buffer) >= self.part_size:
            # the part as bytes of its own: no view of the buffer outlives this line (a failed
            # send's traceback keeps the frames it passed through, and a buffer still viewed
            # cannot be cut)
            part = bytes(memoryview(self.buffer)[:self.part_size])
            del self.buffer[:self.part_size]
            self._part(part)

    def _part(self, data: bytes) -> None:
        if self.upload_id is None:
            self.upload_id = self.store.start_upload(self.key, dict(self.metadata))
            if self.started is not None:
                self.started({"key": self.key, "upload_id": self.upload_id})
        number = len(self.parts) + 1
        # the part's place in the object is known: a folder writes it there, once; a store
        # error that may pass (throttling, a reset connection) sends the part again, as the
        # copy stage does, rather than failing the member
        etag = put_part_retrying(self.store, self.key, self.upload_id, number, data,
                                 self.part_size * (number - 1))
        self.parts.append(UploadedPart(number, etag))

    def close(self) -> dict[str, Any]:
        if self.gzip is not None:
            self._emit(self.gzip.flush())
        md5 = self.stored_md5.hexdigest()
        if self.upload_id is None:
            info = self.store.put_object(self.key, bytes(self.buffer),
                                         {**self.metadata, "md5": md5})
        else:
            if self.buffer:
                self._part(bytes(self.buffer))
            info = self.store.complete_upload(self.key, self.upload_id, self.parts,
                                              dict(self.metadata))
            self.store.record_md5(self.key, md5)
        if info.size != self.stored_size:
            raise IntegrityError(f"{self.key} holds {info.size} bytes, expected "
                                 f"{self.stored_size}")
        return {"key": self.key, "size": self.stored_size, "md5": md5,
                "content_size": self.content_size,
                "content_md5": self.content_md5.hexdigest()}

    def abort(self) -> None:
        if self.upload_id is not None:
            try:
                self.store.abort_upload(self.key, self.upload_id)
            except Exception:  # noqa: BLE001 - best effort; a lifecycle rule takes the rest
                log.warning("could not abort the upload of %s", self.key)


def store_member(store: ObjectStore, key: str, member: Member, *, part_size: int,
                 metadata: dict[str, str], deadline: float | None,
                 started: Callable[[dict[str, str]], None] | None = None) -> dict[str, Any]:
    """Stream ``member`` into ``key`` (see :class:`MemberWriter`); its manifest entry."""
    check = ContentCheck(member.name)
    writer = MemberWriter(store, key, part_size=part_size, metadata=metadata,
                          passthrough=member.name.lower().endswith(".gz"), started=started)
    try:
        for chunk in _checked(member, check, deadline):
            writer.write(chunk)
        return writer.close()
    except BaseException:
        writer.abort()
        raise


def convert_member(store: ObjectStore, key: str, member: Member, converter: ParquetConverter,
                   *, part_size: int, metadata: dict[str, str], deadline: float | None,
                   started: Callable[[dict[str, str]], None] | None = None
                   ) -> dict[str, Any]:
    """``member`` (CSV or JSON) as one Parquet object at ``key``: spooled, converted, then
    uploaded (see :mod:`shared.convert.parquet`); its manifest entry with its rows and
    column types, and the size and MD5 of the member's own content."""
    spooled = converter.spool(member.name, _checked(member, ContentCheck(member.name),
                                                    deadline))
    converted = converter.convert(spooled)
    writer = MemberWriter(store, key, part_size=part_size, metadata=metadata,
                          passthrough=True, started=started)
    try:
        for chunk in read_chunks(converted.path):
            writer.write(chunk)
        entry = writer.close()
    except BaseException:
        writer.abort()
        raise
    return {**entry, "content_size": spooled.content_size,
            "content_md5": spooled.content_md5.hexdigest(), "format": "parquet",
            "rows": converted.rows, "columns": converted.columns}


def _checked(member: Member, check: ContentCheck, deadline: float | None) -> Iterator[bytes]:
    """The member's content in chunks, each checked (:class:`ContentCheck`), within the
    deadline."""
    while chunk := member.stream.read(READ_SIZE):
        check.feed(chunk)
        yield chunk
        if deadline is not None and time.monotonic() >= deadline:
            raise CopyDeadlineError("unpacking did not finish within its time limit; it "
                                    "goes on later from the members already stored")
    check.finish()


def unpack_archive(store: ObjectStore, raw: dict[str, Any], manifest_key: str, *,
                   settings: UnpackSettings, journal: Any, export_id: str = "",
                   provider: str = "", metadata: dict[str, str] | None = None,
                   part_size: int = 8 * 1024 * 1024, deadline: float | None = None
                   ) -> SetResult:
    """Unpack the raw copy ``raw`` (key, size, md5, kind; ``format``: ``gzip`` unless it says
    ``parquet``) beside ``manifest_key`` and write the manifest (see the module doc). A raw
    copy of several archives (kind ``set``: ``archives``, each with its name, key, size, md5
    and kind) is unpacked archive after archive into the one manifest."""
    done: list[dict[str, Any]] = list(journal.members())
    abort_stray_upload(store, journal)
    fmt = str(raw.get("format") or "gzip")
    several = raw["kind"] == SET_KIND
    keys = KeyAllocator(manifest_key)  # one for all archives: a name used twice is numbered
    entries: list[dict[str, Any]] = []
    with ExitStack() as stack:
        converter: ParquetConverter | None = None
        for archive in raw["archives"] if several else [raw]:
            limits = Limits(settings, int(archive["size"]))
            digest = hashlib.md5()  # noqa: S324 - the raw copy read back, against its MD5
            if archive["kind"] == "zip":
                skip = functools.partial(_stored_before, len(entries), len(done))
                members = zip_members(store, archive["key"], int(archive["size"]), limits,
                                      skip=skip)
            else:
                members = tar_members(store, archive["key"], limits, digest.update)
            for member in members:
                key = keys.next(stored_name(member.name, fmt))
                index = len(entries)
                if index < len(done):
                    if done[index].get("key") != key:
                        raise ArchiveError("the raw copy no longer holds the members already "
                                           "unpacked from it")
                    entries.append(done[index])
                    continue
                args: dict[str, Any] = {"part_size": part_size, "deadline": deadline,
                                        "metadata": dict(metadata or {}),
                                        "started": getattr(journal, "member_upload", None)}
                if fmt == "parquet" and kind_of(member.name):
                    if converter is None:
                        converter = stack.enter_context(_converter(settings))
                    stored = convert_member(store, key, member, converter, **args)
                else:
                    stored = store_member(store, key, member, **args)
                entry = {"name": member.name, **stored}
                if several:
                    entry["archive"] = archive["name"]
                journal.member_done(entry)
                entries.append(entry)
            if archive["kind"] != "zip" and archive.get("md5") and \
                    digest.hexdigest() != archive["md5"]:
                raise ArchiveError("the raw copy changed since it was verified; it was not "
                                   "used")
    return _write_manifest(store, raw, manifest_key, entries, settings, export_id, provider,
                           metadata)


def _stored_before(base: int, stored: int, index: int) -> bool:
    """Whether the ``index``-th member of an archive whose first member is the ``base``-th
    of the export was stored before (``stored`` members were)."""
    return base + index < stored


def abort_stray_upload(store: ObjectStore, journal: Any) -> None:
    """Abort the multipart upload of a member that a killed stage left unfinished (the
    member is stored anew), and forget it."""
    stray = getattr(journal, "open_upload", lambda: None)()
    if not stray:
        return
    log.info("aborting the unfinished upload of %s left by an interrupted unpacking",
             stray["key"])
    store.abort_upload(str(stray["key"]), str(stray["upload_id"]))
    journal.member_upload(None)


def _converter(settings: UnpackSettings) -> ParquetConverter:
    missing = converter_missing()
    if missing:  # delivered by a package other than the one that accepted the export
        raise ConfigError(f"format: parquet cannot be delivered: {missing}")
    return ParquetConverter(settings.parquet_tmp_bytes)


def _write_manifest(store: ObjectStore, raw: dict[str, Any], manifest_key: str,
                    entries: list[dict[str, Any]], settings: UnpackSettings, export_id: str,
                    provider: str, metadata: dict[str, str] | None) -> SetResult:
    fields = ("name", "archive", "key", "size", "md5", "content_size", "content_md5", "format",
              "rows", "columns")
    listed: list[dict[str, Any]] = [{k: e[k] for k in fields if k in e} for e in entries]
    total = sum(int(e["size"]) for e in listed)
    totals = {"objects": len(listed), "bytes": total,
              "content_bytes": sum(int(e["content_size"]) for e in listed)}
    if any("rows" in e for e in listed):
        totals["rows"] = sum(int(e.get("rows", 0)) for e in listed)
    body = json.dumps({
        "export_id": export_id, "provider": provider, "objects": listed,
        "format": str(raw.get("format") or "gzip"),
        "raw": raw_entry(raw, settings.keep_raw),
        "totals": totals,
        **protection_entry(store),
    }, indent=2, sort_keys=True).encode()
    md5 = hashlib.md5(body).hexdigest()  # noqa: S324
    info = store.put_object(manifest_key, body, {**(metadata or {}), "md5": md5})
    if info.size != len(body):
        raise IntegrityError(f"the manifest holds {info.size} bytes, expected {len(body)}")
    if not settings.keep_raw:
        for archive in raw.get("archives") or []:
            store.delete(archive["key"])
        store.delete(raw["key"])
    return SetResult(key=manifest_key, uri=store.uri(manifest_key), size=total, md5=md5,
                     parts=len(listed), manifest_size=len(body), objects=listed)


def raw_entry(raw: dict[str, Any], kept: bool) -> dict[str, Any]:
    """The manifest's ``raw``: the archive (key, size, MD5) and whether it is kept; for
    several archives, the key and MD5 of their own manifest under ``raw/``, their bytes
    together as ``size``, and each archive (name, key, size, MD5) as ``archives``."""
    entry = {"key": raw["key"], "size": raw["size"], "md5": raw.get("md5"), "kept": kept}
    if raw["kind"] == SET_KIND:
        entry["archives"] = [{k: a[k] for k in ("name", "key", "size", "md5")}
                             for a in raw["archives"]]
    return entry
