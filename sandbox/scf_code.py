"""SCF function code packages, as CreateFunction and UpdateFunctionCode take them: a base64
``ZipFile`` (CreateFunction ≤ 50 MB, UpdateFunctionCode ≤ 20 MB), or an object in COS
(``CosBucketName`` without ``-<appid>``, ``CosObjectName`` starting with ``/``,
``CosBucketRegion``), at most 500 MB unzipped (SCF quota page, doc 583/11637); the error codes
are those of tencentcloud-sdk-python-scf's ``errorcodes.py``."""

from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile
from typing import Any, Optional, Protocol

from sandbox.errors import ApiError
from sandbox.params import Params


class CosReader(Protocol):
    def read_object(self, bucket: str, key: str) -> bytes: ...


CREATE_ZIP_LIMIT = 50 * 1024 * 1024
UPDATE_ZIP_LIMIT = 20 * 1024 * 1024
UNZIPPED_LIMIT = 500 * 1024 * 1024  # code size before compression (quota page 583/11637)
# a bucket name's own part: lowercase letters, digits, '-'; no -<appid> suffix (Code model)
COS_BUCKET_RE = re.compile(r"(?![a-z0-9-]*-\d{10}$)[a-z0-9][a-z0-9-]{0,49}")


def read_code(params: Params, limit: int, nested: bool, cos: Optional[CosReader], appid: str,
              region: str) -> bytes:
    """The package a CreateFunction/UpdateFunctionCode request carries: a base64 ZipFile
    within ``limit``, or an object in COS; either way a zip within the unzipped limit."""
    code = params.data.get("Code") if nested else params.data
    if nested and not isinstance(code, dict):
        raise ApiError("MissingParameter", "the request is missing parameter `Code`")
    assert isinstance(code, dict)
    if code.get("CosBucketName") or code.get("CosObjectName"):
        if code.get("ZipFile"):
            raise ApiError("InvalidParameterValue.Code",
                           "Cos, ZipFile and DemoId cannot be given together")
        raw = cos_code(code, cos, appid, region)
        check_zip(raw)
        return raw
    text = code.get("ZipFile")
    if not isinstance(text, str) or not text:
        raise ApiError("MissingParameter", "the request is missing parameter `ZipFile`")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("InvalidParameterValue.ZipFile", "ZipFile is not base64") from None
    if len(raw) > limit:
        raise ApiError("InvalidParameterValue.ZipFile",
                       f"ZipFile is {len(raw)} bytes; the limit here is {limit}")
    check_zip(raw)
    return raw

def check_zip(raw: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        archive.testzip()
    except zipfile.BadZipFile:
        raise ApiError("InvalidParameterValue.ZipFile", "the code is not a zip") from None
    unzipped = sum(info.file_size for info in archive.infolist())
    if unzipped > UNZIPPED_LIMIT:
        raise ApiError("InvalidParameterValue.Code",
                       f"the code is {unzipped} bytes unzipped; the limit is "
                       f"{UNZIPPED_LIMIT}")

def cos_code(code: dict[str, Any], cos: Optional[CosReader], appid: str,
             default_region: str) -> bytes:
    """The package from COS: CosBucketName without ``-<appid>`` (this account's appid is
    added), CosObjectName starting with ``/``, CosBucketRegion defaulting to the
    function's region."""
    bucket, key = code.get("CosBucketName"), code.get("CosObjectName")
    region = code.get("CosBucketRegion") or default_region
    if not isinstance(bucket, str) or not COS_BUCKET_RE.fullmatch(bucket):
        raise ApiError("InvalidParameterValue.CosBucketName",
                       f"CosBucketName {bucket!r}: give the bucket name without -appid")
    if not isinstance(key, str) or not key.startswith("/") or len(key) < 2:
        raise ApiError("InvalidParameterValue.CosObjectName",
                       f"CosObjectName {key!r} must be a path starting with /")
    if not isinstance(region, str) or not re.fullmatch(r"[a-z]{2,}-[a-z0-9-]+", region):
        raise ApiError("InvalidParameterValue.CosBucketRegion", f"bad region {region!r}")
    if cos is None:
        raise ApiError("UnsupportedOperation.Cos", "sandbox: no COS attached (scf.cos)")
    full = f"{bucket}-{appid}"
    try:
        raw = cos.read_object(full, key.lstrip("/"))
    except KeyError as exc:
        if exc.args and exc.args[0] == "NoSuchBucket":
            raise ApiError("ResourceNotFound.Cos",
                           f"bucket {full} does not exist in {region}") from None
        raise ApiError("ResourceNotFound.CosObject",
                       f"object {key} does not exist in bucket {full}") from None
    return raw
