"""Destinations: open the configured bucket (or folder) as an :class:`ObjectStore`.

``open_destination(uri)`` understands

* ``file:///abs/path`` and ``file://relative/path`` — :class:`LocalObjectStore` rooted there;
* ``s3://bucket[/prefix]`` — :class:`S3ObjectStore`; the endpoint is
  ``StorageSettings.s3_endpoint`` when set (a local S3 server), else AWS;
* ``cos://bucket-appid[/prefix]?region=ap-guangzhou`` — :class:`CosObjectStore`; credentials
  from the function's role, the endpoint ``StorageSettings.cos_endpoint`` when set (the
  sandbox gateway);
* ``oss://bucket[/prefix]?region=cn-hangzhou`` — :class:`OssObjectStore`; the deployment's
  Alibaba Cloud keys, the endpoint ``StorageSettings.oss_endpoint`` when set (the sandbox
  gateway), the region ``ALIBABA_CLOUD_REGION_ID`` when the URI names none.

The URI's form and every setting are read in :mod:`shared.config`; keys handed to a store are
relative, and the store puts its prefix in front. A named destination (``COURIER_DESTINATIONS``)
is opened the same way with its own keys (:mod:`shared.storage.destinations`). ``write``: the
destination's write options (``COURIER_DESTINATION_WRITE``, a named destination's ``write``),
refused here, naming the option, where the kind of store cannot honour them.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Optional

from shared.packaged import require_module
from shared.setting_names import (
    ENV_COS_ENDPOINT,
    ENV_DESTINATION,
    ENV_OSS_ENDPOINT,
    ENV_S3_ENDPOINT,
    ENV_S3_REGION,
)
from shared.setting_values import parse_destination
from shared.storage.base import ObjectStore
from shared.vendor_settings import StorageSettings
from shared.write_options import NO_OPTIONS, WriteOptions

# The settings' names, for tests and tools that point a destination elsewhere.
S3_ENDPOINT_ENV = ENV_S3_ENDPOINT
S3_REGION_ENV = ENV_S3_REGION
COS_ENDPOINT_ENV = ENV_COS_ENDPOINT
OSS_ENDPOINT_ENV = ENV_OSS_ENDPOINT

__all__ = ["COS_ENDPOINT_ENV", "OSS_ENDPOINT_ENV", "S3_ENDPOINT_ENV", "S3_REGION_ENV",
           "open_destination"]


Keys = tuple[str, str, Optional[str]]  # secret id (access key id), secret key, session token


def open_destination(uri: str, storage: StorageSettings | None = None, *,
                     keys: Keys | None = None, setting: str = ENV_DESTINATION,
                     write: WriteOptions = NO_OPTIONS) -> ObjectStore:
    """The store behind a destination URI (see the module doc); ConfigError naming
    ``setting`` if malformed, or naming an option of ``write`` the store cannot honour.
    ``storage`` defaults to the one read from the environment. ``keys``: the credentials to
    write with (None: the deployment's, the function role's)."""
    storage = storage or StorageSettings.from_env()
    if keys is not None:
        key_id, secret, token = keys
        storage = replace(storage, oss_access_key_id=key_id, oss_access_key_secret=secret,
                          oss_token=token)
    dest = parse_destination(setting, uri, storage.cos_region, oss_region=storage.oss_region)
    if dest.scheme == "file":
        from shared.storage.local import LocalObjectStore

        return LocalObjectStore(os.path.abspath(dest.location), write=write)
    if dest.scheme == "s3":
        require_module(setting, "s3", "boto3")
        from shared.storage.s3 import S3ObjectStore

        return S3ObjectStore(dest.location, prefix=dest.prefix, endpoint_url=storage.s3_endpoint,
                             region=storage.s3_region, keys=keys, write=write)
    if dest.scheme == "oss":
        require_module(setting, "oss", "alibabacloud_oss_v2")
        from shared.storage.oss import OssObjectStore

        return OssObjectStore(dest.location, region=dest.region or "", prefix=dest.prefix,
                              endpoint=storage.oss_endpoint,
                              access_key_id=storage.oss_access_key_id,
                              access_key_secret=storage.oss_access_key_secret,
                              token=storage.oss_token, write=write)
    from shared.storage.cos import CosObjectStore

    secret_id, secret_key, token = keys or (storage.cos_secret_id or "",
                                            storage.cos_secret_key or "", storage.cos_token)
    return CosObjectStore(dest.location, region=dest.region or "", prefix=dest.prefix,
                          endpoint=storage.cos_endpoint, secret_id=secret_id or None,
                          secret_key=secret_key or None, token=token, write=write)
