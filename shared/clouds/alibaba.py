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

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.errors import ProviderError
from shared.vendor_settings import AlibabaSettings

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


def dms_client(settings: AlibabaSettings, credential: Any = None) -> Any:
    """The DMS Enterprise client for ``settings``' account, region and endpoint;
    ``credential`` the account's shared role keys (:class:`shared.clouds.roles.AssumedRoles`)
    to sign with, None: built from the settings."""
    from alibabacloud_dms_enterprise20181101.client import Client
    from alibabacloud_tea_openapi import models as open_api_models

    endpoint, protocol = endpoint_and_protocol(settings)
    if credential is not None or settings.assume is not None:  # a named account's RAM role
        return Client(open_api_models.Config(
            credential=credential or AssumedRamRole(settings), region_id=settings.region,
            endpoint=endpoint, protocol=protocol, connect_timeout=CONNECT_TIMEOUT_MS,
            read_timeout=READ_TIMEOUT_MS))
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


STS_VERSION = "2015-04-01"
REFRESH_BEFORE_S = 300.0  # temporary keys are read again this long before they expire
# STS codes that can succeed later (the rest: the role, its trust or the keys are wrong)
RETRYABLE_STS = ("Throttling", "ServiceUnavailable", "InternalError", "UnknownError")


class AssumedRamRole:
    """A RAM role's temporary keys (STS ``AssumeRole`` through the OpenAPI client, signed
    as every call of it is), kept and read again :data:`REFRESH_BEFORE_S` before they
    expire; the DMS client asks for them (``get_credential``) before each call. A refusal is
    a :class:`~shared.errors.ProviderError` with STS's code naming the account and the
    role (retryable as the code says)."""

    def __init__(self, settings: AlibabaSettings, *,
                 clock: Callable[[], float] = time.time) -> None:
        assert settings.assume is not None
        self.settings = settings
        self.role = settings.assume
        self._clock = clock
        self._keys: Any = None
        self._expires = 0.0
        self._lock = threading.Lock()
        self.assumed = 0  # AssumeRole calls made

    def get_credential(self) -> Any:
        with self._lock:
            if self._keys is None or self._clock() >= self._expires - REFRESH_BEFORE_S:
                self._keys, self._expires = self._assume()
            return self._keys

    def _assume(self) -> tuple[Any, float]:
        from alibabacloud_credentials.models import CredentialModel
        from alibabacloud_tea_openapi import models as open_api_models
        from alibabacloud_tea_openapi.client import Client
        from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
        from alibabacloud_tea_openapi.utils_models import OpenApiRequest, Params
        from darabonba.runtime import RuntimeOptions
        from Tea.exceptions import TeaException

        endpoint, protocol = endpoint_and_protocol(self.settings)
        sts = Client(open_api_models.Config(
            access_key_id=self.settings.access_key_id,
            access_key_secret=self.settings.access_key_secret,
            security_token=self.settings.security_token, region_id=self.settings.region,
            endpoint=endpoint or f"sts.{self.settings.region}.aliyuncs.com",
            protocol=protocol, connect_timeout=CONNECT_TIMEOUT_MS,
            read_timeout=READ_TIMEOUT_MS))
        query: dict[str, Any] = {"RoleArn": self.role.role,
                                 "RoleSessionName": self.role.session_name,
                                 "DurationSeconds": str(self.role.session_s)}
        if self.role.external_id:
            query["ExternalId"] = self.role.external_id
        params = Params(action="AssumeRole", version=STS_VERSION, protocol=protocol,
                        pathname="/", method="POST", auth_type="AK", style="RPC",
                        req_body_type="formData", body_type="json")
        self.assumed += 1
        where = f"account {self.settings.account}: cannot assume role {self.role.role}"
        try:
            answer = sts.call_api(params, OpenApiRequest(query=query),
                                  RuntimeOptions(autoretry=False, max_attempts=0))
            keys = answer["body"]["Credentials"]
            expires = datetime.fromisoformat(keys["Expiration"].replace("Z", "+00:00"))
        except AlibabaCloudException as exc:
            code = str(exc.code or "Unknown")
            status = int(getattr(exc, "status_code", 0) or 0)
            raise ProviderError("sts", code, f"{where}: {exc.message}",
                                retryable=status >= 500 or code.startswith(RETRYABLE_STS),
                                request_id=getattr(exc, "request_id", None)) from exc
        except TeaException as exc:
            raise ProviderError("sts", "NetworkError", f"{where}: no answer from STS",
                                retryable=True) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError("sts", "InvalidAnswer", f"{where}: the answer held no keys",
                                retryable=True) from exc
        return (CredentialModel(access_key_id=keys["AccessKeyId"],
                                access_key_secret=keys["AccessKeySecret"],
                                security_token=keys["SecurityToken"], type="sts",
                                provider_name="assume_role"), expires.timestamp())
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
