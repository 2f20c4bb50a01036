"""The unpack stage over a raw copy in a real folder store: members out as gzip objects, keys
by the manifest's rule, bad archives refused with a reason, a killed stage resumed."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from shared.setting_values import UnpackSettings
from shared.storage.archives import ArchiveError
from shared.storage.local import LocalObjectStore
from shared.storage.unpack import unpack_archive

MANIFEST = "cls/dt=2026-11-20/hour=07/exp_1/manifest.json"


class Journal:
    """The members journal as the state table keeps it (here: a list)."""

    def __init__(self, done: list[dict[str, Any]] | None = None) -> None:
        self.done = list(done or [])

    def members(self) -> list[dict[str, Any]]:
        return list(self.done)

    def member_done(self, entry: dict[str, Any]) -> None:
        self.done.append(entry)


class CountingStore(LocalObjectStore):
    """A folder store that counts what is written and read."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.writes: list[str] = []
        self.ranged: list[int] = []
        self.streamed = 0
        self.die_at: int | None = None  # the n-th member write is cut off (a kill)

    def put_object(self, key: str, data: bytes, metadata: dict[str, str] | None = None) -> Any:
        if not key.startswith("raw/") and key.endswith(".gz"):
            if self.die_at is not None and len(self.writes) + 1 == self.die_at:
                raise SystemExit("killed")
            self.writes.append(key)
        return super().put_object(key, data, metadata)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        data = super().read_range(key, start, length)
        self.ranged.append(len(data))
        return data

    def read(self, key: str) -> bytes:
        raise AssertionError("the archive is never read whole")

    def iter_read(self, key: str, chunk_size: int = 1024 * 1024) -> Any:
        for chunk in super().iter_read(key, chunk_size):
            self.streamed += len(chunk)
            yield chunk


def tar_gz(members: list[tuple[str, bytes]], extra: list[tarfile.TarInfo] = ()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for info in extra:
            tar.addfile(info)
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_of(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buf.getvalue()


def land_raw(store: LocalObjectStore, data: bytes, kind: str) -> dict[str, Any]:
    key = f"raw/cls/exp_1/export.{kind}"
    store.put_object(key, data)
    return {"key": key, "size": len(data), "md5": hashlib.md5(data).hexdigest(), "kind": kind}


def rows(n: int, tag: str = "a") -> bytes:
    return "".join(f'{{"seq":{i},"tag":"{tag}"}}\n' for i in range(n)).encode()


@pytest.mark.filterwarnings("ignore:Duplicate name")  # the zip holds a name twice on purpose
@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_members_land_as_gzip_objects_listed_in_the_manifest(tmp_path: Path, kind: str) -> None:
    store = CountingStore(tmp_path)
    members = [("a.json", rows(500)), ("logs/b.csv", b"seq,v\n1,2\n"),
               ("../evil.json", rows(3)), ("a.json", rows(7, "again")),
               ("already.log.gz", gzip.compress(b"one line\n"))]
    pack = tar_gz if kind == "tar.gz" else zip_of
    raw = land_raw(store, pack(members), kind)

    result = unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(),
                            journal=Journal(), export_id="exp_1", provider="cls")

    manifest = json.loads(store.read_range(MANIFEST, 0, 1 << 20))
    folder = MANIFEST.rsplit("/", 1)[0]
    # unsafe names made safe, a name used twice numbered, a .gz member kept as it is
    assert [o["key"] for o in manifest["objects"]] == [
        f"{folder}/a.json.gz", f"{folder}/logs/b.csv.gz", f"{folder}/_/evil.json.gz",
        f"{folder}/a-2.json.gz", f"{folder}/already.log.gz"]
    for entry, (name, content) in zip(manifest["objects"], members):
        stored = (tmp_path / entry["key"]).read_bytes()
        assert entry["name"] == name and entry["size"] == len(stored)
        assert entry["md5"] == hashlib.md5(stored).hexdigest()
        assert entry["content_md5"] == hashlib.md5(content).hexdigest()
        assert entry["content_size"] == len(content)
        plain = gzip.decompress(stored)
        assert plain == (gzip.decompress(content) if name.endswith(".gz") else content)
    assert manifest["raw"] == {"key": raw["key"], "size": raw["size"], "md5": raw["md5"],
                               "kept": True}
    assert result.parts == 5 and (tmp_path / raw["key"]).is_file()
    if kind == "zip":  # the directory and members by ranged reads, never the whole archive
        assert store.streamed == 0 and store.ranged and sum(store.ranged) <= 3 * raw["size"]


def test_the_raw_archive_goes_when_it_is_not_to_be_kept(tmp_path: Path) -> None:
    store = CountingStore(tmp_path)
    raw = land_raw(store, tar_gz([("a.json", rows(5))]), "tar.gz")
    unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(keep_raw=False),
                   journal=Journal())
    assert not (tmp_path / raw["key"]).exists() and (tmp_path / MANIFEST).is_file()


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
def test_a_killed_stage_resumes_without_rewriting_a_member(tmp_path: Path, kind: str) -> None:
    # GIVEN an unpacking that dies while it writes the third of four members
    store = CountingStore(tmp_path)
    members = [(f"part-{i}.json", rows(100 + i)) for i in range(4)]
    raw = land_raw(store, (tar_gz if kind == "tar.gz" else zip_of)(members), kind)
    journal = Journal()
    store.die_at = 3
    with pytest.raises(SystemExit):
        unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(), journal=journal)
    assert len(journal.done) == 2 and not (tmp_path / MANIFEST).exists()
    first = [(tmp_path / e["key"]).stat().st_mtime_ns for e in journal.done]

    # WHEN it runs again from what the journal kept
    store.die_at = None
    result = unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(), journal=journal)

    # THEN the two stored members were not written again, and all four are listed
    assert store.writes.count(journal.done[0]["key"]) == 1
    assert store.writes.count(journal.done[1]["key"]) == 1
    assert [(tmp_path / e["key"]).stat().st_mtime_ns for e in journal.done[:2]] == first
    assert result.parts == 4 and len(store.writes) == 4


