"""Tencent Cloud Secrets Manager through tencentcloud-sdk-python-ssm: ``GetSecretValue`` for
the version the reference names, else the newest one (``ListSecretVersionIds``), with the
function role's temporary keys and their ``X-TC-Token``. Vendor errors become a
``ConfigError`` naming the setting, the store and the error code.
"""

from __future__ import annotations

from typing import Any

from shared.errors import ConfigError
from shared.secret_stores.references import STORES, Reference, from_base64, need_sdk, refused
from shared.vendor_settings import TencentSettings


def tencent_secret(ref: Reference, settings: TencentSettings) -> str:
    """The value of a ``tencent-ssm:`` reference."""
    need_sdk(ref, "tencentcloud.ssm")
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
        TencentCloudSDKException,
    )
    from tencentcloud.ssm.v20190923 import models
    from tencentcloud.ssm.v20190923.ssm_client import SsmClient

    from shared.clouds import tencent as cloud

    client = cloud.client(settings, "ssm", SsmClient, timeout_s=10)
    try:
        version = ref.version or _newest_version(ref, client, models)
        request = models.GetSecretValueRequest()
        request.SecretName, request.VersionId = ref.name, version
        answer = client.GetSecretValue(request)
    except TencentCloudSDKException as exc:
        raise refused(ref, str(exc.code or "unknown error")) from None
    if answer.SecretString:
        return str(answer.SecretString)
    if answer.SecretBinary:
        return from_base64(ref, str(answer.SecretBinary))
    return ""


def _newest_version(ref: Reference, client: Any, models: Any) -> str:
    request = models.ListSecretVersionIdsRequest()
    request.SecretName = ref.name
    versions = client.ListSecretVersionIds(request).Versions or []
    if not versions:
        raise ConfigError(f"{ref.setting}: {ref} has no version in {STORES[ref.store]}")
    # Listed newest first (the documented example): the latest CreateTime wins, and of
    # versions made in the same second the one listed first.
    newest = max(versions, key=lambda v: v.CreateTime or 0)
    return str(newest.VersionId)
