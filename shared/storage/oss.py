"""OssObjectStore: an Alibaba Cloud OSS bucket under a key prefix, via alibabacloud-oss-v2.

Credentials: the deployment's Alibaba Cloud keys (:class:`shared.config.StorageSettings`
reads ``ALIBABA_CLOUD_ACCESS_KEY_ID`` / ``…_SECRET`` / ``…_SECURITY_TOKEN``, the ones DMS
uses) unless the caller gives others. ``endpoint`` (``http://host:port``) sends requests
elsewhere (the sandbox gateway, ``sandbox/oss_gateway.py``); else the region's public
endpoint. Requests are signed with V4 (``OSS4-HMAC-SHA256``).

OSS follows the S3 object model (:class:`~shared.storage.s3like.S3LikeStore` holds the rules):
user metadata (``x-oss-meta-*``) fixed when an object is written, an MD5 learnt only at the
end kept in the object tag ``md5`` (``record_md5``), ``set_metadata`` a server-side rewrite
(``CopyObject`` with ``x-oss-metadata-directive: REPLACE``, part by part with
``UploadPartCopy`` above 1 GB, the limit OSS's CopyObject page sets when the copy may not
be done in place).

Checks: every upload and part carries ``Content-MD5`` (OSS refuses bytes that do not match
it); where OSS answers ``x-oss-hash-crc64ecma`` (PutObject, UploadPart, CompleteMultipartUpload,
CopyObject, HeadObject; OSS's CRC-64 page) it is compared with the CRC-64 of the bytes sent
(a multipart object's from its parts', :class:`~shared.storage.crc64.PartCrcs`). A mismatch
fails the call, retryably; a written object that does not match is deleted so that no later
attempt takes it as done.

Write options (:mod:`shared.write_options`): ``x-oss-server-side-encryption`` (``AES256``,
``KMS``) with ``x-oss-server-side-encryption-key-id``, ``x-oss-storage-class`` (OSS's names,
``Standard``, ``IA``; the archive ones are refused before anything is written) and
``x-oss-tagging`` on PutObject, InitiateMultipartUpload and CopyObject (with
``x-oss-tagging-directive: Replace``); checked on the stored object by HeadObject and
GetObjectTagging (:mod:`shared.storage.protection`). Retention is refused by name: OSS's
WORM is a bucket's retention policy.

Server-side copy: an :class:`~shared.model.OssObjectSource` (a DMS result) in this store's
region and on its endpoint, readable with this store's keys, is copied inside OSS and never
downloaded; when the keys cannot read it (``403``) the copy streams its presigned URL instead.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

from shared.errors import ConfigError, StorageError
from shared.model import OssObjectSource
from shared.netguard import failure_words
from shared.storage.base import ObjectInfo, UploadedPart, sdk_body
from shared.storage.crc64 import PartCrcs, crc64
from shared.storage.protection import STANDARD, Stored
from shared.storage.s3like import S3LikeStore, md5_b64, norm_prefix, storage_error
from shared.write_options import NO_OPTIONS, WriteOptions, check_backend

log = logging.getLogger(__name__)

COPY_OBJECT_MAX = 1024 ** 3  # CopyObject across buckets, or changing the object: 1 GB
PRESIGN_MAX_S = 7 * 24 * 3600  # a V4 URL's x-oss-expires: 1 to 604,800 s (EC 0002-00000232)
# InvalidDigest: the bytes OSS received are not the ones whose Content-MD5 was sent (damaged
# on the way): sending them again can succeed
_RETRYABLE_CODES = frozenset({"RequestTimeout", "InternalError", "ServiceUnavailable",
                              "RequestTimeTooSkewed", "QpsLimitExceeded", "SlowDown",
                              "InvalidDigest"})
# the storage classes by OSS's own spelling (PutObject: x-oss-storage-class), keyed by the
# upper-case name the write options keep; another name is sent as given, for OSS to refuse
OSS_CLASSES = {"STANDARD": "Standard", "IA": "IA", "ARCHIVE": "Archive",
               "COLDARCHIVE": "ColdArchive", "DEEPCOLDARCHIVE": "DeepColdArchive"}


def _inner(exc: BaseException) -> BaseException:
    """The SDK's error inside its OperationError wrapper(s)."""
    seen = 0
    while hasattr(exc, "unwrap") and seen < 4:
        inner = exc.unwrap()
        if inner is None or inner is exc:
            break
        exc, seen = inner, seen + 1
    return exc


