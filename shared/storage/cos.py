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

import base64
import hashlib
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from shared.errors import ConfigError, StorageError
from shared.storage.base import (
    CosObjectSource,
    ObjectInfo,
    TaggedObjectStore,
    UploadedPart,
    UploadNotFoundError,
    sdk_body,
)
from shared.storage.keys import check_key
from shared.storage.sources import cos_endpoint_kwargs, etag_is_md5

log = logging.getLogger(__name__)

META = "x-cos-meta-"
COPY_OBJECT_MAX = 5 * 1024 ** 3
COPY_PART_SIZE = 512 * 1024 ** 2
_RETRYABLE_CODES = frozenset({"SlowDown", "RequestTimeout", "InternalError",
                              "ServiceUnavailable", "RequestTimeTooSkewed"})


def _error(exc: Exception, what: str) -> StorageError:
    from qcloud_cos.cos_exception import CosServiceError

    if isinstance(exc, CosServiceError):
        status = int(exc.get_status_code() or 0)
        code = str(exc.get_error_code() or "")
        if code == "NoSuchUpload":
            return UploadNotFoundError(f"{what}: the multipart upload is gone")
        retryable = code in _RETRYABLE_CODES or status >= 500 or status == 429
        return StorageError(f"{what}: COS answered {status} {code}", retryable=retryable,
                            status=status)
    return StorageError(f"{what}: {type(exc).__name__}", retryable=True)


def _status(exc: Exception) -> int:
    get = getattr(exc, "get_status_code", None)
    return int(get() or 0) if callable(get) else 0


def _md5_b64(data: bytes | bytearray) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()  # noqa: S324


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


