"""The object store contract: what every destination store must do, through its own SDK
against a real server (the local folder; S3 through boto3 on the S3-protocol server; COS
through cos-python-sdk-v5 and the sandbox's COS gateway). A store's test module subclasses
:class:`ObjectStoreContract` (named ``Test…``) and gives the ``store`` fixture.

put / head / read, a multipart upload put out of order and completed with its metadata, an
upload resumed from the parts recorded before, an upload aborted or never begun told as gone
(so a resumed copy starts over), a completion that names a part never put,
metadata rewritten without touching the content, server-side copy where the store can, a
ranged read (an archive's directory is read so) and a delete (of an unpacked archive's raw
copy).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, ClassVar

import pytest

from shared.errors import StorageError
from shared.model import UrlSource
from shared.storage.base import ObjectStore, UploadedPart, UploadNotFoundError


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - a content checksum, not security


class ObjectStoreContract:
    part_size: ClassVar[int] = 5 * 1024 * 1024  # the smallest part but the last (S3, COS)

    @pytest.fixture
    def store(self) -> ObjectStore:
        raise NotImplementedError("a store's contract test gives its store fixture")

    def copy_source(self, store: ObjectStore, data: bytes) -> Any | None:
        """A source holding ``data`` that ``store`` can copy server-side; None where the
        store has no server-side copy."""
        return None

    # ------------------------------------------------------------------------ the contract
    def test_put_head_read(self, store: ObjectStore) -> None:
        assert store.head("a/b.csv") is None
        info = store.put_object("a/b.csv", b"hello", {"md5": md5(b"hello")})
        head = store.head("a/b.csv")
        assert head is not None and head.size == 5
        assert head.metadata == {"md5": md5(b"hello")} and head.etag == info.etag
        assert store.read("a/b.csv") == b"hello"
        assert b"".join(store.iter_read("a/b.csv", 2)) == b"hello"

    def test_ranged_read_and_delete(self, store: ObjectStore) -> None:
        data = bytes(range(256)) * 64
        store.put_object("raw/a.zip", data)
        assert store.read_range("raw/a.zip", 1000, 300) == data[1000:1300]
        assert store.read_range("raw/a.zip", len(data) - 10, 100) == data[-10:]  # at the end
        assert store.read_range("raw/a.zip", 0, 0) == b""
        store.delete("raw/a.zip")
        assert store.head("raw/a.zip") is None
        store.delete("raw/a.zip")  # already gone: no error

    def test_multipart_out_of_order_then_complete(self, store: ObjectStore) -> None:
        first, last = os.urandom(self.part_size), b"tail"
        uid = store.start_upload("m.bin", {"export-id": "exp_1"})
        e2 = store.put_part("m.bin", uid, 2, last)
        e1 = store.put_part("m.bin", uid, 1, first)
        info = store.complete_upload("m.bin", uid, [UploadedPart(1, e1), UploadedPart(2, e2)],
                                     {"md5": md5(first + last)})
        assert info.size == self.part_size + 4
        assert info.metadata == {"export-id": "exp_1", "md5": md5(first + last)}
        assert store.read("m.bin") == first + last
        with pytest.raises(StorageError):  # the finished upload is gone
            store.put_part("m.bin", uid, 3, b"x")
        store.abort_upload("m.bin", uid)  # gone already: no error

    def test_an_upload_resumes_from_its_recorded_parts(self, store: ObjectStore) -> None:
        # GIVEN an upload whose first part was put and recorded before the process stopped
        first, last = os.urandom(self.part_size), os.urandom(1000)
        uid = store.start_upload("r.bin")
        recorded = [UploadedPart(1, store.put_part("r.bin", uid, 1, first))]
        # WHEN a later process puts the rest under the same upload id and completes
        recorded.append(UploadedPart(2, store.put_part("r.bin", uid, 2, last)))
        store.complete_upload("r.bin", uid, recorded)
        # THEN the object is whole, the first part sent once
        assert store.read("r.bin") == first + last

    def test_an_upload_aborted_or_never_begun_is_told_as_gone(self, store: ObjectStore) -> None:
        # GIVEN an upload aborted after its first part, and an upload id no upload ever had
        uid = store.start_upload("gone.bin")
        first = UploadedPart(1, store.put_part("gone.bin", uid, 1, b"abc"))
        store.abort_upload("gone.bin", uid)
        for upload_id in (uid, os.urandom(16).hex()):
            # WHEN a part is put, or the upload completed, under that id
            # THEN the store says the upload is gone (a resumed copy starts over on that),
            # not a failure to try again
            with pytest.raises(UploadNotFoundError):
                store.put_part("gone.bin", upload_id, 2, b"tail")
            with pytest.raises(UploadNotFoundError):
                store.complete_upload("gone.bin", upload_id, [first])
        assert store.head("gone.bin") is None

    def test_a_completion_naming_a_part_not_put_is_refused(self, store: ObjectStore) -> None:
        uid = store.start_upload("x.bin")
        store.put_part("x.bin", uid, 1, b"abc")
        with pytest.raises(StorageError):  # a part never put
            store.complete_upload("x.bin", uid, [UploadedPart(2, "0" * 32)])
        with pytest.raises(StorageError):  # a part put, but not the one named
            store.complete_upload("x.bin", uid, [UploadedPart(1, "0" * 32)])
        assert store.head("x.bin") is None
        store.abort_upload("x.bin", uid)

    def test_metadata_is_rewritten_without_touching_the_content(self,
                                                                store: ObjectStore) -> None:
        store.put_object("meta.txt", b"content", {"md5": md5(b"content")})
        info = store.set_metadata("meta.txt", {"export-id": "exp_2"})
        assert info.metadata.get("export-id") == "exp_2"
        head = store.head("meta.txt")
        assert head is not None and head.metadata.get("export-id") == "exp_2"
        assert store.read("meta.txt") == b"content"

    def test_server_side_copy_where_the_store_can(self, store: ObjectStore) -> None:
        assert store.server_side_copy(UrlSource("http://127.0.0.1:9/elsewhere"), "no") is None
        source = self.copy_source(store, b"abc")
        if source is None:
            return  # this store has no server-side copy: the caller streams
        info = store.server_side_copy(source, "copied.csv", {"export-id": "exp_3"})
        assert info is not None and info.size == 3
        assert info.metadata["export-id"] == "exp_3" and info.metadata["md5"] == md5(b"abc")
        assert store.read("copied.csv") == b"abc"
