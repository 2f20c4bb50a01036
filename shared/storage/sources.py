"""Reading a copy's source: an HTTP(S) URL (a COS object read with temporary credentials is
in :mod:`shared.storage.cos_source`).

Each reader opens the source at an offset (``Range: bytes=N-``, or ``bytes=N-M`` for a
stretch with an end: a resume reads only the parts its journal lacks), pinned to the validator
seen when the copy started (``If-Range`` / ``If-Match``), and reports what the response says
about the whole object: its total size, its validator, an MD5 when the source vouches for
one. :mod:`shared.storage.copy` drives them. Lapsed links or credentials raise
:class:`SourceExpiredError`; a URL the outbound guard refuses, :class:`UnsafeSourceError`.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from shared import cutoff, netguard
from shared.errors import CourierError, StorageError, UnsafeTargetError
from shared.model import UrlSource

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0
MAX_REDIRECTS = 5
READ_CHUNK = 1024 * 1024
CRC64_HEADER = "x-cos-hash-crc64ecma"  # COS: the CRC-64 of the object
OSS_CRC64_HEADER = "x-oss-hash-crc64ecma"  # OSS: the same CRC-64 (CRC-64/XZ)
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
EXPIRED_CODES = frozenset({"expiredtoken", "tokenexpired", "requestexpired"})


class SourceExpiredError(StorageError):
    """The download URL or the temporary credentials lapsed: get fresh ones, call again."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class UnsafeSourceError(StorageError):
    """``check_url`` refused the download URL or a redirect target."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


@dataclass
class Body:
    """One open response of the source, positioned at ``start``."""

    read: Callable[[int], bytes]
    close: Callable[[], None]
    start: int
    total: int | None  # the whole object's size, if the response says
    validator: str | None  # strong ETag, else Last-Modified
    md5: str | None  # hex MD5 of the whole object, if the source advertises one
    restarted: bool = False  # asked for a range, got the whole (changed) object
    # the whole object's CRC-64 (x-cos-/x-oss-hash-crc64ecma) where COS or OSS gives it with
    # all its bytes
    crc64: int | None = None
    # reads straight into a caller's buffer (no intermediate bytes), where the stream can
    readinto: Callable[[memoryview], int] | None = None
    end: int | None = None  # the byte (exclusive) the range asked for ends at; None: the end


class RestartNeeded(Exception):
    """The source changed (or the range cannot be served): start the copy over."""


def fill(body: Body, view: memoryview) -> int:
    """Read from ``body`` until ``view`` is full or the body ends; returns the bytes read."""
    got, size = 0, len(view)
    while got < size:
        if body.readinto is not None:
            n = body.readinto(view[got:])
        else:
            chunk = body.read(min(READ_CHUNK, size - got))
            n = len(chunk)
            view[got:got + n] = chunk
        if not n:
            break
        got += n
    return got


def raw_readinto(raw: Any) -> Callable[[memoryview], int] | None:
    """The socket-level ``readinto`` under a urllib3 response, which fills the caller's
    buffer without an intermediate copy; None where the stream does not offer one (then
    the copy reads through ``raw.read``). Bytes come undecoded either way, as with
    ``decode_content=False``."""
    fp = getattr(raw, "_fp", None)
    fp_readinto = getattr(fp, "readinto", None)
    if not callable(fp_readinto):
        return None

    def readinto(view: memoryview) -> int:
        n = int(fp_readinto(view))
        # http.client answers a connection closed before Content-Length with 0, not an
        # error (urllib3's read would raise): an early end must not pass for the end
        if not n and len(view) and getattr(fp, "length", None):
            raise ConnectionError("the source closed the connection before the end")
        return n

    return readinto


def _b64_md5_to_hex(value: str | None) -> str | None:
    if not value:
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 16 else None


def hex_md5(value: str | None) -> str | None:
    if value and re.fullmatch(r"[0-9a-fA-F]{32}", value.strip().strip('"')):
        return value.strip().strip('"').lower()
    return None


def _object_store_etag_md5(headers: Any) -> str | None:
    """The MD5 a COS, S3 or OSS answer vouches for through its ETag: a presigned link to a
    simple, unencrypted (or service-key) upload, as CLS, MongoDB, TCSS and DMS hand out.
    Only an answer that says it comes from COS, S3 or OSS (their request-id header) counts:
    another server's ETag, even 32 hex digits, is only a validator."""
    lowered = {str(k).lower(): str(v) for k, v in headers.items()}
    if not {"x-cos-request-id", "x-amz-request-id", "x-oss-request-id"} & set(lowered):
        return None
    etag = lowered.get("etag", "").strip()
    if etag.startswith("W/") or not etag_is_md5(etag, lowered):
        return None
    return hex_md5(etag)


