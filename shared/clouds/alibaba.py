"""Alibaba Cloud: how the DMS client is built.

Keys (and the STS token, when the role's keys are temporary) from the settings, the region,
and the endpoint: the SDK's own for the real service, or one ``http://host:port`` (the
sandbox). Timeouts are short; the SDK's own retrying is turned off per call by the provider
(``RuntimeOptions``), since a retried ``Create*`` could open a second ticket.
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
