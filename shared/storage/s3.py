"""S3ObjectStore: an S3 bucket (or any S3-compatible server) under a key prefix, via boto3.

``endpoint_url`` points at a local or S3-compatible server and switches to path-style
addressing. Parts carry ``Content-MD5`` so S3 itself rejects bytes damaged on the wire (no
second, CRC checksum is computed on top).

Where the whole object's MD5 lives: in the user metadata (``x-amz-meta-md5``) when the copy
knows it before the upload starts (a source that vouches for one, a single-part object);
otherwise, known only once the last part is sent, in the object tag ``md5``
(``record_md5``). User metadata can only be set by writing the object, and rewriting it onto
itself would move every byte again, fire a second ``ObjectCreated`` event for the bucket's
subscribers and keep two versions in a versioned bucket; a tag is one small request.
``head`` reports either as ``metadata["md5"]``.

``set_metadata`` does rewrite the object onto itself server-side (``CopyObject`` with
``MetadataDirective=REPLACE``; a multipart ``UploadPartCopy`` above 5 GiB). No bytes pass
through the function.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from shared.errors import StorageError
from shared.model import S3ObjectSource
from shared.netguard import failure_words
from shared.storage.base import ObjectInfo, sdk_body
from shared.storage.protection import STANDARD, Stored
from shared.storage.s3like import S3LikeStore, md5_b64, norm_prefix, storage_error
from shared.write_options import NO_OPTIONS, WriteOptions, check_backend

log = logging.getLogger(__name__)

_RETRYABLE_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException",
                              "RequestTimeout", "InternalError", "ServiceUnavailable",
                              "RequestTimeTooSkewed"})


@dataclass(frozen=True)
class S3Object:
    """An object in S3 (or the same S3-compatible server): a server-side copy source."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Object:
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc or not parts.path.strip("/"):
            raise ValueError("not an s3://bucket/key URI")
        return cls(parts.netloc, parts.path.lstrip("/"))


def _error(exc: Exception, what: str) -> StorageError:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return storage_error("S3", code, _status(exc), what, _RETRYABLE_CODES)
    return StorageError(f"{what}: {failure_words(exc)}", retryable=True)


def _detail(exc: Exception) -> tuple[str, str] | None:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return None
    error = exc.response.get("Error", {})
    return str(error.get("Code", "")), str(error.get("Message", ""))


def _status(exc: Exception) -> int:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return 0
    if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
        return 404
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


