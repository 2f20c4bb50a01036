"""Destinations: open the configured bucket (or folder) as an :class:`ObjectStore`.

``open_destination(uri)`` understands

* ``file:///abs/path`` and ``file://relative/path`` — :class:`LocalObjectStore` rooted there;
* ``s3://bucket[/prefix]`` — :class:`S3ObjectStore`; the endpoint comes from the environment
  variable named by :data:`S3_ENDPOINT_ENV` when set (a local S3 server), else AWS;
* ``cos://bucket-appid[/prefix]?region=ap-guangzhou`` — :class:`CosObjectStore`; credentials
  from the function's role (``TENCENTCLOUD_SECRETID`` / ``…SECRETKEY`` / ``…SESSIONTOKEN``),
  the endpoint from :data:`COS_ENDPOINT_ENV` when set (the sandbox gateway).

Keys handed to a store are relative; the store puts its prefix in front.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs, unquote, urlsplit

from shared.config import ENV_DESTINATION, require_module
from shared.errors import ConfigError
from shared.storage.base import ObjectStore

S3_ENDPOINT_ENV = "COURIER_S3_ENDPOINT"
S3_REGION_ENV = "COURIER_S3_REGION"
COS_ENDPOINT_ENV = "COURIER_COS_ENDPOINT"

__all__ = ["COS_ENDPOINT_ENV", "S3_ENDPOINT_ENV", "S3_REGION_ENV", "open_destination"]


def open_destination(uri: str) -> ObjectStore:
    """The store behind a destination URI (see the module doc); ConfigError if malformed."""
    if not isinstance(uri, str) or "://" not in uri:
        raise ConfigError("destination must be a URI: file:///path, s3://bucket/prefix or "
                          "cos://bucket-appid/prefix?region=…")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "file":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ConfigError("file:// destination needs a path")
        from shared.storage.local import LocalObjectStore

        return LocalObjectStore(os.path.abspath(path))
    if scheme == "s3":
        if not parts.netloc:
            raise ConfigError("s3:// destination needs a bucket")
        require_module(ENV_DESTINATION, "s3", "boto3")
        from shared.storage.s3 import S3ObjectStore

        return S3ObjectStore(parts.netloc, prefix=unquote(parts.path),
                             endpoint_url=os.environ.get(S3_ENDPOINT_ENV) or None,
                             region=os.environ.get(S3_REGION_ENV) or None)
    if scheme == "cos":
        if not parts.netloc:
            raise ConfigError("cos:// destination needs a bucket (bucket-appid)")
        query = parse_qs(parts.query)
        region = (query.get("region") or [os.environ.get("TENCENTCLOUD_REGION", "")])[0]
        if not region:
            raise ConfigError("cos:// destination needs ?region=… (e.g. ap-guangzhou)")
        from shared.storage.cos import CosObjectStore

        return CosObjectStore(parts.netloc, region=region, prefix=unquote(parts.path),
                              endpoint=os.environ.get(COS_ENDPOINT_ENV) or None)
    raise ConfigError(f"unsupported destination scheme {scheme!r} (use file, s3 or cos)")
