"""Where an SCF function's code comes from: inline (``ZipFile``) or a COS object.

A ZipFile goes base64 (4 bytes for every 3) inside the JSON body of a TC3-signed POST, and a
Tencent Cloud API request body is at most 10 MB; so a package goes inline only when that
request fits (about 7.4 MB of zip), well below the ZipFile limits of the SCF models (20 MB on
UpdateFunctionCode, 50 MB on CreateFunction). A bigger package goes to a COS bucket first and
the function is pointed at it. The fields, from
tencentcloud-sdk-python-scf's models (``Code``, ``UpdateFunctionCodeRequest``) and Tencent doc
583/17244 (data structure ``Code``): ``CosBucketName`` is the bucket name *without* its
``-<appid>`` suffix, ``CosObjectName`` the object's path starting with ``/``, and
``CosBucketRegion`` the bucket's region.

The object's key holds the package's SHA-256 and the object carries it as metadata
(``x-cos-meta-sha256``), so a package already uploaded is never sent again.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUCKET_ENV = "COURIER_DEPLOY_COS_BUCKET"
REGION_ENV = "COURIER_DEPLOY_COS_REGION"
PREFIX_ENV = "COURIER_DEPLOY_COS_PREFIX"
DEFAULT_PREFIX = "courier-deploy/"
SHA_META = "x-cos-meta-sha256"
PART_MB = 8  # multipart above this size (cos-python-sdk-v5 upload_file's PartSize)
# A Tencent Cloud API request body's limit, read as 10 * 10**6 bytes (the smaller reading).
REQUEST_LIMIT = 10_000_000
# What a CreateFunction request carries besides the ZipFile: names, handler, role, the
# environment (at most 4 KB on SCF, more once JSON-escaped), VPC and CLS ids.
REQUEST_OVERHEAD = 16 * 1024
BUCKET_RE = re.compile(r"(?P<name>[a-z0-9][a-z0-9-]*?)-(?P<appid>\d{5,})")
REGION_RE = re.compile(r"[a-z]{2,}-[a-z0-9-]+")


class CodeError(Exception):
    """A code source that cannot be used, with the setting to fix named."""


@dataclass(frozen=True)
class InlineCode:
    package: bytes

    def create_fields(self) -> dict[str, Any]:
        """CreateFunction's ``Code``."""
        return {"ZipFile": base64.b64encode(self.package).decode()}

    def update_fields(self) -> dict[str, Any]:
        """UpdateFunctionCode's code fields."""
        return self.create_fields()

    def describe(self) -> str:
        return "inline"


@dataclass(frozen=True)
class CosCode:
    bucket: str  # the full name, <name>-<appid>
    region: str
    key: str  # without the leading '/'

    def _fields(self) -> dict[str, Any]:
        match = BUCKET_RE.fullmatch(self.bucket)
        assert match is not None  # checked by cos_location
        return {"CosBucketName": match.group("name"), "CosObjectName": "/" + self.key,
                "CosBucketRegion": self.region}

    def create_fields(self) -> dict[str, Any]:
        return self._fields()

    def update_fields(self) -> dict[str, Any]:
        return self._fields()

    def describe(self) -> str:
        return f"cos://{self.bucket}/{self.key}"


CodeSource = InlineCode | CosCode