def etag_is_md5(etag: str, headers: dict[str, Any]) -> bool:
    """Whether a COS (or S3) object's ETag is the MD5 of its bytes: only for a simple upload
    not encrypted by COS, or on S3 unencrypted or with S3's own keys. Multipart ETags end in
    ``-N``. COS: the ETag "will be different if the uploaded object is encrypted" — any
    encryption, SSE-COS (``AES256``) included (COS common response headers page). S3: with
    KMS or customer-provided keys the ETag is no MD5. ``headers``: lower-case names."""
    if "-" in etag:
        return False
    if str(headers.get("x-cos-server-side-encryption") or "").strip() or headers.get(
            "x-cos-server-side-encryption-customer-algorithm"):
        return False
    if str(headers.get("x-oss-server-side-encryption") or "").strip() or str(
            headers.get("x-oss-object-type") or "Normal") != "Normal":
        return False  # OSS: only PutObject's ETag is named the MD5; encrypted: assumed not
    sse = str(headers.get("x-amz-server-side-encryption", "")).lower()
    return "kms" not in sse and not headers.get(
        "x-amz-server-side-encryption-customer-algorithm")


def validator_of(etag: str | None, last_modified: str | None) -> str | None:
    if etag and not etag.startswith("W/"):
        return etag
    return last_modified or None


def total_from_content_range(value: str | None) -> tuple[int | None, int | None]:
    """(first byte, total) of ``bytes a-b/total`` or ``bytes */total``."""
    if not value:
        return None, None
    m = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*", value)
    if not m:
        return None, None
    first = int(m.group(1)) if m.group(1) is not None else None
    total = int(m.group(2)) if m.group(2) != "*" else None
    return first, total