def _error(exc: Exception, what: str) -> StorageError:
    from alibabacloud_oss_v2 import exceptions

    inner = _inner(exc)
    if isinstance(inner, exceptions.ServiceError):
        return storage_error("OSS", str(inner.code or ""), _status(exc), what, _RETRYABLE_CODES)
    if isinstance(inner, exceptions.InconsistentError):
        return StorageError(f"{what}: OSS's CRC-64 differs from the bytes sent", retryable=True)
    return StorageError(f"{what}: {failure_words(inner)}", retryable=True)  # type: ignore[arg-type]


def _detail(exc: Exception) -> tuple[str, str] | None:
    """OSS's error code and message of an SDK failure (None: no answer from OSS)."""
    from alibabacloud_oss_v2 import exceptions

    inner = _inner(exc)
    if not isinstance(inner, exceptions.ServiceError):
        return None
    return str(inner.code or ""), str(inner.message or "")


def _status(exc: Exception) -> int:
    inner = _inner(exc)
    return int(getattr(inner, "status_code", 0) or 0)


def _crc(value: Any) -> int | None:
    """An answer's ``x-oss-hash-crc64ecma`` (decimal), None when absent or unreadable."""
    text = str(value or "").strip()
    return int(text) if text.isdigit() and int(text) < 1 << 64 else None


def _meta(metadata: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (metadata or {}).items()}


