"""CosObjectStore: a Tencent Cloud COS bucket under a key prefix, via cos-python-sdk-v5.

Credentials: given by the caller (``open_destination`` passes the function role's temporary
keys, read by :class:`shared.config.StorageSettings` as SCF sets them). ``endpoint`` (``http://host:port``)
sends requests elsewhere while keeping the ``<bucket>.cos.<region>.myqcloud.com`` Host —
the sandbox gateway (``sandbox/cos_gateway.py``).

Like S3, user metadata (``x-cos-meta-*``) is fixed when an object is written. The copy's
``md5`` goes there when it is known before the upload starts; otherwise ``record_md5``
keeps it in the object tag ``md5``, so the object is never rewritten onto itself (which
would move every byte again and notify the bucket's subscribers twice). ``head`` reports
either as ``metadata["md5"]``. ``set_metadata`` does rewrite the object server-side
(``CopyStatus="Replaced"``; part by part with ``upload_part_copy`` above 5 GiB).

Answers COS documents beyond S3's: PUT Object - Copy, Upload Part - Copy and Complete
Multipart Upload may answer ``200 OK`` with an ``<Error>`` body (the SDK raises
``CosServiceError`` with status 200 for the first and last, and hands the body back as a dict
for Upload Part - Copy; each is a failed call here, retryable as its code says). Where COS
returns ``x-cos-hash-crc64ecma`` (uploads, parts, completes, copies) it is checked against the
CRC-64 of the bytes sent (a multipart object's from its parts'); a mismatch fails the call,
retryably, and a completed or copied object that does not match is deleted so that no later
attempt takes it as done.

Server-side copy: a COS source (a DLC result, which DLC writes into a bucket of the user's)
that this store's own credentials can read is copied inside COS, never downloaded. When they
cannot (``403``), the copy streams it with the source's temporary credentials instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from shared.errors import ConfigError, StorageError
from shared.model import CosObjectSource
from shared.netguard import failure_words
from shared.storage.base import MD5_TAG, ObjectInfo, UploadedPart, sdk_body
from shared.storage.crc64 import PartCrcs, crc64
from shared.storage.protection import STANDARD, Stored
from shared.storage.s3like import S3LikeStore, md5_b64, norm_prefix, storage_error
from shared.storage.sources import etag_is_md5
from shared.write_options import NO_OPTIONS, WriteOptions, check_backend

log = logging.getLogger(__name__)

META = "x-cos-meta-"
CRC_HEADER = "x-cos-hash-crc64ecma"
_RETRYABLE_CODES = frozenset({"SlowDown", "RequestTimeout", "InternalError",
                              "ServiceUnavailable", "RequestTimeTooSkewed"})


def _error(exc: Exception, what: str) -> StorageError:
    from qcloud_cos.cos_exception import CosServiceError

    if isinstance(exc, CosServiceError):
        return storage_error("COS", str(exc.get_error_code() or ""), _status(exc), what,
                             _RETRYABLE_CODES)
    return StorageError(f"{what}: {failure_words(exc)}", retryable=True)


def _detail(exc: Exception) -> tuple[str, str] | None:
    from qcloud_cos.cos_exception import CosServiceError

    if not isinstance(exc, CosServiceError):
        return None
    return str(exc.get_error_code() or ""), str(exc.get_error_msg() or "")


def _status(exc: Exception) -> int:
    get = getattr(exc, "get_status_code", None)  # CosServiceError only
    return int(get() or 0) if callable(get) else 0


def _meta_headers(metadata: dict[str, str] | None) -> dict[str, str]:
    return {META + k.lower(): v for k, v in (metadata or {}).items()}


def _meta_from(headers: dict[str, Any]) -> dict[str, str]:
    return {k[len(META):].lower(): str(v) for k, v in headers.items()
            if k.lower().startswith(META)}


def _header(headers: dict[str, Any], name: str) -> Any:
    for k, v in headers.items():
        if k.lower() == name:
            return v
    return None


def _crc_of(headers: dict[str, Any]) -> int | None:
    """The ``x-cos-hash-crc64ecma`` COS answered (decimal), None when absent or unreadable."""
    value = _header(headers, CRC_HEADER)
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        log.warning("COS answered an unreadable %s header; not checked", CRC_HEADER)
        return None


def _body_error(resp: dict[str, Any], what: str) -> StorageError | None:
    """A ``200 OK`` whose body is an ``<Error>`` (the SDK's dict of it), as a StorageError."""
    if "ETag" in resp:
        return None
    code = resp.get("Code")
    return storage_error("COS", str(code) if code else "NoETag", 200, what, _RETRYABLE_CODES)


class CosObjectStore(S3LikeStore):
    scheme = "cos"
    parts_field = "Part"  # CompleteMultipartUpload's list of parts
    vendor = "COS"

    def __init__(self, bucket: str, *, region: str, prefix: str = "",
                 endpoint: str | None = None, secret_id: str | None = None,
                 secret_key: str | None = None, token: str | None = None,
                 client: Any = None, write: WriteOptions = NO_OPTIONS) -> None:
        check_backend(write, self.scheme)
        self.write = write
        self.bucket = bucket
        self.region = region
        self.prefix = norm_prefix(prefix)
        self.endpoint = endpoint
        if client is None and not (secret_id and secret_key):
            raise ConfigError("COS destination needs credentials (TENCENTCLOUD_SECRETID / "
                              "TENCENTCLOUD_SECRETKEY, or a function role)")
        self._creds = (secret_id, secret_key, token or None)
        self.client = client or self._make_client(endpoint)
        self._crcs = PartCrcs()  # the CRC-64 of the parts this store sent

    def __repr__(self) -> str:
        return f"CosObjectStore({self.bucket!r}, region={self.region!r}, prefix={self.prefix!r})"

    def endpoint_name(self) -> str | None:
        """The gateway set for this store, else the region's public COS endpoint."""
        return self.endpoint or (f"https://cos.{self.region}.myqcloud.com"
                                 if self.region else None)

    def _make_client(self, endpoint: str | None, **extra: Any) -> Any:
        from shared.clouds import tencent

        secret_id, secret_key, token = self._creds
        return tencent.cos_client(self.region, secret_id, secret_key, token,
                                  endpoint=endpoint, timeout_s=60, retry=3,
                                  **{"PoolMaxSize": 16, **extra})

    # ------------------------------------------------------------ SDK hooks
    error_of = staticmethod(_error)
    status_of = staticmethod(_status)
    detail_of = staticmethod(_detail)

    def _protect_args(self, retain_until: datetime | None, *, copy: bool = False
                      ) -> dict[str, Any]:
        """COS's headers (Common Request Headers, SSE; PUT Object, Initiate Multipart
        Upload, PUT Object - Copy: ``x-cos-storage-class``, ``x-cos-tagging``). A copy's
        tags are put afterwards (:meth:`_after_copy`). No retention: refused earlier."""
        write = self.write
        args: dict[str, Any] = {}
        if write.sse:
            args["ServerSideEncryption"] = "cos/kms" if write.sse == "kms" else write.sse
        if write.kms_key_id:
            args["SSEKMSKeyId"] = write.kms_key_id
        if write.storage_class:
            args["StorageClass"] = write.storage_class
        if write.tags and not copy:
            args["Tagging"] = urlencode(write.tags)
        return args

    def _after_copy(self, key: str) -> None:
        """A copy's tags, by PUT Object tagging: the ones asked, and the md5 tag if the
        copy has one."""
        if self.write.tags:
            kept = {k: v for k, v in self._tags(key).items() if k == MD5_TAG}
            self._put_tags(key, {**kept, **dict(self.write.tags)})

    def _read_protection(self, full_key: str) -> Stored:
        head = self.client.head_object(Bucket=self.bucket, Key=full_key)
        sse = _header(head, "x-cos-server-side-encryption")
        return Stored(sse="kms" if sse == "cos/kms" else (str(sse) if sse else None),
                      kms_key_id=_header(head, "x-cos-server-side-encryption-cos-kms-key-id"),
                      storage_class=str(_header(head, "x-cos-storage-class") or STANDARD))

    def _read_head(self, bucket: str, full_key: str) -> tuple[int, str | None, dict[str, str]]:
        resp = self.client.head_object(Bucket=bucket, Key=full_key)
        etag = _header(resp, "etag")
        return (int(_header(resp, "content-length") or 0),
                str(etag).strip('"') if etag else None, _meta_from(resp))

    def _source(self, bucket: str, full_key: str, region: str | None = None) -> dict[str, str]:
        return {"Bucket": bucket, "Key": full_key, "Region": region or self.region}

    def _copy_whole(self, source: dict[str, str], full_key: str, metadata: dict[str, str],
                    if_match: str | None, protect: dict[str, Any]) -> None:
        self.client.copy_object(Bucket=self.bucket, Key=full_key, CopySource=source,
                                CopyStatus="Replaced", Metadata=_meta_headers(metadata),
                                **protect)

    def _copy_part(self, source: dict[str, str], full_key: str, upload_id: str, number: int,
                   byte_range: str, if_match: str | None) -> str:
        resp = self.client.upload_part_copy(
            Bucket=self.bucket, Key=full_key, PartNumber=number, UploadId=upload_id,
            CopySource=source, CopySourceRange=byte_range)
        failure = _body_error(resp, f"copy of part {number}")
        if failure is not None:
            raise failure
        return str(resp["ETag"])

    def _complete(self, full_key: str, upload_id: str, parts: list[UploadedPart]) -> None:
        listed = [{"PartNumber": p.part_number, "ETag": f'"{p.etag.strip(chr(34))}"'}
                  for p in parts]
        resp = self.client.complete_multipart_upload(Bucket=self.bucket, Key=full_key,
                                                     UploadId=upload_id,
                                                     MultipartUpload={"Part": listed})
        expected = self._crcs.expected(upload_id, [p.part_number for p in parts])
        answered = _crc_of(resp)
        if answered is None or expected is None:
            return  # parts sent by an earlier invocation: the copy reads the object back
        if answered != expected:
            self._discard(full_key, "the completed object's CRC-64 differs from its parts'")

    def _discard(self, full_key: str, problem: str) -> None:
        """A written object that is not what was sent: delete it (so that no later attempt
        takes it for done) and fail, retryably."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=full_key)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not delete the damaged object %s: %s", full_key,
                        _error(exc, "delete").message)
        raise StorageError(problem, retryable=True)

    def _tags(self, key: str) -> dict[str, str]:
        resp = self._call("read tags", self.client.get_object_tagging, Bucket=self.bucket,
                          Key=self._k(key))
        tag_set = resp.get("TagSet") or {}
        tags = tag_set.get("Tag") or [] if isinstance(tag_set, dict) else []
        return {str(t.get("Key")): str(t.get("Value") or "") for t in tags}

    def _put_tags(self, key: str, tags: dict[str, str]) -> None:
        if tags:
            tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
            self._call("tag the object", self.client.put_object_tagging, Bucket=self.bucket,
                       Key=self._k(key), Tagging={"TagSet": {"Tag": tag_list}})
        else:
            self._call("tag the object", self.client.delete_object_tagging,
                       Bucket=self.bucket, Key=self._k(key))

    # --------------------------------------------------------------- reads
    def read(self, key: str) -> bytes:
        return b"".join(self.iter_read(key))

    def iter_read(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        resp = self._call("read", self.client.get_object, Bucket=self.bucket, Key=self._k(key))
        raw = resp["Body"].get_raw_stream()
        try:
            while True:
                chunk = raw.read(chunk_size, decode_content=False)
                if not chunk:
                    return
                yield chunk
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "read") from exc
        finally:
            raw.close()

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        resp = self._call("read", self.client.get_object, Bucket=self.bucket, Key=self._k(key),
                          Range=f"bytes={start}-{start + length - 1}")
        raw = resp["Body"].get_raw_stream()
        try:
            return raw.read(length, decode_content=False)[:length]  # type: ignore[no-any-return]
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "read") from exc
        finally:
            raw.close()

    def presign(self, key: str, expires_s: int) -> str | None:
        client = self.client
        if self.endpoint:
            # The sandbox gateway takes the bucket from the path when the Host is not COS's.
            parts = urlsplit(self.endpoint)
            client = self._make_client(None, Scheme=parts.scheme or "http",
                                       Domain=f"{parts.netloc}/{self.bucket}")
        params = {"x-cos-security-token": self._creds[2]} if self._creds[2] else {}
        return client.get_presigned_download_url(  # type: ignore[no-any-return]
            Bucket=self.bucket, Key=self._k(key), Expired=int(expires_s), Params=params)

    # -------------------------------------------------------------- writes
    def start_upload(self, key: str, metadata: dict[str, str] | None = None) -> str:
        resp = self._call("start upload", self.client.create_multipart_upload,
                          Bucket=self.bucket, Key=self._k(key),
                          Metadata=_meta_headers(metadata), **self._protect_args(None))
        self._retentions[str(resp["UploadId"])] = None
        return str(resp["UploadId"])

    def put_part(self, key: str, upload_id: str, part_number: int,
                 data: bytes | bytearray | memoryview, *, offset: int | None = None) -> str:
        data = sdk_body(data)
        resp = self._call(f"part {part_number}", self.client.upload_part, Bucket=self.bucket,
                          Key=self._k(key), Body=data, PartNumber=part_number,
                          UploadId=upload_id, ContentMD5=md5_b64(data))
        answered = _crc_of(resp)
        if answered is not None:  # computed only when COS gives one to compare with
            crc = crc64(data)
            if answered != crc:
                raise StorageError(f"part {part_number}: COS's CRC-64 differs from the bytes "
                                   "sent", retryable=True)
            self._crcs.sent(upload_id, part_number, crc, len(data))
        return str(_header(resp, "etag")).strip('"')

    def put_object(self, key: str, data: bytes, metadata: dict[str, str] | None = None
                   ) -> ObjectInfo:
        resp = self._call("put object", self.client.put_object, Bucket=self.bucket,
                          Key=self._k(key), Body=data, ContentMD5=md5_b64(data),
                          Metadata=_meta_headers(metadata), **self._protect_args(None))
        answered = _crc_of(resp)
        if answered is not None and answered != crc64(data):
            self._discard(self._k(key), "COS's CRC-64 of the object differs from the bytes "
                          "sent")
        self._check_written(key, None)
        etag = _header(resp, "etag")
        return ObjectInfo(key=key, size=len(data), etag=str(etag).strip('"') if etag else None,
                          metadata={k.lower(): v for k, v in (metadata or {}).items()})

    def server_side_copy(self, source: Any, key: str, metadata: dict[str, str] | None = None
                         ) -> ObjectInfo | None:
        """Copy a :class:`CosObjectSource` on this store's endpoint into ``key`` inside COS;
        None for any other source, or when this store's credentials cannot read it. The
        source's user metadata is kept, ``metadata`` merged over it, and a single-part
        source's ETag (its MD5) recorded as ``md5``."""
        if not isinstance(source, CosObjectSource) or source.endpoint != self.endpoint:
            return None
        reader = self.client if source.region == self.region else self._make_client(
            self.endpoint, Region=source.region)
        try:
            head = reader.head_object(Bucket=source.bucket, Key=source.key)
        except Exception as exc:  # noqa: BLE001
            if _status(exc) in (401, 403):
                log.info("server-side copy: %s is not readable with the destination's "
                         "credentials; streaming it instead", source.bucket)
                return None
            raise _error(exc, "head copy source") from exc
        size = int(_header(head, "content-length") or 0)
        merged = _meta_from(head)
        merged.update({k.lower(): v for k, v in (metadata or {}).items()})
        etag = str(_header(head, "etag") or "").strip('"')
        lowered = {str(k).lower(): v for k, v in head.items()}
        if "md5" not in merged and len(etag) == 32 and etag_is_md5(etag, lowered):
            merged["md5"] = etag.lower()
        try:
            self._copy(self._source(source.bucket, source.key, source.region), key, size,
                       merged, None)
        except StorageError as exc:
            if exc.status in (401, 403):
                return None
            raise
        source_crc = _crc_of(head)
        if source_crc is not None:
            copied = self._call("head", self.client.head_object, Bucket=self.bucket,
                                Key=self._k(key))
            if _crc_of(copied) not in (None, source_crc):
                self._discard(self._k(key), "the copy's CRC-64 differs from the source's")
        info = self.head(key)
        if info is None or info.size != size:
            raise StorageError("server-side copy did not produce the object", retryable=True)
        return info