def inline_request_bytes(package_bytes: int) -> int:
    """The size of the request that carries a package of this size inline (an upper bound)."""
    return 4 * -(-package_bytes // 3) + REQUEST_OVERHEAD


def inline_max() -> int:
    """The largest package that goes inline."""
    return (REQUEST_LIMIT - REQUEST_OVERHEAD) // 4 * 3


def too_big_inline(path: Path, size: int) -> str:
    """What a user can do with a package too big to go inline, as one message."""
    return (f"package {path} is {size / 1e6:.1f} MB: inline (base64) it makes a "
            f"{inline_request_bytes(size) / 1e6:.1f} MB request and the SCF API takes at most "
            f"{REQUEST_LIMIT / 1e6:.0f} MB per request (packages up to {inline_max() / 1e6:.1f} "
            f"MB go inline). Either set {BUCKET_ENV} to a COS bucket (<name>-<appid>; "
            f"{REGION_ENV} if it is not in the functions' region) to deploy it through COS, or "
            "build a smaller package (--providers, --state, --destination; docs/deploy.md)")


def cos_location(env: dict[str, str], function_region: str, sha: str) -> CosCode | None:
    """The COS object the package goes to, from the deploying shell; None when not set."""
    bucket = (env.get(BUCKET_ENV) or "").strip()
    if not bucket:
        return None
    if not BUCKET_RE.fullmatch(bucket):
        raise CodeError(f"{BUCKET_ENV}={bucket!r} is not a COS bucket name: give the full "
                        "name, <name>-<appid> (e.g. courier-deploy-1250000000)")
    region = (env.get(REGION_ENV) or "").strip() or function_region
    if not REGION_RE.fullmatch(region):
        raise CodeError(f"{REGION_ENV}={region!r} is not a region (e.g. ap-guangzhou)")
    prefix = (env.get(PREFIX_ENV) or DEFAULT_PREFIX).strip().strip("/")
    key = f"{prefix}/courier-{sha}.zip" if prefix else f"courier-{sha}.zip"
    return CosCode(bucket=bucket, region=region, key=key)


class CosUploader:
    """Puts the package into COS with cos-python-sdk-v5, unless it is there already."""

    def __init__(self, location: CosCode, env: dict[str, str], endpoint: str | None = None,
                 client: Any = None) -> None:
        self.location = location
        self.client = client or self._client(env, endpoint)

    def _client(self, env: dict[str, str], endpoint: str | None) -> Any:
        from shared.clouds import tencent

        return tencent.cos_client(self.location.region, env.get("TENCENTCLOUD_SECRETID"),
                                  env.get("TENCENTCLOUD_SECRETKEY"),
                                  env.get("TENCENTCLOUD_SESSIONTOKEN"), endpoint=endpoint,
                                  retry=2)

    def present(self, sha: str) -> bool:
        """Whether the object is there with this SHA-256."""
        from qcloud_cos.cos_exception import CosServiceError

        try:
            head = self.client.head_object(Bucket=self.location.bucket, Key=self.location.key)
        except CosServiceError as exc:
            if int(exc.get_status_code() or 0) == 404:
                return False
            raise self._refused("HeadObject", exc) from exc
        return str(head.get(SHA_META) or "").lower() == sha

    def upload(self, path: Path, sha: str) -> None:
        from qcloud_cos.cos_exception import CosClientError, CosServiceError

        try:
            self.client.upload_file(Bucket=self.location.bucket, Key=self.location.key,
                                    LocalFilePath=str(path), PartSize=PART_MB, MAXThread=4,
                                    Metadata={SHA_META: sha},
                                    ContentType="application/zip")
        except CosServiceError as exc:
            raise self._refused("PutObject", exc) from exc
        except CosClientError as exc:
            raise CodeError(f"COS upload of {self.location.describe()} failed: {exc}") from exc
        if not self.present(sha):
            raise CodeError(f"{self.location.describe()} does not read back with SHA-256 "
                            f"{sha[:12]}… after the upload")

    def _refused(self, action: str, exc: Any) -> CodeError:
        code = exc.get_error_code() or exc.get_status_code()
        hint = f" (check {BUCKET_ENV} and {REGION_ENV})" if code in (
            "NoSuchBucket", 404) else ""
        return CodeError(f"COS refused {action} of {self.location.describe()}: {code}: "
                         f"{exc.get_error_msg() or ''}{hint}")


def ensure_uploaded(uploader: CosUploader, path: Path, sha: str, dry_run: bool,
                    say: Callable[[str], None]) -> bool:
    """Upload unless present; True when an upload was (or would be) made."""
    if uploader.present(sha):
        say(f"package already in {uploader.location.describe()}")
        return False
    say(("would " if dry_run else "") + f"upload package to {uploader.location.describe()}")
    if not dry_run:
        uploader.upload(path, sha)
    return True
