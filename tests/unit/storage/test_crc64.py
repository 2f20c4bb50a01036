"""The CRC-64 COS answers in x-cos-hash-crc64ecma, and joining the CRCs of pieces."""

from __future__ import annotations

import os

import pytest

from shared.storage.crc64 import combine, combine_all, crc64


def test_the_check_value_is_crc64_xz() -> None:
    assert crc64(b"123456789") == 0x995DC9BBDF1939FA
    assert crc64(b"") == 0


@pytest.mark.parametrize("sizes", [(1, 1), (1000, 3333), (0, 7), (7, 0), (5, 1, 65536, 2)],
                         ids=str)
def test_the_crc_of_pieces_joined_is_the_crc_of_the_whole(sizes: tuple[int, ...]) -> None:
    pieces = [os.urandom(n) for n in sizes]
    whole = b"".join(pieces)
    assert combine_all([(crc64(p), len(p)) for p in pieces]) == crc64(whole)
    if len(pieces) == 2:
        assert combine(crc64(pieces[0]), crc64(pieces[1]), len(pieces[1])) == crc64(whole)