class S3ObjectStore(S3LikeStore):
    scheme = "s3"
    parts_field = "Parts"  # CompleteMultipartUpload's list of parts

    vendor = "S3"

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str | None = None, client: Any = None,
                 keys: tuple[str, str, str | None] | None = None,
                 write: WriteOptions = NO_OPTIONS) -> None:
        """``keys``: the access key id, secret key and token to write with (``None``: boto3's
        own chain, the function's role); ``write``: the write options of every object."""
        check_backend(write, self.scheme)
        self.bucket = bucket
        self.prefix = norm_prefix(prefix)
        self.endpoint_url = endpoint_url
        self.write = write
        self.client = client or self._make_client(endpoint_url, region, keys)

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.bucket!r}, prefix={self.prefix!r})"

    @staticmethod
    def _make_client(endpoint_url: str | None, region: str | None,
                     keys: tuple[str, str, str | None] | None = None) -> Any:
        from shared.clouds import aws

        return aws.client("s3", endpoint=endpoint_url, region=region, keys=keys, connect_s=10,
                          read_s=60,
                          retries={"max_attempts": 5, "mode": "standard"},
                          s3={"addressing_style": "path" if endpoint_url else "auto"},
                          max_pool_connections=16,
                          request_checksum_calculation="when_required")

    # ------------------------------------------------------------ SDK hooks
    error_of = staticmethod(_error)
    status_of = staticmethod(_status)
    detail_of = staticmethod(_detail)

    def _protect_args(self, retain_until: datetime | None, *, copy: bool = False
                      ) -> dict[str, Any]:
        write = self.write
        args: dict[str, Any] = {}
        if write.sse:
            args["ServerSideEncryption"] = "aws:kms" if write.sse == "kms" else write.sse
        if write.kms_key_id:
            args["SSEKMSKeyId"] = write.kms_key_id
        if write.storage_class:
            args["StorageClass"] = write.storage_class
        if write.tags:
            args["Tagging"] = urlencode(write.tags)
            if copy:
                args["TaggingDirective"] = "REPLACE"
        if write.retention is not None and retain_until is not None:
            args["ObjectLockMode"] = write.retention.mode
            args["ObjectLockRetainUntilDate"] = retain_until
        return args

    def _read_protection(self, full_key: str) -> Stored:
        resp = self.client.head_object(Bucket=self.bucket, Key=full_key)
        sse = resp.get("ServerSideEncryption")
        return Stored(sse="kms" if sse == "aws:kms" else sse,
                      kms_key_id=resp.get("SSEKMSKeyId"),
                      storage_class=resp.get("StorageClass") or STANDARD,
                      lock_mode=resp.get("ObjectLockMode"),
                      lock_until=resp.get("ObjectLockRetainUntilDate"))

    def _read_head(self, bucket: str, full_key: str) -> tuple[int, str | None, dict[str, str]]:
        resp = self.client.head_object(Bucket=bucket, Key=full_key)
        return (int(resp["ContentLength"]), str(resp.get("ETag", "")).strip('"') or None,
                dict(resp.get("Metadata") or {}))

    def _copy_whole(self, source: dict[str, str], full_key: str, metadata: dict[str, str],
                    if_match: str | None, protect: dict[str, Any]) -> None:
        cond = {"CopySourceIfMatch": f'"{if_match}"'} if if_match else {}
        self.client.copy_object(Bucket=self.bucket, Key=full_key, CopySource=source,
                                MetadataDirective="REPLACE", Metadata=metadata, **cond,
                                **protect)

    def _copy_part(self, source: dict[str, str], full_key: str, upload_id: str, number: int,
                   byte_range: str, if_match: str | None) -> str:
        cond = {"CopySourceIfMatch": f'"{if_match}"'} if if_match else {}
        resp = self.client.upload_part_copy(
            Bucket=self.bucket, Key=full_key, UploadId=upload_id, PartNumber=number,
            CopySource=source, CopySourceRange=byte_range, **cond)
        return str(resp["CopyPartResult"]["ETag"])

    def _tags(self, key: str) -> dict[str, str]:
        resp = self._call("read tags", self.client.get_object_tagging, Bucket=self.bucket,
                          Key=self._k(key))
        return {str(t["Key"]): str(t["Value"]) for t in resp.get("TagSet") or []}

    def _put_tags(self, key: str, tags: dict[str, str]) -> None:
        if tags:
            self._call("tag the object", self.client.put_object_tagging, Bucket=self.bucket,
                       Key=self._k(key),
                       Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
        else:
            self._call("tag the object", self.client.delete_object_tagging,
                       Bucket=self.bucket, Key=self._k(key))

    # --------------------------------------------------------------- reads
    def _get(self, key: str) -> Any:
        return self._call("read", self.client.get_object, Bucket=self.bucket,
                          Key=self._k(key))["Body"]

    def read(self, key: str) -> bytes:
        body = self._get(key)
        try:
            return body.read()  # type: ignore[no-any-return]
        finally:
            body.close()

    def iter_read(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        body = self._get(key)
        try:
            yield from body.iter_chunks(chunk_size)
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "read") from exc
        finally:
            body.close()

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        body = self._call("read", self.client.get_object, Bucket=self.bucket, Key=self._k(key),
                          Range=f"bytes={start}-{start + length - 1}")["Body"]
        try:
            return body.read()[:length]  # type: ignore[no-any-return]
        finally:
            body.close()

    def presign(self, key: str, expires_s: int) -> str | None:
        return self.client.generate_presigned_url(  # type: ignore[no-any-return]
            "get_object", Params={"Bucket": self.bucket, "Key": self._k(key)},
            ExpiresIn=int(expires_s))

    # -------------------------------------------------------------- writes
    def start_upload(self, key: str, metadata: dict[str, str] | None = None) -> str:
        until = self._retain_until()
        resp = self._call("start upload", self.client.create_multipart_upload,
                          Bucket=self.bucket, Key=self._k(key), Metadata=dict(metadata or {}),
                          **self._protect_args(until))
        self._retentions[str(resp["UploadId"])] = until
        return str(resp["UploadId"])

    def put_part(self, key: str, upload_id: str, part_number: int,
                 data: bytes | bytearray | memoryview, *, offset: int | None = None) -> str:
        data = sdk_body(data)
        resp = self._call(f"part {part_number}", self.client.upload_part, Bucket=self.bucket,
                          Key=self._k(key), UploadId=upload_id, PartNumber=part_number,
                          Body=data, ContentMD5=md5_b64(data))
        return str(resp["ETag"]).strip('"')

    def put_object(self, key: str, data: bytes, metadata: dict[str, str] | None = None
                   ) -> ObjectInfo:
        until = self._retain_until()
        resp = self._call("put object", self.client.put_object, Bucket=self.bucket,
                          Key=self._k(key), Body=data, ContentMD5=md5_b64(data),
                          Metadata=dict(metadata or {}), **self._protect_args(until))
        self._check_written(key, until)
        return ObjectInfo(key=key, size=len(data), etag=str(resp.get("ETag", "")).strip('"'),
                          metadata=dict(metadata or {}))

    def server_side_copy(self, source: Any, key: str, metadata: dict[str, str] | None = None
                         ) -> ObjectInfo | None:
        """Copy an :class:`S3Object` (or ``s3://bucket/key``) on the same endpoint into
        ``key`` without downloading it; None for any other kind of source. The source's
        user metadata is kept, ``metadata`` is merged over it."""
        if isinstance(source, str):
            try:
                source = S3Object.parse(source)
            except ValueError:
                return None
        readable = True
        if isinstance(source, S3ObjectSource):
            if source.endpoint != self.endpoint_url or not source.bucket:
                return None  # another server: only its presigned URL reaches it
            source, readable = S3Object(source.bucket, source.key), False
        if not isinstance(source, S3Object):
            return None
        try:
            head = self._call("head copy source", self.client.head_object,
                              Bucket=source.bucket, Key=source.key)
        except StorageError as exc:
            if readable or exc.status != 403:
                raise
            log.info("cannot read the copy source's bucket (%s); streaming it instead",
                     exc.message)
            return None
        merged = dict(head.get("Metadata") or {})
        merged.update(metadata or {})
        size = int(head["ContentLength"])
        etag = str(head.get("ETag", "")).strip('"') or None
        encrypted = ("kms" in str(head.get("ServerSideEncryption", "")).lower()
                     or head.get("SSECustomerAlgorithm"))
        if "md5" not in merged and etag and len(etag) == 32 and "-" not in etag and not encrypted:
            merged["md5"] = etag.lower()  # a single-part object's ETag is its MD5 (not with KMS)
        self._copy(self._source(source.bucket, source.key), key, size, merged, etag)
        info = self.head(key)
        if info is None or info.size != size:
            raise StorageError("server-side copy did not produce the object", retryable=True)
        return info
