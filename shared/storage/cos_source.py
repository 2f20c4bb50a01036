"""Reading a copy's source from a COS object with temporary credentials (DLC results), through
cos-python-sdk-v5; :class:`CosReader` answers as :class:`~shared.storage.sources.UrlReader`
does (a :class:`~shared.storage.sources.Body` per open)."""

from __future__ import annotations

from typing import Any

from shared import netguard
from shared.errors import StorageError, UnsafeTargetError
from shared.model import CosObjectSource
from shared.storage.sources import (
    CRC64_HEADER,
    EXPIRED_CODES,
    READ_TIMEOUT_S,
    Body,
    RestartNeeded,
    SourceExpiredError,
    UnsafeSourceError,
    crc64_value,
    etag_is_md5,
    hex_md5,
    raw_readinto,
    total_from_content_range,
    validator_of,
)


class CosReader:
    """A COS object read with temporary credentials (cos-python-sdk-v5)."""

    def __init__(self, source: CosObjectSource, client: Any = None, guard: Any = None) -> None:
        """``guard``: a :class:`~shared.netguard.OutboundGuard`, whose session the client
        gets (every connection checked where it lands). ``client``: a ready client (tests)."""
        self.source = source
        make = getattr(guard, "session", None)
        self._session = make() if client is None and callable(make) else None
        self.client = client or cos_client_for(source, self._session)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def open(self, offset: int, validator: str | None, end: int | None = None) -> Body:
        """GET the object from ``offset`` (to ``end``, exclusive, when given); with a pinned
        ETag, ``If-Match`` makes a changed object fail (412) instead of mixing two versions."""
        from qcloud_cos.cos_exception import CosClientError, CosServiceError

        src = self.source
        kwargs: dict[str, str] = {}
        ranged = bool(offset) or end is not None
        if ranged:
            kwargs["Range"] = f"bytes={offset}-{'' if end is None else end - 1}"
        if ranged and validator and not validator.startswith("W/") and '"' in validator:
            kwargs["IfMatch"] = validator
        try:
            resp = self.client.get_object(Bucket=src.bucket, Key=src.key, **kwargs)
        except CosServiceError as exc:
            status = int(exc.get_status_code() or 0)
            if status == 412:
                raise RestartNeeded("the COS object changed") from exc
            if status == 416:
                return self._at_end(offset)
            raise _cos_error(exc) from exc
        except CosClientError as exc:
            raise _unreachable(exc) from exc
        headers = {str(k).lower(): str(v) for k, v in resp.items() if k != "Body"}
        first, total = total_from_content_range(headers.get("content-range"))
        if offset and first != offset:
            restarted = True  # the whole object came back (Range ignored)
            if first is not None:
                raise StorageError("COS answered a different range", retryable=True)
        else:
            restarted = False
        if first is None:
            length = headers.get("content-length", "")
            total = int(length) if length.isdigit() else None
        current = validator_of(headers.get("etag"), headers.get("last-modified"))
        md5 = hex_md5(headers.get("x-cos-meta-md5"))
        etag = headers.get("etag", "")
        if md5 is None and first is None and etag_is_md5(etag, headers):
            md5 = hex_md5(etag)  # a simple upload's ETag is its MD5
        raw = resp["Body"].get_raw_stream()

        def read(n: int) -> bytes:
            return raw.read(n, decode_content=False)  # type: ignore[no-any-return]

        return Body(read=read, close=raw.close, start=0 if restarted else offset,
                     total=total, validator=current, md5=md5, restarted=restarted,
                     readinto=raw_readinto(raw), end=end,
                     crc64=crc64_value(headers.get(CRC64_HEADER)) if first is None else None)

    def _at_end(self, offset: int) -> Body:
        """416 on a resume: every byte is already copied, or the object shrank."""
        from qcloud_cos.cos_exception import CosClientError, CosServiceError

        try:
            head = self.client.head_object(Bucket=self.source.bucket, Key=self.source.key)
        except CosServiceError as exc:
            raise _cos_error(exc) from exc
        except CosClientError as exc:
            raise _unreachable(exc) from exc
        headers = {str(k).lower(): str(v) for k, v in head.items()}
        length = headers.get("content-length", "")
        total = int(length) if length.isdigit() else None
        if total != offset:
            raise RestartNeeded("the COS object is shorter than the journalled parts")
        return Body(read=lambda n: b"", close=lambda: None, start=offset, total=total,
                     validator=validator_of(headers.get("etag"), headers.get("last-modified")),
                     md5=None)


def cos_client_for(source: CosObjectSource, session: Any = None) -> Any:
    """A client for ``source``'s temporary credentials; ``session``: the HTTP session it
    sends through (None: the SDK's shared pool)."""
    from shared.clouds import tencent

    return tencent.cos_client(source.region, source.secret_id, source.secret_key,
                              source.token, endpoint=source.endpoint,
                              timeout_s=int(READ_TIMEOUT_S), session=session)


def _unreachable(exc: Exception) -> StorageError:
    """A CosClientError: the guard's refusal (the SDK wraps it) or a network failure."""
    refused = exc.__context__
    if isinstance(refused, UnsafeTargetError):
        return UnsafeSourceError(f"COS source refused: {refused.message}")
    return StorageError(f"COS source unreachable: {netguard.failure_words(refused or exc)}")


def _cos_error(exc: Any) -> StorageError:
    status = int(exc.get_status_code() or 0)
    code = str(exc.get_error_code() or "")
    msg = str(exc.get_error_msg() or "")
    if code.lower() in EXPIRED_CODES or (status == 403 and "expired" in msg.lower()):
        return SourceExpiredError(f"the COS credentials have expired ({code or status})")
    if status == 429 or status >= 500:
        return StorageError(f"COS source answered {status} {code}", retryable=True)
    return StorageError(f"COS source answered {status} {code}", retryable=False)