class OssObjectStore(S3LikeStore):
    scheme = "oss"
    copy_object_max = COPY_OBJECT_MAX
    vendor = "OSS"

    def __init__(self, bucket: str, *, region: str, prefix: str = "",
                 endpoint: str | None = None, access_key_id: str | None = None,
                 access_key_secret: str | None = None, token: str | None = None,
                 client: Any = None, write: WriteOptions = NO_OPTIONS) -> None:
        check_backend(write, self.scheme)  # retention: refused by name
        self.write = write
        self.bucket = bucket
        self.region = region
        self.prefix = norm_prefix(prefix)
        self.endpoint = endpoint
        if client is None and not (access_key_id and access_key_secret):
            raise ConfigError("OSS destination needs credentials (ALIBABA_CLOUD_ACCESS_KEY_ID "
                              "/ ALIBABA_CLOUD_ACCESS_KEY_SECRET)")
        self.client = client or self._make_client(access_key_id or "", access_key_secret or "",
                                                  token)
        self._crcs = PartCrcs()

    def __repr__(self) -> str:
        return f"OssObjectStore({self.bucket!r}, region={self.region!r}, prefix={self.prefix!r})"

    def endpoint_name(self) -> str | None:
        return self.endpoint or f"https://oss-{self.region}.aliyuncs.com"

    def _make_client(self, key_id: str, secret: str, token: str | None) -> Any:
        from shared.clouds import alibaba

        return alibaba.oss_client(self.region, key_id, secret, token, endpoint=self.endpoint)

    # ------------------------------------------------------------ SDK hooks
    error_of = staticmethod(_error)
    status_of = staticmethod(_status)
    detail_of = staticmethod(_detail)

    def _protect_args(self, retain_until: datetime.datetime | None, *, copy: bool = False
                      ) -> dict[str, Any]:
        """The SDK request fields (PutObject, InitiateMultipartUpload, CopyObject) asking for
        the write options; a copy replaces the source's tags with the ones asked."""
        write = self.write
        args: dict[str, Any] = {}
        if write.sse:
            args["server_side_encryption"] = "KMS" if write.sse == "kms" else write.sse
        if write.kms_key_id:
            args["server_side_encryption_key_id"] = write.kms_key_id
        if write.storage_class:
            args["storage_class"] = OSS_CLASSES.get(write.storage_class, write.storage_class)
        if write.tags:
            args["tagging"] = urlencode(write.tags, quote_via=quote)
            if copy:
                args["tagging_directive"] = "Replace"
        return args

    def _read_protection(self, full_key: str) -> Stored:
        import alibabacloud_oss_v2 as oss

        r = self.client.head_object(oss.HeadObjectRequest(bucket=self.bucket, key=full_key))
        sse = str(r.server_side_encryption or "") or None
        return Stored(sse="kms" if sse == "KMS" else sse,
                      kms_key_id=r.server_side_encryption_key_id or None,
                      storage_class=str(r.storage_class or STANDARD).upper())

    def _sdk(self, what: str, method: str, model: str, **fields: Any) -> Any:
        """One SDK call: ``client.<method>(models.<model>(**fields))``."""
        import alibabacloud_oss_v2 as oss

        return self._call(what, getattr(self.client, method),
                          request=getattr(oss, model)(**fields))

    def _read_head(self, bucket: str, full_key: str) -> tuple[int, str | None, dict[str, str]]:
        import alibabacloud_oss_v2 as oss

        r = self.client.head_object(oss.HeadObjectRequest(bucket=bucket, key=full_key))
        return int(r.content_length or 0), str(r.etag or "").strip('"') or None, _meta(r.metadata)

    def delete(self, key: str) -> None:
        self._sdk("delete", "delete_object", "DeleteObjectRequest", bucket=self.bucket,
                  key=self._k(key))

    def _copy_whole(self, source: dict[str, str], full_key: str, metadata: dict[str, str],
                    if_match: str | None, protect: dict[str, Any]) -> None:
        import alibabacloud_oss_v2 as oss

        self.client.copy_object(oss.CopyObjectRequest(
            bucket=self.bucket, key=full_key, source_bucket=source["Bucket"],
            source_key=source["Key"], metadata_directive="REPLACE", metadata=metadata,
            if_match=f'"{if_match}"' if if_match else None, **protect))

    def _copy_part(self, source: dict[str, str], full_key: str, upload_id: str, number: int,
                   byte_range: str, if_match: str | None) -> str:
        import alibabacloud_oss_v2 as oss

        r = self.client.upload_part_copy(oss.UploadPartCopyRequest(
            bucket=self.bucket, key=full_key, upload_id=upload_id, part_number=number,
            source_bucket=source["Bucket"], source_key=source["Key"], source_range=byte_range,
            if_match=f'"{if_match}"' if if_match else None))
        return str(r.etag or "")

    def _complete(self, full_key: str, upload_id: str, parts: list[UploadedPart]) -> None:
        import alibabacloud_oss_v2 as oss

        listed = [oss.UploadPart(part_number=p.part_number, etag=f'"{p.etag.strip(chr(34))}"')
                  for p in parts]
        r = self.client.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
            bucket=self.bucket, key=full_key, upload_id=upload_id,
            complete_multipart_upload=oss.CompleteMultipartUpload(parts=listed)))
        expected = self._crcs.expected(upload_id, [p.part_number for p in parts])
        answered = _crc(r.hash_crc64)
        if expected is not None and answered is not None and answered != expected:
            self._discard(full_key, "the completed object's CRC-64 differs from its parts'")

    def _abort(self, full_key: str, upload_id: str) -> None:
        import alibabacloud_oss_v2 as oss

        self.client.abort_multipart_upload(oss.AbortMultipartUploadRequest(
            bucket=self.bucket, key=full_key, upload_id=upload_id))

    def _discard(self, full_key: str, problem: str) -> None:
        """A written object that is not what was sent: delete it and fail, retryably."""
        import alibabacloud_oss_v2 as oss

        try:
            self.client.delete_object(oss.DeleteObjectRequest(bucket=self.bucket, key=full_key))
        except Exception as exc:  # noqa: BLE001
            log.warning("could not delete the damaged object %s: %s", full_key,
                        _error(exc, "delete").message)
        raise StorageError(problem, retryable=True)

    def _tags(self, key: str) -> dict[str, str]:
        r = self._sdk("read tags", "get_object_tagging", "GetObjectTaggingRequest",
                      bucket=self.bucket, key=self._k(key))
        tags = r.tag_set.tags if r.tag_set is not None and r.tag_set.tags else []
        return {str(t.key): str(t.value or "") for t in tags}

    def _put_tags(self, key: str, tags: dict[str, str]) -> None:
        import alibabacloud_oss_v2 as oss

        if tags:
            tagging = oss.Tagging(tag_set=oss.TagSet(
                tags=[oss.Tag(key=k, value=v) for k, v in tags.items()]))
            self._sdk("tag the object", "put_object_tagging", "PutObjectTaggingRequest",
                      bucket=self.bucket, key=self._k(key), tagging=tagging)
        else:
            self._sdk("tag the object", "delete_object_tagging", "DeleteObjectTaggingRequest",
                      bucket=self.bucket, key=self._k(key))

    # --------------------------------------------------------------- reads
    def read(self, key: str) -> bytes:
        return b"".join(self.iter_read(key))

    def iter_read(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        body = self._sdk("read", "get_object", "GetObjectRequest", bucket=self.bucket,
                         key=self._k(key)).body
        try:
            yield from body.iter_bytes(block_size=chunk_size)
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "read") from exc
        finally:
            body.close()

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        body = self._sdk("read", "get_object", "GetObjectRequest", bucket=self.bucket,
                         key=self._k(key),
                         range_header=f"bytes={start}-{start + length - 1}").body
        try:
            return bytes(body.read())[:length]
        finally:
            body.close()

    def presign(self, key: str, expires_s: int) -> str | None:
        """A V4-presigned GET, valid ``expires_s`` seconds up to OSS's 7 days (a longer
        ``COURIER_LINK_TTL_S`` gives a 7-day link); None when the SDK cannot make one."""
        import alibabacloud_oss_v2 as oss

        seconds = max(1, min(int(expires_s), PRESIGN_MAX_S))
        try:
            result = self.client.presign(
                oss.GetObjectRequest(bucket=self.bucket, key=self._k(key)),
                expires=datetime.timedelta(seconds=seconds))
        except Exception as exc:  # noqa: BLE001 - a link is a convenience, never a failure
            log.warning("no download link for %s: %s", key, _error(exc, "presign").message)
            return None
        return str(result.url)

    # -------------------------------------------------------------- writes
    def start_upload(self, key: str, metadata: dict[str, str] | None = None) -> str:
        r = self._sdk("start upload", "initiate_multipart_upload",
                      "InitiateMultipartUploadRequest", bucket=self.bucket, key=self._k(key),
                      metadata=dict(metadata or {}), **self._protect_args(None))
        return str(r.upload_id)

    def put_part(self, key: str, upload_id: str, part_number: int,
                 data: bytes | bytearray | memoryview, *, offset: int | None = None) -> str:
        data = sdk_body(data)
        r = self._sdk(f"part {part_number}", "upload_part", "UploadPartRequest",
                      bucket=self.bucket, key=self._k(key), upload_id=upload_id,
                      part_number=part_number, content_md5=md5_b64(data), body=data)
        answered = _crc(r.hash_crc64)
        if answered is not None:
            crc = crc64(data)
            if answered != crc:
                raise StorageError(f"part {part_number}: OSS's CRC-64 differs from the bytes "
                                   "sent", retryable=True)
            self._crcs.sent(upload_id, part_number, crc, len(data))
        return str(r.etag or "").strip('"')

    def put_object(self, key: str, data: bytes, metadata: dict[str, str] | None = None
                   ) -> ObjectInfo:
        r = self._sdk("put object", "put_object", "PutObjectRequest", bucket=self.bucket,
                      key=self._k(key), content_md5=md5_b64(data), body=data,
                      metadata=dict(metadata or {}), **self._protect_args(None))
        answered = _crc(r.hash_crc64)
        if answered is not None and answered != crc64(data):
            self._discard(self._k(key), "OSS's CRC-64 of the object differs from the bytes "
                          "sent")
        self._check_written(key, None)
        return ObjectInfo(key=key, size=len(data), etag=str(r.etag or "").strip('"') or None,
                          metadata=_meta(metadata))

    def server_side_copy(self, source: Any, key: str, metadata: dict[str, str] | None = None
                         ) -> ObjectInfo | None:
        """Copy an :class:`OssObjectSource` of this store's endpoint and region into ``key``
        inside OSS; None for any other source, or when this store's keys cannot read it. The
        source's user metadata is kept, ``metadata`` merged over it, and a simple upload's
        ETag (its MD5) recorded as ``md5``."""
        import alibabacloud_oss_v2 as oss

        if not isinstance(source, OssObjectSource) or not source.bucket or (
                source.endpoint != self.endpoint or source.region != self.region):
            return None  # another server or region: only its presigned URL reaches it
        try:
            head = self.client.head_object(oss.HeadObjectRequest(bucket=source.bucket,
                                                                 key=source.key))
        except Exception as exc:  # noqa: BLE001
            if _status(exc) in (401, 403):
                log.info("server-side copy: %s is not readable with the destination's keys; "
                         "streaming it instead", source.bucket)
                return None
            raise _error(exc, "head copy source") from exc
        size = int(head.content_length or 0)
        merged = _meta(head.metadata)
        merged.update(_meta(metadata))
        etag = str(head.etag or "").strip('"')
        simple = str(head.object_type or "Normal") == "Normal" and "-" not in etag
        if "md5" not in merged and len(etag) == 32 and simple and not head.server_side_encryption:
            merged["md5"] = etag.lower()  # PutObject's ETag is the MD5 of the bytes
        try:
            self._copy(self._source(source.bucket, source.key), key, size, merged, etag or None)
        except StorageError as exc:
            if exc.status in (401, 403):
                return None
            raise
        source_crc = _crc(head.hash_crc64)
        if source_crc is not None:
            copied = self._call("head", self.client.head_object,
                                request=oss.HeadObjectRequest(bucket=self.bucket,
                                                              key=self._k(key)))
            if _crc(copied.hash_crc64) not in (None, source_crc):
                self._discard(self._k(key), "the copy's CRC-64 differs from the source's")
        info = self.head(key)
        if info is None or info.size != size:
            raise StorageError("server-side copy did not produce the object", retryable=True)
        return info
