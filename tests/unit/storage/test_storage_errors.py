"""Error classification of the backends and the copy, without servers."""

from __future__ import annotations

from typing import Any

import pytest

from shared.errors import StorageError
from shared.model import PartRecord
from shared.storage.base import UploadNotFoundError
from shared.storage.pipeline import resume_plan
from shared.storage.sources import (
    SourceExpiredError,
    _status_error,
    total_from_content_range,
)


def client_error(code: str, status: int) -> Exception:
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": "m"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


def test_s3_errors() -> None:
    from shared.storage.s3 import _error

    assert isinstance(_error(client_error("NoSuchUpload", 404), "x"), UploadNotFoundError)
    assert _error(client_error("SlowDown", 503), "x").retryable
    assert not _error(client_error("AccessDenied", 403), "x").retryable
    assert _error(ConnectionError(), "x").retryable


def test_cos_errors() -> None:
    from qcloud_cos.cos_exception import CosServiceError

    from shared.storage.cos import _error

    body = ("<?xml version='1.0'?><Error><Code>{}</Code><Message>m</Message>"
            "<Resource>/k</Resource><RequestId>r</RequestId></Error>")
    assert isinstance(_error(CosServiceError("PUT", body.format("NoSuchUpload"), 404), "x"),
                      UploadNotFoundError)
    assert _error(CosServiceError("PUT", body.format("InternalError"), 500), "x").retryable
    assert not _error(CosServiceError("PUT", body.format("AccessDenied"), 403), "x").retryable


@pytest.mark.parametrize(("status", "text", "expired", "retryable"), [
    (403, "<Code>AccessDenied</Code><Message>Request has expired</Message>", True, True),
    (403, "", True, True),
    (400, "<Code>ExpiredToken</Code>", True, True),
    (403, "<Code>SignatureDoesNotMatch</Code>", False, False),
    (404, "NoSuchKey", False, False),
    (503, "", False, True),
    (429, "", False, True),
])
def test_url_status_errors(status: int, text: str, expired: bool, retryable: bool) -> None:
    err = _status_error(status, text)
    assert isinstance(err, StorageError)
    assert isinstance(err, SourceExpiredError) == expired
    assert err.retryable == retryable


def test_content_range() -> None:
    assert total_from_content_range("bytes 10-99/100") == (10, 100)
    assert total_from_content_range("bytes */100") == (None, 100)
    assert total_from_content_range("bytes 0-9/*") == (0, None)
    assert total_from_content_range("junk") == (None, None)


@pytest.mark.parametrize("numbers, kept, reads", [
    ([1, 2], [1, 2], [(3, 20, None)]),
    ([2, 3], [2, 3], [(1, 0, 10), (4, 25, None)]),  # part 1 lost in flight: read it alone
    ([1, 3], [1, 3], [(2, 10, 20), (4, 25, None)]),
    ([3], [3], [(1, 0, 20), (4, 25, None)]),
    ([], [], [(1, 0, None)]),
], ids=["contiguous", "first-missing", "middle-missing", "two-missing", "nothing"])
def test_a_resume_keeps_every_part_and_reads_the_gaps(numbers: list[int], kept: list[int],
                                                      reads: list[tuple[int, int, Any]]
                                                      ) -> None:
    # a 25-byte file in parts of 10: 0-10, 10-20, 20-25
    layout = {1: (0, 10), 2: (10, 20), 3: (20, 25)}
    recs = [PartRecord(n, f"e{n}", *layout[n]) for n in reversed(numbers)]
    got, segments = resume_plan(recs, 10)
    assert [r.part_number for r in got] == kept
    assert [(s.number, s.start, s.end) for s in segments] == reads


def test_parts_that_do_not_fit_the_layout_are_read_again() -> None:
    # a part 2 that does not start one part after the start: it and what follows are dropped
    recs = [PartRecord(1, "a", 0, 10), PartRecord(3, "c", 25, 30), PartRecord(4, "d", 30, 40)]
    got, segments = resume_plan(recs, 10)
    assert [r.part_number for r in got] == [1]
    assert [(s.number, s.start, s.end) for s in segments] == [(2, 10, None)]
    assert resume_plan([PartRecord(1, "a", 5, 10)], 10)[0] == []


@pytest.mark.parametrize(("size", "part"), [
    (None, 8 * 1024 ** 2),
    (80 * 10 ** 9, 8 * 1024 ** 2),  # 80 GB fits in 10,000 parts of 8 MiB
    (100 * 1024 ** 3, 16 * 1024 ** 2),
    (5 * 1024 ** 4, 528 * 1024 ** 2),
], ids=["unknown", "80GB", "100GiB", "5TiB"])
def test_the_part_grows_so_no_upload_needs_more_than_10000_parts(size: int | None,
                                                                  part: int) -> None:
    from shared.storage.pipeline import part_size_for

    chosen = part_size_for(size, 8 * 1024 ** 2)
    assert chosen == part
    assert size is None or -(-size // chosen) <= 10_000


def test_an_object_larger_than_the_stores_take_is_refused() -> None:
    from shared.storage.pipeline import part_size_for

    with pytest.raises(StorageError) as err:
        part_size_for(5 * 1024 ** 4 + 1, 8 * 1024 ** 2)
    assert not err.value.retryable and "at most" in err.value.message
