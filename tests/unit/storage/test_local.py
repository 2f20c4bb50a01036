from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from shared.errors import StorageError, ValidationError
from shared.storage import open_destination
from shared.storage.base import UploadedPart, UploadNotFoundError
from shared.storage.local import LocalObjectStore
from tests.integration.storage.contract import ObjectStoreContract


class TestLocalContract(ObjectStoreContract):
    part_size = 1000  # a folder takes parts of any size

    @pytest.fixture
    def store(self, tmp_path: Path) -> LocalObjectStore:
        return LocalObjectStore(tmp_path)


def test_open_destination_file_uris(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_destination(f"file://{tmp_path}/out")
    assert isinstance(store, LocalObjectStore) and store.root == (tmp_path / "out").resolve()
    monkeypatch.chdir(tmp_path)
    rel = open_destination("file://rel/dir")
    assert isinstance(rel, LocalObjectStore) and rel.root == (tmp_path / "rel/dir").resolve()
    assert rel.uri("a/b.csv") == (tmp_path / "rel/dir/a/b.csv").as_uri()


@pytest.mark.parametrize("uri", ["nope", "ftp://x/y", "file://", "s3://"])
def test_open_destination_rejects(uri: str) -> None:
    from shared.errors import ConfigError

    with pytest.raises(ConfigError):
        open_destination(uri)


def test_multipart_roundtrip(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    parts = [os.urandom(1000), os.urandom(1000), b"tail"]
    uid = store.start_upload("d/x.bin", {"provider": "cls"})
    # out of order uploads are fine
    etags = {n: store.put_part("d/x.bin", uid, n, parts[n - 1]) for n in (3, 1, 2)}
    info = store.complete_upload("d/x.bin", uid, [UploadedPart(n, etags[n]) for n in (1, 2, 3)],
                                 {"md5": "m"})
    whole = b"".join(parts)
    assert store.read("d/x.bin") == whole and info.size == len(whole)
    assert info.metadata == {"provider": "cls", "md5": "m"}
    assert info.etag and info.etag.endswith("-3")
    assert store.head("d/x.bin") == info
    assert b"".join(store.iter_read("d/x.bin", 7)) == whole
    assert not (tmp_path / ".courier-staging" / uid).exists()
    # the finished upload is gone
    with pytest.raises(UploadNotFoundError):
        store.put_part("d/x.bin", uid, 1, b"x")
    store.abort_upload("d/x.bin", uid)  # no error


def test_parts_with_offsets_are_written_in_place(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    parts = [os.urandom(4096), os.urandom(4096), b"tail"]
    uid = store.start_upload("d/y.bin")
    staging = tmp_path / ".courier-staging" / uid
    etags = {n: store.put_part("d/y.bin", uid, n, parts[n - 1], offset=4096 * (n - 1))
             for n in (2, 3, 1)}
    # one data file holds every part at its offset; no part files
    assert (staging / "data").stat().st_size == 8196
    assert not any(p.name.startswith("part-") and not p.name.endswith(".json")
                   for p in staging.iterdir())
    data_inode = (staging / "data").stat().st_ino
    info = store.complete_upload("d/y.bin", uid, [UploadedPart(n, etags[n]) for n in (1, 2, 3)])
    assert store.read("d/y.bin") == b"".join(parts) and info.size == 8196
    # the data file became the object: nothing was copied
    assert (tmp_path / "d" / "y.bin").stat().st_ino == data_inode
    assert not staging.exists()


def test_in_place_part_is_on_disk_before_it_is_recorded(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    store = LocalObjectStore(tmp_path)
    uid = store.start_upload("d.bin")
    record = tmp_path / ".courier-staging" / uid / "part-00001.json"
    flushed: list[bool] = []
    real = os.fdatasync

    def fdatasync(fd: int) -> None:
        flushed.append(record.exists())  # the record must not exist yet
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)
    store.put_part("d.bin", uid, 1, b"x" * 100, offset=0)
    assert flushed == [False] and record.exists()


def test_in_place_upload_cut_to_the_parts_named(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    uid = store.start_upload("z")
    e1 = store.put_part("z", uid, 1, b"a" * 10, offset=0)
    store.put_part("z", uid, 2, b"b" * 30, offset=10)  # an abandoned, longer last part
    e2 = store.put_part("z", uid, 2, b"c" * 5, offset=10)  # its retry
    info = store.complete_upload("z", uid, [UploadedPart(1, e1), UploadedPart(2, e2)])
    assert store.read("z") == b"a" * 10 + b"c" * 5 and info.size == 15


def test_parts_that_do_not_tile_are_concatenated(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    uid = store.start_upload("m")
    e1 = store.put_part("m", uid, 1, b"first-", offset=0)
    e2 = store.put_part("m", uid, 2, b"loose-")  # no offset: a file of its own
    e3 = store.put_part("m", uid, 3, b"third", offset=100)  # leaves a gap after part 2
    info = store.complete_upload("m", uid, [UploadedPart(1, e1), UploadedPart(2, e2),
                                            UploadedPart(3, e3)])
    assert store.read("m") == b"first-loose-third" and info.size == 17
    # a part re-sent without its offset replaces the in-place copy
    uid = store.start_upload("n")
    store.put_part("n", uid, 1, b"old", offset=0)
    e1 = store.put_part("n", uid, 1, b"new!")
    store.complete_upload("n", uid, [UploadedPart(1, e1)])
    assert store.read("n") == b"new!"


def test_put_part_rejects_negative_offset(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    uid = store.start_upload("x")
    with pytest.raises(StorageError, match="negative"):
        store.put_part("x", uid, 1, b"abc", offset=-1)


def test_upload_bound_to_key(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    uid = store.start_upload("x")
    with pytest.raises(UploadNotFoundError):
        store.put_part("y", uid, 1, b"abc")
    with pytest.raises(UploadNotFoundError):
        store.put_part("x", "../../etc", 1, b"abc")


def test_put_object_head_and_metadata(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    assert store.head("a.txt") is None
    info = store.put_object("a.txt", b"hello", {"md5": hashlib.md5(b"hello").hexdigest()})
    assert store.head("a.txt") == info
    store.set_metadata("a.txt", {"extra": "1"})
    head = store.head("a.txt")
    assert head is not None and head.metadata["extra"] == "1" and "md5" in head.metadata
    # the file changed behind our back: the sidecar no longer counts
    (tmp_path / "a.txt").write_bytes(b"longer content")
    head = store.head("a.txt")
    assert head is not None and head.metadata == {} and head.size == 14


def test_listing_is_clean(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    store.put_object("k/a.bin", b"1")
    uid = store.start_upload("k/b.bin")
    etag = store.put_part("k/b.bin", uid, 1, b"2", offset=0)
    store.complete_upload("k/b.bin", uid, [UploadedPart(1, etag)])
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["a.bin", "b.bin"]


@pytest.mark.parametrize("key", ["../x", "/x", "a/../../x", "a\\b", ".courier-staging/x", ""])
def test_unsafe_keys(tmp_path: Path, key: str) -> None:
    store = LocalObjectStore(tmp_path / "root")
    with pytest.raises(ValidationError):
        store.put_object(key, b"x")


def test_symlink_escape(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path / "outside")
    store = LocalObjectStore(tmp_path / "root")
    with pytest.raises(StorageError):
        store.put_object("link/x", b"x")
    assert not (tmp_path / "outside" / "x").exists()


def test_a_name_the_file_system_refuses_is_a_clear_storage_error(tmp_path: Path) -> None:
    # GIVEN a key whose last segment is longer than a file name may be (255 bytes)
    store = LocalObjectStore(tmp_path)
    key = "exports/" + "n" * 300 + ".csv"
    upload = store.start_upload(key)
    etag = store.put_part(key, upload, 1, b"x", offset=0)
    # WHEN it is written, in one request or by a multipart upload
    for call in (lambda: store.put_object(key, b"x"),
                 lambda: store.complete_upload(key, upload, [UploadedPart(1, etag)])):
        with pytest.raises(StorageError) as err:
            call()
        # THEN the error says so in words, and retrying cannot help
        assert not err.value.retryable and "too long" in err.value.message


def test_a_file_where_a_folder_should_be_is_a_clear_storage_error(tmp_path: Path) -> None:
    # GIVEN a destination folder that is in fact a file
    (tmp_path / "bucket").write_bytes(b"not a folder")
    store = LocalObjectStore(tmp_path / "bucket")
    # WHEN an object is written there
    with pytest.raises(StorageError) as err:
        store.put_object("a/b.csv", b"x")
    # THEN the error names the problem, without the folder's path, and is not retried
    assert not err.value.retryable and "folder" in err.value.message
    assert str(tmp_path) not in err.value.message


def test_a_full_disk_is_retryable() -> None:
    import errno

    from shared.storage.local import disk_error

    err = disk_error(OSError(errno.ENOSPC, "No space left on device"), "k.csv")
    assert err.retryable and "full" in err.message
