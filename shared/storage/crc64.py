"""CRC-64 as COS computes it for ``x-cos-hash-crc64ecma`` (ECMA-182 polynomial, reflected,
all-ones initial register and final XOR — the parameters cos-python-sdk-v5 checks downloads
with, ``qcloud_cos/resumable_downloader.py``), and the CRC of two pieces joined, so a
multipart object's CRC follows from its parts' without reading it again."""

from __future__ import annotations

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
