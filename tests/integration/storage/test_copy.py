"""copy_source against a local HTTP server, into a LocalObjectStore: parts, resuming, integrity
(test_copy_sources.py: the source's URL and the key).

Fixtures in conftest.py."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from shared.errors import IntegrityError, StorageError
from shared.model import PartRecord, UrlSource
from shared.storage.copy import copy_source
from shared.storage.local import LocalObjectStore
from tests.integration.storage.copy_support import (
    PART,
    MemoryJournal,
    killed_with_part_one_in_flight,
    md5,
)
from tests.integration.storage.source_server import SourceServer


def test_copy_streams_into_local_store(server: SourceServer, store: LocalObjectStore,
                                       data: bytes) -> None:
    journal = MemoryJournal()
    result = copy_source(UrlSource(server.url(), size=len(data)), store, "a/b/file.csv",
                         part_size=PART, journal=journal, metadata={"export-id": "exp_1"})
    assert store.read("a/b/file.csv") == data
    assert result.size == len(data) and result.md5 == md5(data)
    assert result.parts == 11 and not result.resumed and not result.skipped
    assert result.uri == (store.root / "a/b/file.csv").as_uri()
    info = store.head("a/b/file.csv")
    assert info is not None and info.metadata == {"export-id": "exp_1", "md5": md5(data)}
    assert journal.upload_id is None and journal.finished_calls == 1
    assert server.served == len(data)
    # no staging leftovers
    assert not any((store.root / ".courier-staging").iterdir())


def test_part_buffers_are_reused(server: SourceServer, store: LocalObjectStore,
                                 data: bytes) -> None:
    from shared.storage.pipeline import HASH_DEPTH

    seen: list[Any] = []  # kept alive, so that no two buffers can share an id()
    parts: list[int] = []
    real = store.put_part

    def put_part(key: str, upload_id: str, number: int, chunk: Any, *,
                 offset: int | None = None) -> str:
        parts.append(number)
        if isinstance(chunk, memoryview):
            seen.append(chunk.obj)
        return real(key, upload_id, number, chunk, offset=offset)

    store.put_part = put_part  # type: ignore[method-assign]
    small = PART // 4  # many parts from the same source
    result = copy_source(UrlSource(server.url()), store, "many.bin", part_size=small,
                         concurrency=2)
    assert result.md5 == md5(data) and store.read("many.bin") == data
    buffers = {id(b) for b in seen}
    assert len(parts) > 2 * (2 + HASH_DEPTH + 2)
    assert 1 <= len(buffers) <= 2 + HASH_DEPTH + 2  # allocated once, however many parts


def test_small_file_uses_put_object(server: SourceServer, store: LocalObjectStore,
                                    data: bytes) -> None:
    result = copy_source(UrlSource(server.url()), store, "small.bin", part_size=len(data) + 1)
    assert result.parts == 1 and store.read("small.bin") == data


def test_unknown_size_and_no_md5_header(server: SourceServer, store: LocalObjectStore,
                                        data: bytes) -> None:
    server.content_md5 = False
    result = copy_source(UrlSource(server.url()), store, "x.bin", part_size=PART)
    assert result.md5 == md5(data) and store.read("x.bin") == data


def test_killed_copy_resumes_without_resending_parts(server: SourceServer,
                                                     store: LocalObjectStore,
                                                     data: bytes) -> None:
    journal = MemoryJournal()
    server.kill_after = 5 * PART + 100  # dies inside part 6
    with pytest.raises(StorageError) as err:
        copy_source(UrlSource(server.url(), size=len(data)), store, "k.bin", part_size=PART,
                    journal=journal, reopen_attempts=0)
    assert err.value.retryable
    assert journal.upload_id is not None
    assert sorted(journal.parts) == [1, 2, 3, 4, 5]
    assert store.head("k.bin") is None
    served_before = server.served

    result = copy_source(UrlSource(server.url(), size=len(data)), store, "k.bin",
                         part_size=PART, journal=journal)
    assert result.resumed and result.md5 == md5(data) and result.parts == 11
    assert store.read("k.bin") == data
    # the second run fetched only the bytes after part 5
    assert server.served - served_before == len(data) - 5 * PART
    assert server.requests[-1][1] == f"bytes={5 * PART}-"
    info = store.head("k.bin")
    assert info is not None and info.metadata["md5"] == md5(data)
    assert journal.upload_id is None


def test_broken_connection_is_reopened_within_one_call(server: SourceServer,
                                                       store: LocalObjectStore,
                                                       data: bytes) -> None:
    server.kill_after = 3 * PART + 10
    result = copy_source(UrlSource(server.url()), store, "r.bin", part_size=PART)
    assert store.read("r.bin") == data and result.md5 == md5(data)
    assert server.requests[-1][1] == f"bytes={3 * PART}-"


def test_all_parts_done_before_crash_resumes_with_416(server: SourceServer,
                                                      store: LocalObjectStore,
                                                      data: bytes) -> None:
    journal = MemoryJournal()
    upload_id = store.start_upload("done.bin")
    journal.started(upload_id)
    journal.pin(server.etag)
    pos, n = 0, 1
    while pos < len(data):
        chunk = data[pos:pos + PART]
        etag = store.put_part("done.bin", upload_id, n, chunk)
        journal.part_done(PartRecord(n, etag, pos, pos + len(chunk)))
        pos, n = pos + len(chunk), n + 1
    result = copy_source(UrlSource(server.url()), store, "done.bin", part_size=PART,
                         journal=journal)
    assert result.resumed and result.md5 == md5(data) and server.served == 0


def test_changed_source_starts_over(server: SourceServer, store: LocalObjectStore,
                                    data: bytes) -> None:
    journal = MemoryJournal()
    server.kill_after = 4 * PART + 1
    with pytest.raises(StorageError):
        copy_source(UrlSource(server.url()), store, "c.bin", part_size=PART, journal=journal,
                    reopen_attempts=0)
    old_upload = journal.upload_id
    new = os.urandom(len(data))
    server.data, server.etag = new, '"v2"'
    result = copy_source(UrlSource(server.url()), store, "c.bin", part_size=PART,
                         journal=journal)
    assert not result.resumed and store.read("c.bin") == new and result.md5 == md5(new)
    assert not (store.root / ".courier-staging" / str(old_upload)).exists()


def test_changed_source_detected_by_pin_when_server_ignores_if_range(
        server: SourceServer, store: LocalObjectStore, data: bytes) -> None:
    journal = MemoryJournal()
    server.kill_after = 4 * PART + 1
    with pytest.raises(StorageError):
        copy_source(UrlSource(server.url()), store, "p.bin", part_size=PART, journal=journal,
                    reopen_attempts=0)
    new = os.urandom(len(data))
    server.data, server.etag = new, '"v2"'
    server.ranges = True
    # a server that honours Range but not If-Range: simulate by matching the old pin
    journal.validator = '"v2-other"'
    result = copy_source(UrlSource(server.url()), store, "p.bin", part_size=PART,
                         journal=journal)
    assert not result.resumed and store.read("p.bin") == new


def test_corrupted_source_detected(server: SourceServer, store: LocalObjectStore,
                                   data: bytes) -> None:
    server.corrupt = True
    journal = MemoryJournal()
    with pytest.raises(IntegrityError):
        copy_source(UrlSource(server.url()), store, "bad.bin", part_size=PART, journal=journal)
    assert store.head("bad.bin") is None
    assert journal.upload_id is None and journal.finished_calls == 1
    assert not any((store.root / ".courier-staging").iterdir())


@pytest.mark.parametrize("vendor", ["x-cos-request-id", "x-amz-request-id"])
def test_object_store_etag_vouches_for_the_md5(server: SourceServer, store: LocalObjectStore,
                                               data: bytes, vendor: str) -> None:
    # a presigned COS/S3 link to a simple upload: no Content-MD5, the ETag is the MD5
    server.content_md5 = False
    server.etag = f'"{md5(data)}"'
    server.headers = {vendor: "req-1"}
    result = copy_source(UrlSource(server.url()), store, "v.bin", part_size=PART)
    assert result.md5 == md5(data)
    server.corrupt = True
    with pytest.raises(IntegrityError, match="MD5"):
        copy_source(UrlSource(server.url()), store, "w.bin", part_size=PART)
    assert store.head("w.bin") is None


@pytest.mark.parametrize("etag, headers", [
    ("md5", {}),  # any server's 32-hex ETag is only a validator
    ("md5-3", {"x-cos-request-id": "r"}),  # a multipart upload's ETag is no MD5
    ("md5", {"x-cos-request-id": "r", "x-cos-server-side-encryption": "cos/kms"}),
    ("md5", {"x-amz-request-id": "r", "x-amz-server-side-encryption": "aws:kms"}),
    ("md5", {"x-amz-request-id": "r",
             "x-amz-server-side-encryption-customer-algorithm": "AES256"}),
])
def test_etags_that_are_not_an_md5_are_not_trusted(server: SourceServer,
                                                   store: LocalObjectStore, data: bytes,
                                                   etag: str, headers: dict[str, str]) -> None:
    # corrupt bytes under an ETag that would match the clean bytes: had the copy taken
    # the ETag for the MD5 it would refuse them; it must not, there is no MD5 to go by
    server.content_md5 = False
    server.corrupt = True
    server.etag = '"' + etag.replace("md5", md5(data)) + '"'
    server.headers = headers
    result = copy_source(UrlSource(server.url()), store, "n.bin", part_size=PART)
    assert result.size == len(data) and result.md5 != md5(data)


def test_size_lie_detected(server: SourceServer, store: LocalObjectStore, data: bytes) -> None:
    with pytest.raises(IntegrityError):
        copy_source(UrlSource(server.url()), store, "lie.bin", part_size=PART,
                    expected_size=len(data) + 5)
    assert store.head("lie.bin") is None
    server.announce_size = len(data) - 7  # server sends fewer bytes than the provider said
    server.content_md5 = False
    with pytest.raises(IntegrityError):
        copy_source(UrlSource(server.url(), size=len(data)), store, "lie.bin", part_size=PART)
    assert store.head("lie.bin") is None


def test_idempotent_recopy_is_skipped(server: SourceServer, store: LocalObjectStore,
                                      data: bytes) -> None:
    first = copy_source(UrlSource(server.url()), store, "i.bin", part_size=PART)
    served = server.served
    requests = len(server.requests)
    again = copy_source(UrlSource(server.url(), size=len(data)), store, "i.bin",
                        part_size=PART)
    assert again.skipped and again.md5 == first.md5 and again.size == len(data)
    assert server.served == served and len(server.requests) == requests
    # a different expected size is not "the same object": copied again
    store.set_metadata("i.bin", {"md5": "0" * 32})
    with pytest.raises(IntegrityError):
        copy_source(UrlSource(server.url()), store, "i.bin", part_size=PART,
                    expected_size=len(data) + 1)


def test_corruption_after_resume_is_caught_by_read_back(server: SourceServer,
                                                        store: LocalObjectStore,
                                                        data: bytes) -> None:
    journal = MemoryJournal()
    server.kill_after = 5 * PART + 100  # the flipped byte (middle) lies after part 5
    with pytest.raises(StorageError):
        copy_source(UrlSource(server.url()), store, "v.bin", part_size=PART,
                    journal=journal, reopen_attempts=0)
    server.corrupt = True
    with pytest.raises(IntegrityError):
        copy_source(UrlSource(server.url()), store, "v.bin", part_size=PART, journal=journal)
    head = store.head("v.bin")
    assert head is not None and not head.metadata.get("md5")  # not skipped next time
    assert journal.upload_id is None
    server.corrupt = False
    result = copy_source(UrlSource(server.url()), store, "v.bin", part_size=PART,
                         journal=journal)
    assert not result.skipped and store.read("v.bin") == data


def test_a_part_is_journaled_as_soon_as_it_is_stored(server: SourceServer,
                                                    store: LocalObjectStore,
                                                    data: bytes) -> None:
    # GIVEN a copy whose source stalls in its third part, with room for more parts in flight
    import threading
    import time

    journal = MemoryJournal()
    server.chunk, server.hold_at = 4096, 2 * PART + 100
    copier = threading.Thread(target=copy_source, daemon=True, kwargs=dict(
        source=UrlSource(server.url(), size=len(data)), store=store, key="k.bin",
        part_size=PART, journal=journal, concurrency=4))
    copier.start()
    try:
        assert server.held.wait(20)
        # WHEN the function would be killed now, THEN the two uploaded parts are journaled:
        # a resume re-reads only the part that was being read
        for _ in range(200):
            if len(journal.parts) == 2:
                break
            time.sleep(0.05)
        assert sorted(journal.parts) == [1, 2]
        assert [(p.start, p.end) for p in journal.load()[1]] == [(0, PART), (PART, 2 * PART)]
    finally:
        server.resume.set()
        copier.join(30)
    assert store.read("k.bin") == data


def test_a_resume_reads_only_the_part_lost_in_flight(server: SourceServer,
                                                     store: LocalObjectStore,
                                                     data: bytes) -> None:
    # GIVEN a copy of three parts killed while part 1 was uploading and 2 and 3 were stored
    data = server.data = data[:2 * PART + 1234]
    journal = MemoryJournal()
    source = UrlSource(server.url(), size=len(data))
    killed_with_part_one_in_flight(store, source, "g.bin", PART, journal, last=3)
    before, asked = server.served, len(server.requests)
    # WHEN the next invocation resumes
    result = copy_source(source, store, "g.bin", part_size=PART, journal=journal)
    # THEN it reads part 1 alone (and asks where the file ends), and the object is whole
    assert server.served - before == PART
    assert [r for _, r in server.requests[asked:]] == [f"bytes=0-{PART - 1}",
                                                       f"bytes={len(data)}-"]
    assert result.resumed and result.parts == 3 and result.md5 == md5(data)
    assert store.read("g.bin") == data
    info = store.head("g.bin")
    assert info is not None and info.metadata["md5"] == md5(data)


def test_a_resume_around_gaps_checks_the_whole_object_against_the_source_md5(server: SourceServer,
                                                             store: LocalObjectStore,
                                                             data: bytes) -> None:
    # GIVEN parts 2 and 3 stored, part 1 lost
    server.data = data[:2 * PART + 1234]
    journal = MemoryJournal()
    killed_with_part_one_in_flight(store, UrlSource(server.url()), "c.bin", PART, journal,
                                   last=3)
    # WHEN the resumed source vouches for an MD5 that the stored bytes do not have
    server.content_md5 = False
    server.headers = {"x-amz-meta-md5": md5(os.urandom(8))}
    # THEN the read-back of the finished object refuses it, and the next copy is a new one
    with pytest.raises(IntegrityError, match="MD5"):
        copy_source(UrlSource(server.url()), store, "c.bin", part_size=PART, journal=journal)
    head = store.head("c.bin")
    assert head is not None and not head.metadata.get("md5")
    assert journal.upload_id is None


def test_a_resume_around_gaps_from_a_server_without_ranges_starts_over(
        server: SourceServer, store: LocalObjectStore, data: bytes) -> None:
    data = server.data = data[:2 * PART + 1234]
    journal = MemoryJournal()
    killed_with_part_one_in_flight(store, UrlSource(server.url()), "n.bin", PART, journal,
                                   last=3)
    server.ranges = False  # every answer is the whole object
    result = copy_source(UrlSource(server.url()), store, "n.bin", part_size=PART,
                         journal=journal)
    assert not result.resumed and store.read("n.bin") == data and result.md5 == md5(data)


def test_a_part_is_read_only_into_a_free_upload_slot(server: SourceServer,
                                                    store: LocalObjectStore, data: bytes,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.storage.reading import SourceParts

    # GIVEN uploads that hang until the copy reads a fifth part (or a while has passed)
    lock = threading.Lock()
    fifth = threading.Event()
    stored = [0]
    unstored: list[int] = []  # parts read before each read began and not yet stored
    real_put, real_read = store.put_part, SourceParts.read_into

    def put_part(key: str, upload_id: str, number: int, chunk: Any, *,
                 offset: int | None = None) -> str:
        fifth.wait(2)
        etag = real_put(key, upload_id, number, chunk, offset=offset)
        with lock:
            stored[0] += 1
        return etag

    def read_into(self: SourceParts, body: Any, buf: bytearray, offset: int,
                  want: int) -> int:
        with lock:
            unstored.append(offset // PART - stored[0])
        if offset >= 4 * PART:
            fifth.set()
        return real_read(self, body, buf, offset, want)

    store.put_part = put_part  # type: ignore[method-assign]
    monkeypatch.setattr(SourceParts, "read_into", read_into)
    # WHEN the file is copied four parts at a time
    result = copy_source(UrlSource(server.url()), store, "s.bin", part_size=PART,
                         concurrency=4)
    # THEN each part was read into a free slot: read and unstored parts never exceed four,
    # which is all a kill can cost
    assert result.md5 == md5(data) and len(unstored) == 11
    assert max(unstored) == 3
