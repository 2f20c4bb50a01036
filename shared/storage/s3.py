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

import base64
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.errors import StorageError
from shared.storage.base import (
    ObjectInfo,
    TaggedObjectStore,
    UploadedPart,
    UploadNotFoundError,
    sdk_body,
)
from shared.storage.keys import check_key

log = logging.getLogger(__name__)

COPY_OBJECT_MAX = 5 * 1024 ** 3  # CopyObject limit; above it copy part by part
COPY_PART_SIZE = 512 * 1024 ** 2
_RETRYABLE_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException",
                              "RequestTimeout", "InternalError", "ServiceUnavailable",
                              "RequestTimeTooSkewed"})
_MISSING_UPLOAD = frozenset({"NoSuchUpload"})


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


def _norm_prefix(prefix: str) -> str:
    prefix = prefix.strip("/")
    if prefix:
        check_key(prefix, "destination")
        return prefix + "/"
    return ""


def _error(exc: Exception, what: str) -> StorageError:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _MISSING_UPLOAD:
            return UploadNotFoundError(f"{what}: the multipart upload is gone")
        retryable = code in _RETRYABLE_CODES or status >= 500 or status == 429
        return StorageError(f"{what}: S3 answered {status} {code}", retryable=retryable,
                            status=status)
    return StorageError(f"{what}: {type(exc).__name__}", retryable=True)


def _md5_b64(data: bytes | bytearray) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324


