"""CRC-64 as COS and OSS compute it for ``x-cos-hash-crc64ecma`` / ``x-oss-hash-crc64ecma``
(CRC-64/XZ, which OSS's CRC-64 page names: ECMA-182 polynomial, reflected,
all-ones initial register and final XOR — the parameters cos-python-sdk-v5 checks downloads
with, ``qcloud_cos/resumable_downloader.py``), and the CRC of two pieces joined, so a
multipart object's CRC follows from its parts' without reading it again."""

from __future__ import annotations

import threading

import crcmod

_POLY = 0x142F0E1EBA9EA3693
_REFLECTED = 0xC96C5795D7870F42  # _POLY without its top bit, bit-reversed
_MASK = (1 << 64) - 1

crc64 = crcmod.mkCrcFun(_POLY, initCrc=0, xorOut=_MASK, rev=True)


def _times(matrix: list[int], vector: int) -> int:
    out, row = 0, 0
    while vector:
        if vector & 1:
            out ^= matrix[row]
        vector >>= 1
        row += 1
    return out


def _square(matrix: list[int]) -> list[int]:
    return [_times(matrix, matrix[n]) for n in range(64)]


def combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC of ``A + B`` from ``crc(A)``, ``crc(B)`` and ``len(B)`` (zlib's crc32_combine
    method: shift ``crc1`` over ``len2`` zero bytes by repeated squaring of the one-bit
    shift operator, then add ``crc2``)."""
    if len2 <= 0:
        return crc1
    odd = [_REFLECTED] + [1 << n for n in range(63)]  # one zero bit
    even = _square(odd)  # two zero bits
    odd = _square(even)  # four
    while True:
        even = _square(odd)  # first round: one zero byte
        if len2 & 1:
            crc1 = _times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _square(even)
        if len2 & 1:
            crc1 = _times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return (crc1 ^ crc2) & _MASK


def combine_all(pieces: list[tuple[int, int]]) -> int:
    """CRC of consecutive pieces given as ``(crc, length)``, in order."""
    total = 0  # the CRC of nothing
    for crc, length in pieces:
        total = combine(total, crc, length)
    return total


class PartCrcs:
    """The CRC-64 and size of each part this process sent, per upload (thread-safe), so that
    a completed object's CRC (COS ``x-cos-hash-crc64ecma``, OSS ``x-oss-hash-crc64ecma``) is
    checked against its parts' without reading it again. Parts sent by an earlier
    invocation are unknown here: then there is nothing to compare with."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: dict[tuple[str, int], tuple[int, int]] = {}

    def sent(self, upload_id: str, number: int, crc: int, size: int) -> None:
        with self._lock:
            self._parts[(upload_id, number)] = (crc, size)

    def expected(self, upload_id: str, numbers: list[int]) -> int | None:
        """The whole object's CRC from its parts' (forgetting them), None if one is unknown."""
        with self._lock:
            sent = [self._parts.pop((upload_id, n), None) for n in numbers]
        if any(s is None for s in sent):
            return None
        return combine_all([s for s in sent if s is not None])