class CosObjectStore(TaggedObjectStore):
    scheme = "cos"

    def __init__(self, bucket: str, *, region: str, prefix: str = "",
                 endpoint: str | None = None, secret_id: str | None = None,
                 secret_key: str | None = None, token: str | None = None,
                 client: Any = None) -> None:
        self.bucket = bucket
        self.region = region
        prefix = prefix.strip("/")
        if prefix:
            check_key(prefix, "destination")
        self.prefix = prefix + "/" if prefix else ""
        self.endpoint = endpoint
        token = token or None
        if client is None and not (secret_id and secret_key):
            raise ConfigError("COS destination needs credentials (TENCENTCLOUD_SECRETID / "
                              "TENCENTCLOUD_SECRETKEY, or a function role)")
        self._creds = (secret_id, secret_key, token)
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

    def _k(self, key: str) -> str:
        check_key(key, "key")
        return self.prefix + key

    def uri(self, key: str) -> str:
        return f"cos://{self.bucket}/{self._k(key)}"

    # ------------------------------------------------------------------ reads
    def head(self, key: str) -> ObjectInfo | None:
        return self._head(key, tags=True)

    def _head(self, key: str, *, tags: bool) -> ObjectInfo | None:
        """``tags=False`` skips looking for an MD5 tag (an object just written has none)."""
        try:
            resp = self.client.head_object(Bucket=self.bucket, Key=self._k(key))
        except Exception as exc:  # noqa: BLE001 - SDK service and client errors
            if _status(exc) == 404:
                return None
            raise _error(exc, "head") from exc
        etag = _header(resp, "etag")
        metadata = _meta_from(resp)
        if tags:
            metadata = self._with_tagged_md5(key, metadata)
        return ObjectInfo(key=key, size=int(_header(resp, "content-length") or 0),
                          etag=str(etag).strip('"') if etag else None,
                          metadata=metadata)

    def _tags(self, key: str) -> dict[str, str]:
        try:
            resp = self.client.get_object_tagging(Bucket=self.bucket, Key=self._k(key))
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "read tags") from exc
        tag_set = resp.get("TagSet") or {}
        tags = tag_set.get("Tag") or [] if isinstance(tag_set, dict) else []
        return {str(t.get("Key")): str(t.get("Value") or "") for t in tags}

    def _put_tags(self, key: str, tags: dict[str, str]) -> None:
        try:
            if tags:
                tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
                self.client.put_object_tagging(Bucket=self.bucket, Key=self._k(key),
                                               Tagging={"TagSet": {"Tag": tag_list}})
            else:
                self.client.delete_object_tagging(Bucket=self.bucket, Key=self._k(key))
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "tag the object") from exc

    def _stream(self, key: str) -> Any:
        try:
            resp = self.client.get_object(Bucket=self.bucket, Key=self._k(key))
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "read") from exc
        return resp["Body"].get_raw_stream()

    def read(self, key: str) -> bytes:
        return b"".join(self.iter_read(key))

    def iter_read(self, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        raw = self._stream(key)
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

    # -------------------------------------------------------------- multipart
    def start_upload(self, key: str, metadata: dict[str, str] | None = None) -> str:
        try:
            resp = self.client.create_multipart_upload(Bucket=self.bucket, Key=self._k(key),
                                                       Metadata=_meta_headers(metadata))
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "start upload") from exc
        return str(resp["UploadId"])

    def put_part(self, key: str, upload_id: str, part_number: int,
                 data: bytes | bytearray | memoryview, *, offset: int | None = None) -> str:
        data = sdk_body(data)
        try:
            resp = self.client.upload_part(Bucket=self.bucket, Key=self._k(key), Body=data,
                                           PartNumber=part_number, UploadId=upload_id,
                                           ContentMD5=_md5_b64(data))
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, f"part {part_number}") from exc
        return str(_header(resp, "etag")).strip('"')

    def complete_upload(self, key: str, upload_id: str, parts: list[UploadedPart],
                        metadata: dict[str, str] | None = None) -> ObjectInfo:
        body = {"Part": [{"PartNumber": p.part_number, "ETag": f'"{p.etag.strip(chr(34))}"'}
                         for p in parts]}
        try:
            self.client.complete_multipart_upload(Bucket=self.bucket, Key=self._k(key),
                                                  UploadId=upload_id, MultipartUpload=body)
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "complete upload") from exc
        info = self._head(key, tags=False)
        if info is None:
            raise StorageError("the completed object is not there", retryable=True)
        if metadata and any(info.metadata.get(k.lower()) != v for k, v in metadata.items()):
            return self.set_metadata(key, metadata, _info=info)
        return info

    def abort_upload(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=self._k(key),
                                               UploadId=upload_id)
        except Exception as exc:  # noqa: BLE001
            err = _error(exc, "abort upload")
            if not isinstance(err, UploadNotFoundError) and _status(exc) != 404:
                log.warning("aborting an upload of %s failed: %s", key, err.message)

    def put_object(self, key: str, data: bytes, metadata: dict[str, str] | None = None
                   ) -> ObjectInfo:
        try:
            resp = self.client.put_object(Bucket=self.bucket, Key=self._k(key), Body=data,
                                          ContentMD5=_md5_b64(data),
                                          Metadata=_meta_headers(metadata))
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "put object") from exc
        etag = _header(resp, "etag")
        return ObjectInfo(key=key, size=len(data), etag=str(etag).strip('"') if etag else None,
                          metadata={k.lower(): v for k, v in (metadata or {}).items()})

    def set_metadata(self, key: str, metadata: dict[str, str], *,
                     _info: ObjectInfo | None = None) -> ObjectInfo:
        info = _info or self.head(key)
        if info is None:
            raise StorageError(f"no object {key!r}", retryable=False)
        merged = dict(info.metadata)
        merged.update({k.lower(): v for k, v in metadata.items()})
        source = {"Bucket": self.bucket, "Key": self._k(key), "Region": self.region}
        try:
            if info.size <= COPY_OBJECT_MAX:
                self.client.copy_object(Bucket=self.bucket, Key=self._k(key),
                                        CopySource=source, CopyStatus="Replaced",
                                        Metadata=_meta_headers(merged))
            else:
                self._copy_in_parts(key, source, info.size, merged)
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _error(exc, "set metadata") from exc
        after = self.head(key)
        return ObjectInfo(key=key, size=info.size, etag=after.etag if after else None,
                          metadata=merged)

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
        copy_from = {"Bucket": source.bucket, "Key": source.key, "Region": source.region}
        try:
            if size <= COPY_OBJECT_MAX:
                self.client.copy_object(Bucket=self.bucket, Key=self._k(key),
                                        CopySource=copy_from, CopyStatus="Replaced",
                                        Metadata=_meta_headers(merged))
            else:
                self._copy_in_parts(key, copy_from, size, merged)
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001
            if _status(exc) in (401, 403):
                return None
            raise _error(exc, "server-side copy") from exc
        info = self.head(key)
        if info is None or info.size != size:
            raise StorageError("server-side copy did not produce the object", retryable=True)
        return info

    def _copy_in_parts(self, key: str, source: dict[str, str], size: int,
                       metadata: dict[str, str]) -> None:
        upload_id = self.start_upload(key, metadata)
        try:
            parts = []
            for number, start in enumerate(range(0, size, COPY_PART_SIZE), 1):
                end = min(start + COPY_PART_SIZE, size) - 1
                resp = self.client.upload_part_copy(
                    Bucket=self.bucket, Key=self._k(key), PartNumber=number,
                    UploadId=upload_id, CopySource=source, CopySourceRange=f"bytes={start}-{end}")
                parts.append(UploadedPart(number, str(resp["ETag"]).strip('"')))
            self.complete_upload(key, upload_id, parts)
        except BaseException:
            self.abort_upload(key, upload_id)
            raise