BOMB = b"\0" * (8 * 1024 * 1024)


@pytest.mark.parametrize(("kind", "members", "settings", "reason"), [
    ("tar.gz", None, UnpackSettings(), "the archive is corrupt"),
    ("zip", None, UnpackSettings(), "the archive is corrupt"),
    ("tar.gz", [("a.csv", b"seq\n\0\0\1\2")], UnpackSettings(),
     "'a.csv' is not what its extension says: it holds NUL bytes"),
    ("zip", [("a.json", b"\xff\xfe not utf-8")], UnpackSettings(),
     "'a.json' is not what its extension says: byte 0 is not UTF-8 text"),
    ("tar.gz", [("a.json", b"seq,v\n1,2\n")], UnpackSettings(),
     "'a.json' is not what its extension says: JSON starts with"),
    ("zip", [("x.log.gz", b"plain text\n")], UnpackSettings(), "it is not gzip data"),
    ("tar.gz", [("a.txt", rows(80_000))], UnpackSettings(max_member_bytes=1024 * 1024),
     "'a.txt' is larger than the 1 MB a member may unpack to"),
    ("zip", [("a.txt", BOMB)], UnpackSettings(), "decompression bomb: member 'a.txt' unpacks"),
    ("tar.gz", [("a.txt", BOMB)], UnpackSettings(), "decompression bomb: its members unpack "
     "to more than 200 times"),
    ("zip", [("a.txt", rows(30_000)), ("b.txt", rows(30_000))],
     UnpackSettings(max_total_bytes=1024 * 1024), "more than 1 MB (COURIER_UNPACK_MAX_TOTAL_MB)"),
], ids=["corrupt-tar", "corrupt-zip", "nul-in-csv", "json-not-utf8", "json-not-json",
        "gz-not-gzip", "member-too-large", "zip-bomb-ratio", "tar-bomb-ratio", "total-too-large"])
