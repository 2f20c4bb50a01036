"""What an S3 bucket, a COS bucket and an OSS bucket have in common, written once.

All three speak the S3 object model: a bucket, keys under a prefix, user metadata fixed when an
object is written, multipart uploads whose parts carry ``Content-MD5``, server-side
``CopyObject`` up to 5 GiB and ``UploadPartCopy`` above, and object tags. :class:`S3LikeStore`
holds the rules: key and prefix handling, how a vendor error becomes a
:class:`~shared.errors.StorageError`, complete-and-verify, the metadata rewrite, the copy in
parts. ``s3.py`` (boto3), ``cos.py`` (cos-python-sdk-v5) and ``oss.py`` (alibabacloud-oss-v2)
keep only their SDK calls, behind the small hooks marked abstract here.

Write options (:class:`~shared.write_options.WriteOptions`, the store's ``write``): every
upload, multipart start and server-side copy asks for them (``_protect_args``), and every
object written is looked at before the write counts as done (``_check_written``: HEAD and,
with tags, the object's tags; :mod:`shared.storage.protection`). A refusal of an option by
the store becomes an error naming the option (:meth:`S3LikeStore._error`).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from abc import abstractmethod
from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.clock import utcnow
from shared.errors import StorageError
from shared.keys import check_key
from shared.storage.base import ObjectInfo, TaggedObjectStore, UploadedPart, UploadNotFoundError
from shared.storage.protection import ProtectionError, Stored, problems, refusal

log = logging.getLogger(__name__)

COPY_OBJECT_MAX = 5 * 1024 ** 3  # CopyObject's limit (both); above it, copy part by part
COPY_PART_SIZE = 512 * 1024 ** 2
MISSING_UPLOAD_CODES = frozenset({"NoSuchUpload"})


def md5_b64(data: bytes | bytearray) -> str:
    """The ``Content-MD5`` header value of ``data``."""
    return base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324


def norm_prefix(prefix: str) -> str:
    """A checked key prefix ending in ``/`` (or empty)."""
    prefix = prefix.strip("/")
    if prefix:
        check_key(prefix, "destination")
        return prefix + "/"
    return ""


def storage_error(vendor: str, code: str | None, status: int, what: str,
                  retryable_codes: frozenset[str]) -> StorageError:
    """A vendor's answer as a StorageError: a lost upload, or retryable when the vendor
    throttles or fails (its retryable codes, 5xx, 429). ``code`` None: no answer came."""
    if code is None:
        return StorageError(f"{what}: no answer from {vendor}", retryable=True)
    if code in MISSING_UPLOAD_CODES:
        return UploadNotFoundError(f"{what}: the multipart upload is gone")
    retryable = code in retryable_codes or status >= 500 or status == 429
    return StorageError(f"{what}: {vendor} answered {status} {code}", retryable=retryable,
                        status=status)


class S3LikeStore(TaggedObjectStore):
    """A bucket under a key prefix, on an S3-protocol service."""

    bucket: str
    prefix: str
    client: Any  # the SDK's client (boto3 S3, CosS3Client)
    parts_field: str  # "Parts" (boto3) or "Part" (cos-python-sdk-v5)
    # the largest object one server-side copy takes; None: COPY_OBJECT_MAX (S3's and COS's)
    copy_object_max: int | None = None

    # ------------------------------------------------------------ SDK hooks
    # the SDK's exception as a StorageError naming what failed, and its HTTP status (0: none)
    error_of: Callable[[Exception, str], StorageError]
    status_of: Callable[[Exception], int]
    # the vendor's error code and message of an SDK exception (None: none to tell)
    detail_of: Callable[[Exception], tuple[str, str] | None] = staticmethod(lambda exc: None)
    vendor: str = ""

    def _error(self, exc: Exception, what: str) -> StorageError:
        """The SDK's failure as a StorageError naming the bucket and the endpoint (so that a
        person reading ``copy failed: …`` knows which destination and which server); a
        refusal of a write option names the option."""
        detail = type(self).detail_of(exc)
        if detail is not None:
            refused = refusal(self.write, self.vendor, self._status(exc), *detail)
            if refused is not None:
                return refused
        return type(self).error_of(exc, f"{what} {self.where}")

    @property
    def where(self) -> str:
        """``s3://bucket at https://endpoint``: safe to show (no user info, no query)."""
        from shared.netguard import redact_url

        endpoint = self.endpoint_name()
        return f"{self.scheme}://{self.bucket}" + (
            f" at {redact_url(endpoint)}" if endpoint else "")

    def endpoint_name(self) -> str | None:
        """The server this store's requests go to, as a URL (None when unknown)."""
        meta = getattr(self.client, "meta", None)  # boto3 clients know theirs
        url = getattr(meta, "endpoint_url", None)
        return str(url) if url else None

    def delete(self, key: str) -> None:
        self._call("delete", self.client.delete_object, Bucket=self.bucket, Key=self._k(key))

    def _status(self, exc: Exception) -> int:
        return type(self).status_of(exc)

    @abstractmethod
    def _read_head(self, bucket: str, full_key: str) -> tuple[int, str | None, dict[str, str]]:
        """``(size, etag, user metadata)`` of an object; the SDK's exception if it fails."""

    def _complete(self, full_key: str, upload_id: str, parts: list[UploadedPart]) -> None:
        """CompleteMultipartUpload (both SDKs take the same call, the list named apart)."""
        listed = [{"PartNumber": p.part_number, "ETag": f'"{p.etag.strip(chr(34))}"'}
                  for p in parts]
        self.client.complete_multipart_upload(Bucket=self.bucket, Key=full_key,
                                              UploadId=upload_id,
                                              MultipartUpload={self.parts_field: listed})

    def _abort(self, full_key: str, upload_id: str) -> None:
        self.client.abort_multipart_upload(Bucket=self.bucket, Key=full_key,
                                           UploadId=upload_id)

    @abstractmethod
    def _copy_whole(self, source: dict[str, str], full_key: str, metadata: dict[str, str],
                    if_match: str | None, protect: dict[str, Any]) -> None:
        """CopyObject of ``source`` onto ``full_key``, replacing the metadata, with the
        write options' arguments ``protect``."""

    @abstractmethod
    def _copy_part(self, source: dict[str, str], full_key: str, upload_id: str, number: int,
                   byte_range: str, if_match: str | None) -> str:
        """UploadPartCopy of one range; returns the part's ETag."""

    def _protect_args(self, retain_until: datetime | None, *, copy: bool = False
                      ) -> dict[str, Any]:
        """The SDK arguments that ask for the write options on an upload, a multipart start
        or (``copy``) a server-side copy. A store that honours none (its constructor
        refuses every option) asks for none."""
        return {}

    def _read_protection(self, full_key: str) -> Stored:
        """What a HEAD of the object says of its protections (called only with options)."""
        raise NotImplementedError(f"{type(self).__name__} reads no protections")

    @property
    def _retentions(self) -> dict[str, datetime | None]:
        """Upload id -> the retention date its start asked for (checked at its completion),
        for the uploads this store started."""
        return self.__dict__.setdefault("_retention_dates", {})  # type: ignore[no-any-return]

    def _after_copy(self, key: str) -> None:
        """What a server-side copy could not ask for in its own request (COS: the tags)."""

    # --------------------------------------------------------- protections
    def _retain_until(self) -> datetime | None:
        """The Object Lock date an object written now gets (None: no retention asked)."""
        retention = self.write.retention
        return retention.retain_until(utcnow()) if retention is not None else None

    def protection_problems(self, key: str, retain_until: datetime | None = None
                            ) -> list[str]:
        if self.write.empty:
            return []
        stored = self._call("check the object's protections", self._read_protection,
                            full_key=self._k(key))
        tags = self._tags(key) if self.write.tags else None
        return problems(self.write, stored, tags, retain_until)

    def _check_written(self, key: str, retain_until: datetime | None) -> None:
        """The object just written must carry the write options: else it is removed and
        the write fails, naming what is missing (never delivered unprotected)."""
        found = self.protection_problems(key, retain_until)
        if not found:
            return
        try:
            self.delete(key)  # each store's own DeleteObject (OSS's SDK takes a request)
            fate = "it was removed"
        except StorageError as exc:  # the failure below says what matters
            fate = f"removing it failed too ({exc.message})"
        raise ProtectionError("; ".join(found) + f" ({self.uri(key)}: {fate})")

    # ---------------------------------------------------------------- keys
    def _k(self, key: str) -> str:
        check_key(key, "key")
        return self.prefix + key

    def uri(self, key: str) -> str:
        return f"{self.scheme}://{self.bucket}/{self._k(key)}"

    def _call(self, what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """One SDK call, its failure as a StorageError naming ``what``."""
        try:
            return fn(**kwargs)
        except StorageError:
            raise  # a check of the answer failed; it says why
        except Exception as exc:  # noqa: BLE001 - SDK service and client errors
            raise self._error(exc, what) from exc

    # --------------------------------------------------------------- reads
    def head(self, key: str) -> ObjectInfo | None:
        return self._head(key, tags=True)

    def _head(self, key: str, *, tags: bool) -> ObjectInfo | None:
        """``tags=False`` skips looking for an MD5 tag (an object just written has none)."""
        try:
            size, etag, metadata = self._read_head(self.bucket, self._k(key))
        except Exception as exc:  # noqa: BLE001
            if self._status(exc) == 404:
                return None
            raise self._error(exc, "head") from exc
        if tags:
            metadata = self._with_tagged_md5(key, metadata)
        return ObjectInfo(key=key, size=size, etag=etag, metadata=metadata)

    # ----------------------------------------------------------- multipart
    def complete_upload(self, key: str, upload_id: str, parts: list[UploadedPart],
                        metadata: dict[str, str] | None = None) -> ObjectInfo:
        """Complete, then look: the object must be there, with the metadata asked for
        (written again server-side if the service dropped it)."""
        self._call("complete upload", self._complete, full_key=self._k(key),
                   upload_id=upload_id, parts=parts)
        info = self._head(key, tags=False)
        if info is None:
            raise StorageError("the completed object is not there", retryable=True)
        self._check_written(key, self._retentions.pop(upload_id, None))
        if metadata and any(info.metadata.get(k.lower()) != v for k, v in metadata.items()):
            return self.set_metadata(key, metadata, _info=info)
        return info

    def abort_upload(self, key: str, upload_id: str) -> None:
        self._retentions.pop(upload_id, None)
        try:
            self._abort(self._k(key), upload_id)
        except Exception as exc:  # noqa: BLE001
            err = self._error(exc, "abort upload")
            if not isinstance(err, UploadNotFoundError) and self._status(exc) != 404:
                log.warning("aborting an upload of %s failed: %s", key, err.message)

    # -------------------------------------------------------------- copies
    def set_metadata(self, key: str, metadata: dict[str, str], *,
                     _info: ObjectInfo | None = None) -> ObjectInfo:
        """Rewrite the object onto itself server-side with ``metadata`` merged in."""
        info = _info or self.head(key)
        if info is None:
            raise StorageError(f"no object {key!r}", retryable=False)
        merged = dict(info.metadata)
        merged.update({k.lower(): v for k, v in metadata.items()})
        self._copy(self._source(self.bucket, self._k(key)), key, info.size, merged, info.etag)
        after = self.head(key)
        return ObjectInfo(key=key, size=info.size, etag=after.etag if after else None,
                          metadata=merged)

    def _source(self, bucket: str, full_key: str) -> dict[str, str]:
        """The SDK's ``CopySource`` for an object of this service."""
        return {"Bucket": bucket, "Key": full_key}

    def _copy(self, source: dict[str, str], key: str, size: int, metadata: dict[str, str],
              if_match: str | None) -> None:
        """Server-side copy of ``source`` to ``key``: whole up to :attr:`copy_object_max`,
        else part by part; either way with the write options, checked on the copy."""
        try:
            limit = COPY_OBJECT_MAX if self.copy_object_max is None else self.copy_object_max
            if size <= limit:
                until = self._retain_until()
                self._copy_whole(source, self._k(key), metadata, if_match,
                                 self._protect_args(until, copy=True))
                self._after_copy(key)
                self._check_written(key, until)
            else:
                self._copy_in_parts(source, key, size, metadata, if_match)
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "server-side copy") from exc

    def _copy_in_parts(self, source: dict[str, str], key: str, size: int,
                       metadata: dict[str, str], if_match: str | None) -> None:
        upload_id = self.start_upload(key, metadata)
        try:
            parts = []
            for number, start in enumerate(range(0, size, COPY_PART_SIZE), 1):
                end = min(start + COPY_PART_SIZE, size) - 1
                etag = self._copy_part(source, self._k(key), upload_id, number,
                                       f"bytes={start}-{end}", if_match)
                parts.append(UploadedPart(number, etag.strip('"')))
            self.complete_upload(key, upload_id, parts)
        except BaseException:
            self.abort_upload(key, upload_id)
            raise