class UrlReader:
    def __init__(self, source: UrlSource, check_url: Callable[[str], None] | None,
                 session: Any = None) -> None:
        """``check_url``: the outbound guard; a :class:`~shared.netguard.OutboundGuard` also
        gives the session, whose connections check the address they reach. ``session``: a
        session to use instead (tests, connection reuse)."""
        self.source = source
        self.check_url = check_url
        self._own_session = session is None
        if session is None:
            make = getattr(check_url, "session", None)
            session = make() if callable(make) else _plain_session()
        self.session = session

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def _check(self, url: str) -> None:
        if self.check_url is None:
            return
        try:
            self.check_url(url)
        except StorageError:
            raise
        except CourierError as exc:
            raise UnsafeSourceError(f"download refused: {exc.message}") from exc

    def open(self, offset: int, validator: str | None, end: int | None = None) -> Body:
        """GET from ``offset`` (to ``end``, exclusive, when given). A server that ignores
        Range answers 200 with the whole object: from offset 0 that is read as far as needed,
        from further on it is ``restarted`` (the copy cannot resume there)."""
        import requests

        headers = {"Accept-Encoding": "identity"}
        if offset or end is not None:
            headers["Range"] = f"bytes={offset}-{'' if end is None else end - 1}"
            if validator:
                headers["If-Range"] = validator
        url = self.source.url
        for _hop in range(MAX_REDIRECTS + 1):
            self._check(url)
            try:
                resp = self.session.get(url, headers=headers, stream=True,
                                        timeout=_timeouts(), allow_redirects=False)
            except UnsafeTargetError as exc:  # the connection reached another address
                raise UnsafeSourceError(f"download refused: {exc.message}") from exc
            except requests.RequestException as exc:
                raise StorageError(f"download failed: {netguard.failure_words(exc)}") from exc
            if resp.status_code in REDIRECT_CODES and resp.headers.get("Location"):
                target = urljoin(url, resp.headers["Location"])
                resp.close()
                if urlsplit(target).scheme not in ("http", "https"):
                    raise UnsafeSourceError("redirect to a non-HTTP URL")
                url = target
                continue
            return self._body(resp, offset, end)
        raise StorageError(f"more than {MAX_REDIRECTS} redirects", retryable=False)

    def _body(self, resp: Any, offset: int, end: int | None) -> Body:
        status = resp.status_code
        h = resp.headers
        if status in (200, 206):
            if status == 206:
                first, total = total_from_content_range(h.get("Content-Range"))
                if first != offset:
                    resp.close()
                    raise StorageError("source answered a different range", retryable=True)
                start, md5 = offset, None
            else:
                start = 0
                length = h.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
                md5 = _b64_md5_to_hex(h.get("Content-MD5"))
            md5 = md5 or hex_md5(h.get("x-amz-meta-md5")) or hex_md5(h.get("x-cos-meta-md5")) \
                or hex_md5(h.get("x-oss-meta-md5"))
            md5 = md5 or _object_store_etag_md5(h)
            raw = resp.raw

            def read(n: int) -> bytes:
                return raw.read(n, decode_content=False)  # type: ignore[no-any-return]

            return Body(read=read, close=resp.close, start=start, total=total,
                         validator=validator_of(h.get("ETag"), h.get("Last-Modified")), md5=md5,
                         restarted=bool(offset) and status == 200,
                         readinto=raw_readinto(raw), end=end,
                         crc64=crc64_value(h.get(CRC64_HEADER) or h.get(OSS_CRC64_HEADER))
                         if status == 200 else None)
        text = _short_body(resp)
        resp.close()
        if status == 416:
            _, total = total_from_content_range(h.get("Content-Range"))
            if total is not None and total == offset:
                return Body(read=lambda n: b"", close=lambda: None, start=offset, total=total,
                             validator=validator_of(h.get("ETag"), h.get("Last-Modified")),
                             md5=None)
            raise RestartNeeded("range not satisfiable")
        if status == 412:
            raise RestartNeeded("precondition failed")
        raise _status_error(status, text)


def _plain_session() -> Any:
    """A session for a reader without a guard (tests): no address checks, but environment
    proxies ignored and the copy's deadline enforced all the same."""
    return netguard.guarded_session(check_peers=False)


def _timeouts() -> tuple[float, float]:
    """(connect, read) timeouts, neither past the deadline of an enclosing
    :func:`~shared.cutoff.cut_off_at` (a connect in progress is not yet watched)."""
    left = cutoff.time_left()
    if left is None:
        return CONNECT_TIMEOUT_S, READ_TIMEOUT_S
    left = max(0.1, left)
    return min(CONNECT_TIMEOUT_S, left), min(READ_TIMEOUT_S, left)


def crc64_value(value: str | None) -> int | None:
    """``x-cos-hash-crc64ecma`` (decimal) as a number; None when absent or unreadable."""
    text = (value or "").strip()
    return int(text) if text.isdigit() and int(text) < 1 << 64 else None


def _short_body(resp: Any) -> str:
    try:
        data = resp.raw.read(4096, decode_content=True)
    except Exception:  # noqa: BLE001 - only used to classify the error
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else ""


def _status_error(status: int, text: str) -> StorageError:
    lowered = text.lower()
    if status == 403 and ("expired" in lowered or "accessdenied" in lowered or not text.strip()):
        return SourceExpiredError("the download URL has expired (403)")
    if status in (400, 403) and any(code in lowered for code in EXPIRED_CODES):
        return SourceExpiredError(f"the download credentials have expired ({status})")
    if status == 429 or status >= 500:
        return StorageError(f"source answered {status}", retryable=True)
    return StorageError(f"source answered {status}", retryable=False)
