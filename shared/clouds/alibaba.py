"""Alibaba Cloud: how the DMS and OSS clients are built.

Keys (and the STS token, when the role's keys are temporary) from the settings, the region,
and the endpoint: the SDK's own for the real service, or one ``http://host:port`` (the
sandbox). Timeouts are short; the SDK's own retrying is turned off per call by the provider
(``RuntimeOptions``), since a retried ``Create*`` could open a second ticket.

OSS (alibabacloud-oss-v2, V4 signatures): the region's public endpoint, or one
``http://host:port`` (the sandbox gateway; an IP endpoint makes the SDK address buckets
path-style). The SDK's own CRC-64 check of uploads is off: the store checks every answer's
``x-oss-hash-crc64ecma`` itself, once, and keeps the parts' values to check the whole
object's (``shared/storage/oss.py``).
"""

from __future__ import annotations

from typing import Any

from shared.config import AlibabaSettings

CONNECT_TIMEOUT_MS = 5_000
READ_TIMEOUT_MS = 15_000


def endpoint_and_protocol(settings: AlibabaSettings) -> tuple[str | None, str]:
    """``("127.0.0.1:PORT", "HTTP")`` for ``http://127.0.0.1:PORT``; the SDK's choice
    (``None``) and HTTPS for the real service."""
    if not settings.endpoint:
        return None, "HTTPS"
    scheme, _, hostport = settings.endpoint.partition("://")
    if not hostport:
        return settings.endpoint.rstrip("/"), "HTTPS"
    return hostport.rstrip("/"), scheme.upper()


def dms_client(settings: AlibabaSettings) -> Any:
    """The DMS Enterprise client for ``settings``' account, region and endpoint."""
    from alibabacloud_dms_enterprise20181101.client import Client
    from alibabacloud_tea_openapi import models as open_api_models

    endpoint, protocol = endpoint_and_protocol(settings)
    return Client(open_api_models.Config(
        access_key_id=settings.access_key_id,
        access_key_secret=settings.access_key_secret,
        security_token=settings.security_token,
        region_id=settings.region,
        endpoint=endpoint,
        protocol=protocol,
        connect_timeout=CONNECT_TIMEOUT_MS,
        read_timeout=READ_TIMEOUT_MS,
    ))


OSS_CONNECT_TIMEOUT_S = 10
OSS_READ_TIMEOUT_S = 60


def oss_client(region: str, access_key_id: str, access_key_secret: str,
               security_token: str | None = None, *, endpoint: str | None = None,
               retries: int = 3) -> Any:
    """An OSS client for ``region`` with these keys; ``endpoint`` another server."""
    import alibabacloud_oss_v2 as oss

    provider = oss.credentials.StaticCredentialsProvider(access_key_id, access_key_secret,
                                                         security_token or None)
    return oss.Client(oss.config.Config(
        region=region, endpoint=endpoint, credentials_provider=provider,
        signature_version="v4", connect_timeout=OSS_CONNECT_TIMEOUT_S,
        readwrite_timeout=OSS_READ_TIMEOUT_S, retry_max_attempts=retries,
        disable_upload_crc64_check=True))
