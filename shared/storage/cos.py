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

Server-side copy: a COS source (a DLC result, which DLC writes into a bucket of the user's)
that this store's own credentials can read is copied inside COS, never downloaded. When they
cannot (``403``), the copy streams it with the source's temporary credentials instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from shared.errors import ConfigError, StorageError
from shared.storage.base import CosObjectSource, ObjectInfo, sdk_body
from shared.storage.s3like import S3LikeStore, md5_b64, norm_prefix, storage_error
from shared.storage.sources import cos_endpoint_kwargs, etag_is_md5

log = logging.getLogger(__name__)

META = "x-cos-meta-"
_RETRYABLE_CODES = frozenset({"SlowDown", "RequestTimeout", "InternalError",
                              "ServiceUnavailable", "RequestTimeTooSkewed"})


def _error(exc: Exception, what: str) -> StorageError:
    from qcloud_cos.cos_exception import CosServiceError

    if isinstance(exc, CosServiceError):
        return storage_error("COS", str(exc.get_error_code() or ""), _status(exc), what,
                             _RETRYABLE_CODES)
    return StorageError(f"{what}: {type(exc).__name__}", retryable=True)


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


class CosObjectStore(S3LikeStore):
    scheme = "cos"
    parts_field = "Part"  # CompleteMultipartUpload's list of parts

    def __init__(self, bucket: str, *, region: str, prefix: str = "",
                 endpoint: str | None = None, secret_id: str | None = None,
                 secret_key: str | None = None, token: str | None = None,
                 client: Any = None) -> None:
        self.bucket = bucket
        self.region = region
        self.prefix = norm_prefix(prefix)
        self.endpoint = endpoint
        if client is None and not (secret_id and secret_key):
            raise ConfigError("COS destination needs credentials (TENCENTCLOUD_SECRETID / "
                              "TENCENTCLOUD_SECRETKEY, or a function role)")
        self._creds = (secret_id, secret_key, token or None)
        self.client = client or self._make_client(endpoint)

    def __repr__(self) -> str:
        return f"CosObjectStore({self.bucket!r}, region={self.region!r}, prefix={self.prefix!r})"

    def _make_client(self, endpoint: str | None, **extra: Any) -> Any:
        from qcloud_cos import CosConfig, CosS3Client

        secret_id, secret_key, token = self._creds
        kwargs: dict[str, Any] = {"Region": self.region, "SecretId": secret_id,
                                  "SecretKey": secret_key, "Token": token, "Timeout": 60,
                                  "PoolMaxSize": 16}
        kwargs.update(cos_endpoint_kwargs(endpoint))
        kwargs.update(extra)
        return CosS3Client(CosConfig(**kwargs), retry=3)

    # ------------------------------------------------------------ SDK hooks
    error_of = staticmethod(_error)
    status_of = staticmethod(_status)

    def _read_head(self, bucket: str, full_key: str) -> tuple[int, str | None, dict[str, str]]:
        resp = self.client.head_object(Bucket=bucket, Key=full_key)
        etag = _header(resp, "etag")
        return (int(_header(resp, "content-length") or 0),
                str(etag).strip('"') if etag else None, _meta_from(resp))

    def _source(self, bucket: str, full_key: str, region: str | None = None) -> dict[str, str]:
        return {"Bucket": bucket, "Key": full_key, "Region": region or self.region}

    def _copy_whole(self, source: dict[str, str], full_key: str, metadata: dict[str, str],
                    if_match: str | None) -> None:
        self.client.copy_object(Bucket=self.bucket, Key=full_key, CopySource=source,
                                CopyStatus="Replaced", Metadata=_meta_headers(metadata))

    def _copy_part(self, source: dict[str, str], full_key: str, upload_id: str, number: int,
                   byte_range: str, if_match: str | None) -> str:
        resp = self.client.upload_part_copy(
            Bucket=self.bucket, Key=full_key, PartNumber=number, UploadId=upload_id,
            CopySource=source, CopySourceRange=byte_range)
        return str(resp["ETag"])

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
                          Metadata=_meta_headers(metadata))
        return str(resp["UploadId"])

    def put_part(self, key: str, upload_id: str, part_number: int,
                 data: bytes | bytearray | memoryview, *, offset: int | None = None) -> str:
        data = sdk_body(data)
        resp = self._call(f"part {part_number}", self.client.upload_part, Bucket=self.bucket,
                          Key=self._k(key), Body=data, PartNumber=part_number,
                          UploadId=upload_id, ContentMD5=md5_b64(data))
        return str(_header(resp, "etag")).strip('"')

    def put_object(self, key: str, data: bytes, metadata: dict[str, str] | None = None
                   ) -> ObjectInfo:
        resp = self._call("put object", self.client.put_object, Bucket=self.bucket,
                          Key=self._k(key), Body=data, ContentMD5=md5_b64(data),
                          Metadata=_meta_headers(metadata))
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
        info = self.head(key)
        if info is None or info.size != size:
            raise StorageError("server-side copy did not produce the object", retryable=True)
        return info