class S3ObjectStore(TaggedObjectStore):
    scheme = "s3"

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str | None = None, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = _norm_prefix(prefix)
        self.endpoint_url = endpoint_url
        self.client = client or self._make_client(endpoint_url, region)

    def __repr__(self) -> str:
        return f"S3ObjectStore({self.bucket!r}, prefix={self.prefix!r})"

    @staticmethod
    def _make_client(endpoint_url: str | None, region: str | None) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=10, read_timeout=60,
                        retries={"max_attempts": 5, "mode": "standard"},
                        s3={"addressing_style": "path" if endpoint_url else "auto"},
                        max_pool_connections=16,
                        request_checksum_calculation="when_required")
        return boto3.client("s3", endpoint_url=endpoint_url, region_name=region,
                            config=config)

    def _k(self, key: str) -> str:
        check_key(key, "key")
        return self.prefix + key

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._k(key)}"

    # ------------------------------------------------------------------ reads
    def head(self, key: str) -> ObjectInfo | None:
        return self._head(key, tags=True)

    def _head(self, key: str, *, tags: bool) -> ObjectInfo | None:
        """``tags=False`` skips looking for an MD5 tag (an object just written has none)."""
        from botocore.exceptions import ClientError

        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=self._k(key))
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if status == 404 or exc.response.get("Error", {}).get("Code") in ("404",
                                                                             "NoSuchKey"):
                return None
            raise _error(exc, "head") from exc
        except Exception as exc:  # noqa: BLE001 - botocore network errors
            raise _error(exc, "head") from exc
        metadata = dict(resp.get("Metadata") or {})
        if tags:
            metadata = self._with_tagged_md5(key, metadata)
        return ObjectInfo(key=key, size=int(resp["ContentLength"]),
                          etag=str(resp.get("ETag", "")).strip('"') or None,
                          metadata=metadata)

    def _tags(self, key: str) -> dict[str, str]:
        try:
            resp = self.client.get_object_tagging(Bucket=self.bucket, Key=self._k(key))
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "read tags") from exc
        return {str(t["Key"]): str(t["Value"]) for t in resp.get("TagSet") or []}

    def _put_tags(self, key: str, tags: dict[str, str]) -> None:
        try:
            if tags:
                self.client.put_object_tagging(
                    Bucket=self.bucket, Key=self._k(key),
                    Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})
            else:
                self.client.delete_object_tagging(Bucket=self.bucket, Key=self._k(key))
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "tag the object") from exc

    def _get(self, key: str) -> Any:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._k(key))["Body"]
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "read") from exc

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
            raise _error(exc, "read") from exc
        finally:
            body.close()

    def presign(self, key: str, expires_s: int) -> str | None:
        return self.client.generate_presigned_url(  # type: ignore[no-any-return]
            "get_object", Params={"Bucket": self.bucket, "Key": self._k(key)},
            ExpiresIn=int(expires_s))

    # -------------------------------------------------------------- multipart
    def start_upload(self, key: str, metadata: dict[str, str] | None = None) -> str:
        try:
            resp = self.client.create_multipart_upload(Bucket=self.bucket, Key=self._k(key),
                                                       Metadata=dict(metadata or {}))
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "start upload") from exc
        return str(resp["UploadId"])

    def put_part(self, key: str, upload_id: str, part_number: int,
                 data: bytes | bytearray | memoryview, *, offset: int | None = None) -> str:
        data = sdk_body(data)
        try:
            resp = self.client.upload_part(Bucket=self.bucket, Key=self._k(key),
                                           UploadId=upload_id, PartNumber=part_number,
                                           Body=data, ContentMD5=_md5_b64(data))
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, f"part {part_number}") from exc
        return str(resp["ETag"]).strip('"')

    def complete_upload(self, key: str, upload_id: str, parts: list[UploadedPart],
                        metadata: dict[str, str] | None = None) -> ObjectInfo:
        body = {"Parts": [{"PartNumber": p.part_number, "ETag": f'"{p.etag.strip(chr(34))}"'}
                          for p in parts]}
        try:
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=self._k(key),
                                                  UploadId=upload_id, MultipartUpload=body)
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "complete upload") from exc
        info = self._head(key, tags=False)
        if info is None:
            raise StorageError("the completed object is not there", retryable=True)
        if metadata and any(info.metadata.get(k) != v for k, v in metadata.items()):
            return self.set_metadata(key, metadata, _info=info)
        return info

    def abort_upload(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self._k(key),
                                               UploadId=upload_id)
        except Exception as exc:  # noqa: BLE001
            err = _error(exc, "abort upload")
            if not isinstance(err, UploadNotFoundError):
                log.warning("aborting an upload of %s failed: %s", key, err.message)

    def put_object(self, key: str, data: bytes, metadata: dict[str, str] | None = None
                   ) -> ObjectInfo:
        try:
            resp = self.client.put_object(Bucket=self.bucket, Key=self._k(key), Body=data,
                                          ContentMD5=_md5_b64(data),
                                          Metadata=dict(metadata or {}))
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "put object") from exc
        return ObjectInfo(key=key, size=len(data), etag=str(resp.get("ETag", "")).strip('"'),
                          metadata=dict(metadata or {}))

    def set_metadata(self, key: str, metadata: dict[str, str], *,
                     _info: ObjectInfo | None = None) -> ObjectInfo:
        info = _info or self.head(key)
        if info is None:
            raise StorageError(f"no object {key!r}", retryable=False)
        merged = dict(info.metadata)
        merged.update(metadata)
        self._copy(self.bucket, self._k(key), key, info.size, merged, info.etag)
        return ObjectInfo(key=key, size=info.size, etag=self._etag(key), metadata=merged)

    def _etag(self, key: str) -> str | None:
        info = self.head(key)
        return info.etag if info else None

    # ------------------------------------------------------------------ copies
    def _copy(self, src_bucket: str, src_key: str, key: str, size: int,
              metadata: dict[str, str], if_match: str | None) -> None:
        """Server-side copy of ``src_bucket/src_key`` to ``key`` with ``metadata``."""
        src: dict[str, str] = {"Bucket": src_bucket, "Key": src_key}
        cond = {"CopySourceIfMatch": f'"{if_match}"'} if if_match else {}
        try:
            if size <= COPY_OBJECT_MAX:
                self.client.copy_object(Bucket=self.bucket, Key=self._k(key), CopySource=src,
                                        MetadataDirective="REPLACE", Metadata=metadata, **cond)
                return
            upload_id = self.start_upload(key, metadata)
            try:
                parts = []
                for number, start in enumerate(range(0, size, COPY_PART_SIZE), 1):
                    end = min(start + COPY_PART_SIZE, size) - 1
                    resp = self.client.upload_part_copy(
                        Bucket=self.bucket, Key=self._k(key), UploadId=upload_id,
                        PartNumber=number, CopySource=src,
                        CopySourceRange=f"bytes={start}-{end}", **cond)
                    parts.append(UploadedPart(number,
                                              resp["CopyPartResult"]["ETag"].strip('"')))
                self.complete_upload(key, upload_id, parts)
            except BaseException:
                self.abort_upload(key, upload_id)
                raise
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "server-side copy") from exc

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
        if not isinstance(source, S3Object):
            return None
        try:
            head = self.client.head_object(Bucket=source.bucket, Key=source.key)
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "head copy source") from exc
        merged = dict(head.get("Metadata") or {})
        merged.update(metadata or {})
        size = int(head["ContentLength"])
        etag = str(head.get("ETag", "")).strip('"') or None
        encrypted = ("kms" in str(head.get("ServerSideEncryption", "")).lower()
                     or head.get("SSECustomerAlgorithm"))
        if "md5" not in merged and etag and len(etag) == 32 and "-" not in etag and not encrypted:
            merged["md5"] = etag.lower()  # a single-part object's ETag is its MD5 (not with KMS)
        self._copy(source.bucket, source.key, key, size, merged, etag)
        info = self.head(key)
        if info is None or info.size != size:
            raise StorageError("server-side copy did not produce the object", retryable=True)
        return info
