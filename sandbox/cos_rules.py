"""What COS checks and answers beyond plain S3, for the gateway (:mod:`sandbox.cos_gateway`).

* **Actions.** A request's COS API name (``PutObject``, ``UploadPart``, ``UploadPartCopy``,
  ``PutObjectCopy``, ``CompleteMultipartUpload``, ``HeadObject``, ``GetObject``…), which
  faults are keyed by (service ``"cos"``).
* **200 with an error body.** PUT Object - Copy may answer ``HTTP 200 OK`` with an
  ``<Error>`` body when the copy fails after it started (COS PUT Object - Copy page,
  cloud.tencent.com/document/product/436/10881; error codes page 436/7730). Complete
  Multipart Upload answers 200 at once and the result (or error) comes in the body's last
  chunk (page 436/7742). Upload Part - Copy the same way: **assumption** (by analogy; its page,
  436/8287, does not say). :data:`ERROR_200_ACTIONS`.
* **Minimum part.** Every part but the last must be at least 1 MB, else Complete Multipart
  Upload answers ``400 EntityTooSmall`` (page 436/7742; Upload Part - Copy: "each part should
  be 1 MB to 5 GB", page 436/8287). 1 MB read as 1024 × 1024 bytes: **assumption**.
* **CRC64.** ``x-cos-hash-crc64ecma``: the decimal CRC-64 "calculated according to ECMA-182"
  of the object (or part) on PUT Object, Upload Part, Upload Part - Copy, Complete Multipart
  Upload (for the whole object, only if every part has one), PUT Object - Copy (only if the
  source has one), HEAD and GET (CRC64 Check pages, tencentcloud.com/document/product/436/
  43317 and 436/45260). The parameters are those of cos-python-sdk-v5's own check
  (``resumable_downloader.py``: polynomial 0x142F0E1EBA9EA3693, reflected, all-ones initial
  register and final XOR — the CRC-64/XZ variant); the example value in the CRC64 page is
  not reproducible without its bytes: **assumption** that these parameters are COS's.

Must not import ``shared``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from html import escape
from urllib.parse import parse_qs, urlsplit

import crcmod

MIN_PART = 1024 * 1024
ERROR_200_ACTIONS = frozenset({"PutObjectCopy", "UploadPartCopy", "CompleteMultipartUpload"})
CRC_HEADER = "x-cos-hash-crc64ecma"

crc64 = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, xorOut=0xFFFFFFFFFFFFFFFF, rev=True)


def crc64_of(chunks: Iterable[bytes]) -> int:
    value = 0
    for chunk in chunks:
        value = crc64(chunk, value)
    return value


def action(method: str, query: str, headers: dict[str, str]) -> str | None:
    """The COS API a request calls (None: one the gateway has no name for)."""
    args = parse_qs(query, keep_blank_values=True)
    copy = bool(headers.get("x-cos-copy-source"))
    if method == "PUT":
        if {"tagging", "acl"} & set(args):
            return None
        if "partNumber" in args and "uploadId" in args:
            return "UploadPartCopy" if copy else "UploadPart"
        return "PutObjectCopy" if copy else "PutObject"
    if method == "POST":
        if "uploadId" in args:
            return "CompleteMultipartUpload"
        return "InitiateMultipartUpload" if "uploads" in args else None
    if method == "HEAD":
        return "HeadObject"
    if method == "GET" and not args:
        return "GetObject"
    return None


def copy_range_size(value: str | None) -> int | None:
    m = re.fullmatch(r"\s*bytes=(\d+)-(\d+)\s*", value or "")
    return int(m.group(2)) - int(m.group(1)) + 1 if m else None


def listed_parts(body: bytes) -> list[int]:
    """The part numbers a CompleteMultipartUpload body lists, in its order."""
    return [int(n) for n in re.findall(rb"<PartNumber>\s*(\d+)\s*</PartNumber>", body)]


class Ledger:
    """What COS keeps and S3 (moto) does not: each part's size and CRC64, and each object's
    CRC64 (with the upstream ETag it belongs to, so an object rewritten behind the gateway's
    back answers none)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: dict[str, dict[int, tuple[int, int | None]]] = {}
        self._objects: dict[tuple[str, str], tuple[str, int]] = {}

    def part(self, upload_id: str, number: int, size: int, crc: int | None) -> None:
        with self._lock:
            self._parts.setdefault(upload_id, {})[number] = (size, crc)

    def too_small(self, upload_id: str, numbers: list[int], minimum: int = MIN_PART
                  ) -> int | None:
        """The first listed part (but the last) under ``minimum`` (COS's :data:`MIN_PART`
        unless told), if any."""
        with self._lock:
            known = dict(self._parts.get(upload_id) or {})
        for number in numbers[:-1]:
            size = known.get(number, (minimum, None))[0]
            if size < minimum:
                return number
        return None

    def part_crc(self, upload_id: str, number: int) -> int | None:
        with self._lock:
            return (self._parts.get(upload_id) or {}).get(number, (0, None))[1]

    def parts_have_crc(self, upload_id: str, numbers: list[int]) -> bool:
        with self._lock:
            known = dict(self._parts.get(upload_id) or {})
        return bool(numbers) and all(known.get(n, (0, None))[1] is not None for n in numbers)

    def completed(self, upload_id: str) -> None:
        with self._lock:
            self._parts.pop(upload_id, None)

    def remember(self, bucket: str, path: str, etag: str, crc: int) -> None:
        with self._lock:
            self._objects[(bucket, path)] = (_bare(etag), crc)

    def crc(self, bucket: str, path: str, etag: str | None) -> int | None:
        """The CRC64 of the object, if it has one and is still the object it was."""
        with self._lock:
            known = self._objects.get((bucket, path))
        if known is None or (etag is not None and _bare(etag) != known[0]):
            return None
        return known[1]

    def crc_any(self, bucket: str, path: str) -> int | None:
        with self._lock:
            known = self._objects.get((bucket, path))
        return None if known is None else known[1]


def _bare(etag: str) -> str:
    return etag.replace("&quot;", '"').strip().strip('"')


def error_xml(code: str, message: str, resource: str, request_id: str) -> bytes:
    """An error body shaped like COS's (the SDK wants Code, Message, Resource, RequestId)."""
    return (f"<?xml version='1.0' encoding='utf-8' ?><Error><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message><Resource>{escape(resource)}</Resource>"
            f"<RequestId>{request_id}</RequestId><TraceId>{request_id}</TraceId>"
            f"</Error>").encode()


def cos_error_xml(payload: bytes, path: str, request_id: str) -> bytes:
    code = re.search(rb"<Code>([^<]*)</Code>", payload)
    message = re.search(rb"<Message>([^<]*)</Message>", payload)
    return error_xml(code.group(1).decode() if code else "InternalError",
                      message.group(1).decode() if message else "",
                      urlsplit(path).path, request_id)