def test_bad_archives_fail_with_a_reason_and_no_manifest(
        tmp_path: Path, kind: str, members: list[tuple[str, bytes]] | None,
        settings: UnpackSettings, reason: str) -> None:
    store = CountingStore(tmp_path)
    if members is None:  # a truncated archive
        whole = (tar_gz if kind == "tar.gz" else zip_of)([("a.json", rows(5000))])
        data = whole[:len(whole) // 2] if kind == "tar.gz" else b"PK" + whole[200:]
    else:
        data = (tar_gz if kind == "tar.gz" else zip_of)(members)
    raw = land_raw(store, data, kind)
    with pytest.raises(ArchiveError) as caught:
        unpack_archive(store, raw, MANIFEST, settings=settings, journal=Journal())
    assert reason in caught.value.message, caught.value.message
    assert not caught.value.retryable
    assert "Error" not in caught.value.message  # words, not exception classes
    assert not (tmp_path / MANIFEST).exists() and (tmp_path / raw["key"]).is_file()


def concatenated(members: list[tuple[str, bytes]]) -> bytes:
    """One tar, gzip'd as two gzip members one after the other (as ``cat a.gz b.gz``)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    plain = buf.getvalue()
    return gzip.compress(plain[:1000]) + gzip.compress(plain[1000:])


def with_link(members: list[tuple[str, bytes]]) -> bytes:
    link = tarfile.TarInfo("logs/latest")
    link.type, link.linkname = tarfile.SYMTYPE, "a.log"
    return tar_gz(members, extra=[link])


LONG = "logs/" + "x" * 150 + ".log"


@pytest.mark.parametrize(("pack", "members"), [
    (tar_gz, [(LONG, b"a long name\n"), ("b.log", b"after it\n")]),
    (tar_gz, [("a.log", b"z" * 1024), ("b.log", b"after a member of whole blocks\n")]),
    (tar_gz, [("a.log", b""), ("b.log", b"after an empty member\n")]),
    (concatenated, [("a.log", rows(200).replace(b"{", b"(")), ("b.log", b"tail\n")]),
    (with_link, [("a.log", b"after a link, which is skipped\n")]),
], ids=["long-name", "whole-blocks", "empty-member", "two-gzip-members", "link-skipped"])
def test_tar_layouts_unpack_member_for_member(tmp_path: Path, pack: Any,
                                              members: list[tuple[str, bytes]]) -> None:
    store = CountingStore(tmp_path)
    raw = land_raw(store, pack(members), "tar.gz")
    result = unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(), journal=Journal())
    assert [o["name"] for o in result.objects] == [name for name, _ in members]
    for entry, (_, content) in zip(result.objects, members):
        assert gzip.decompress((tmp_path / entry["key"]).read_bytes()) == content
    assert store.streamed == raw["size"]  # read to its end: every byte went into the MD5


def test_a_tar_cut_inside_a_member_is_corrupt(tmp_path: Path) -> None:
    whole = tar_gz([("a.log", os.urandom(200_000).hex().encode())])
    plain = gzip.decompress(whole)
    store = CountingStore(tmp_path)
    raw = land_raw(store, gzip.compress(plain[:150_000]), "tar.gz")
    with pytest.raises(ArchiveError) as caught:
        unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(), journal=Journal())
    assert caught.value.message.startswith("the archive is corrupt: member 'a.log' cannot be "
                                           "read"), caught.value.message
    assert not (tmp_path / MANIFEST).exists()


def test_data_after_the_end_of_the_tar_counts_against_the_limits(tmp_path: Path) -> None:
    # GIVEN a small tar followed, inside the gzip data, by 300 MB of zeros
    store = CountingStore(tmp_path)
    head = gzip.decompress(tar_gz([("a.log", b"one line\n")]))
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = packer.compress(head) + b"".join(packer.compress(b"\0" * (1 << 20))
                                            for _ in range(300)) + packer.flush()
    raw = land_raw(store, data, "tar.gz")
    # THEN the trailing bytes are counted as they come, and stop it as a bomb
    with pytest.raises(ArchiveError) as caught:
        unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(), journal=Journal())
    assert "decompression bomb" in caught.value.message


@pytest.mark.parametrize("die_at", [3, 4], ids=["at-its-first", "at-its-second"])
def test_several_archives_resume_in_the_second_without_rewriting(tmp_path: Path,
                                                                 die_at: int) -> None:
    # GIVEN the raw copies of a result of two archives (a .tar.gz and a .zip), both holding
    # a member named a.json, and an unpacking killed as it writes the second's first member
    # (or its second)
    store = CountingStore(tmp_path)
    first = land_raw(store, tar_gz([("a.json", rows(10)), ("b.json", rows(20))]), "tar.gz")
    second = land_raw(store, zip_of([("a.json", rows(30, "z")), ("c.json", rows(40))]), "zip")
    second["key"] = "raw/cls/exp_1/part-002.zip"
    store.put_object(second["key"], store.read_range("raw/cls/exp_1/export.zip", 0, 1 << 20))
    archives = [{**first, "name": "part-001.tar.gz"}, {**second, "name": "part-002.zip"}]
    raw = {"key": "raw/cls/exp_1/manifest.json", "size": first["size"] + second["size"],
           "md5": "0" * 32, "kind": "set", "archives": archives}
    journal = Journal()
    store.die_at = die_at
    with pytest.raises(SystemExit):
        unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(), journal=journal)
    assert len(journal.done) == die_at - 1

    # WHEN it runs again
    store.die_at = None
    result = unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(), journal=journal)

    # THEN each member is written once, listed with its archive, a.json numbered the 2nd time
    folder = MANIFEST.rsplit("/", 1)[0]
    assert len(store.writes) == len(set(store.writes)) == 4
    assert [(o["archive"], o["name"], o["key"]) for o in result.objects] == [
        ("part-001.tar.gz", "a.json", f"{folder}/a.json.gz"),
        ("part-001.tar.gz", "b.json", f"{folder}/b.json.gz"),
        ("part-002.zip", "a.json", f"{folder}/a-2.json.gz"),
        ("part-002.zip", "c.json", f"{folder}/c.json.gz")]
    assert gzip.decompress((tmp_path / f"{folder}/a-2.json.gz").read_bytes()) == rows(30, "z")
    manifest = json.loads((tmp_path / MANIFEST).read_bytes())
    assert [a["name"] for a in manifest["raw"]["archives"]] == ["part-001.tar.gz",
                                                                "part-002.zip"]


def test_a_tar_header_too_large_to_hold_is_refused(tmp_path: Path) -> None:
    # GIVEN a GNU long-name header that declares 20 MB of name (it gzips to almost nothing)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as tar:
        longname = tarfile.TarInfo("././@LongLink")
        longname.type, longname.size = tarfile.GNUTYPE_LONGNAME, 20 * 1024 * 1024
        tar.addfile(longname, io.BytesIO(b"a" * longname.size))
        tar.addfile(tarfile.TarInfo("b.log"), io.BytesIO(b""))
    store = CountingStore(tmp_path)
    raw = land_raw(store, buf.getvalue(), "tar.gz")
    # THEN it is refused before the header is read into memory
    with pytest.raises(ArchiveError) as caught:
        unpack_archive(store, raw, MANIFEST, settings=UnpackSettings(), journal=Journal())
    assert caught.value.message.startswith("the archive is corrupt: a header of 20971520 bytes")
