"""Plumbing shared by the Tencent Cloud providers: clients, calls, error classification.

Every call goes through the vendor's typed SDK client (``ClsClient``, ``DlcClient``, …) with
request models built from plain dicts, through the rate budget and the call deadline of
:class:`~shared.providers.api.VendorApi`, and comes back as a plain dict.
``TencentCloudSDKException`` never leaves this module: it becomes a ``ProviderError`` whose
``retryable`` flag comes from the code table below. The SDK's own retryer stays off: it
would retry ``Create*`` calls on network errors and create duplicates.
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from shared.config import ENV_TC_REGION, TencentSettings
from shared.errors import ConfigError, ProviderError
from shared.providers.api import VendorApi, VendorProvider, short
from shared.providers.base import RateBudget

log = logging.getLogger(__name__)

# Codes (or code prefixes, ending in ".") that can succeed if tried again later.
RETRYABLE_CODES = frozenset({
    "RequestLimitExceeded",
    "RequestLimitExceeded.",
    "InternalError",
    "InternalError.",
    "ResourceUnavailable",
    "ResourceUnavailable.",
    "ResourceInsufficient",
    "FailedOperation.ReadQpsLimit",
    "LimitExceeded.Export",  # quota of concurrent exports: wait, then create
    "ClientNetworkError",  # transport failure
    "ServerNetworkError",  # non-200 HTTP answer
    # the SDK names an unparseable answer after the Python exception it hit
    "JSONDecodeError",
    "KeyError",
    "ValueError",
})
THROTTLED_CODES = frozenset({"RequestLimitExceeded", "FailedOperation.ReadQpsLimit"})
# Services whose API pages mark the Region common parameter required (the CLS and TCSS
# pages say it is not). The SDK sends X-TC-Region only when the client has a region: refuse
# to build without one.
REGIONAL_SERVICES = frozenset({"dlc", "mongodb"})


def is_retryable(code: str) -> bool:
    if code in RETRYABLE_CODES:
        return True
    return any(code.startswith(p) for p in RETRYABLE_CODES if p.endswith("."))


API_DOMAINS = {"china": "tencentcloudapi.com", "intl": "intl.tencentcloudapi.com"}


def http_profile(settings: TencentSettings, service: str, timeout_s: int = 15) -> HttpProfile:
    """Point the SDK at the real service, or at one host:port for every service (sandbox)."""
    if settings.endpoint:
        scheme, _, hostport = settings.endpoint.partition("://")
        if not hostport:
            scheme, hostport = "https", settings.endpoint
        return HttpProfile(protocol=scheme, endpoint=hostport.rstrip("/"), reqMethod="POST",
                           reqTimeout=timeout_s)
    return HttpProfile(endpoint=api_host(settings, service), reqMethod="POST",
                       reqTimeout=timeout_s)


def api_host(settings: TencentSettings, service: str) -> str:
    """The service's API domain on the account's site: the international site's API pages
    name ``<svc>.intl.tencentcloudapi.com``, the China site's ``<svc>.tencentcloudapi.com``."""
    return f"{service}.{API_DOMAINS[settings.site]}"


def credential(settings: TencentSettings) -> Credential:
    # Built explicitly: SCF role credentials are temporary and need the session token.
    return Credential(settings.secret_id, settings.secret_key, settings.token)


def quiet_environment(client: Any) -> None:
    """Stop ``requests`` from re-reading the environment on every call.

    The SDK takes its proxy from the profile or, once when the client is built, from
    ``HTTPS_PROXY`` / ``HTTP_PROXY`` (either case) less ``NO_PROXY``, and passes it, and its
    CA bundle, with every request. ``requests`` would still walk the whole environment for
    proxy variables and look for ``~/.netrc`` on each call: a third of a call's CPU, for
    nothing the SDK does not already settle (``ALL_PROXY`` and ``.netrc`` are not SDK
    settings; a ``.netrc`` password would even replace the TC3 signature)."""
    session = getattr(getattr(getattr(client, "request", None), "conn", None), "_session", None)
    if session is not None and hasattr(session, "trust_env"):
        session.trust_env = False


class TencentApi(VendorApi):
    """One vendor client plus its request models, called by action name with dicts."""

    def __init__(
        self,
        provider: str,
        client: Any,
        models: Any,
        limiter: RateBudget | None = None,
    ) -> None:
        super().__init__(provider, client, limiter)
        self.models = models
        self._timeout_s: float | None = None  # the SDK's own, read on the first call

    @classmethod
    def build(cls, provider: str, service: str, client_cls: Any, models: Any,
              settings: TencentSettings, limiter: RateBudget | None = None) -> TencentApi:
        if service in REGIONAL_SERVICES and not (settings.region or "").strip():
            raise ConfigError(f"{ENV_TC_REGION}: {provider} needs a region (the {service} API "
                              "takes Region as a required parameter), e.g. ap-guangzhou")
        profile = ClientProfile(httpProfile=http_profile(settings, service))
        client = client_cls(credential(settings), settings.region, profile)
        quiet_environment(client)
        return cls(provider, client, models, limiter)

    def request(self, action: str, params: dict[str, Any]) -> Any:
        request = getattr(self.models, f"{action}Request")()
        request.from_json_string(json.dumps(params))
        return request

    @property
    def timeout_s(self) -> float | None:
        # The SDK keeps its timeout on the connection of ``client.request``; a client
        # without one keeps its own.
        conn = self._conn()
        if conn is None:
            return None
        if self._timeout_s is None:
            self._timeout_s = float(conn.timeout)
        return self._timeout_s

    def send(self, action: str, request: Any, timeout_s: float | None) -> dict[str, Any]:
        conn = self._conn()
        if conn is not None and timeout_s is not None:
            conn.timeout = timeout_s
        try:
            response = getattr(self.client, action)(request)
        except TencentCloudSDKException as exc:
            code = str(exc.code or "Unknown")
            log.info("%s %s failed: %s (request %s)", self.provider, action, code, exc.requestId)
            raise ProviderError(
                self.provider,
                code,
                short(exc.message),
                retryable=is_retryable(code),
                request_id=exc.requestId,
                retry_after=1.0 if code in THROTTLED_CODES else None,
            ) from exc
        result: dict[str, Any] = json.loads(response.to_json_string())
        return result

    def throttle(self, code: str) -> bool:
        return code in THROTTLED_CODES

    def _conn(self) -> Any:
        conn = getattr(getattr(self.client, "request", None), "conn", None)
        return conn if conn is not None and hasattr(conn, "timeout") else None


class TencentProvider(VendorProvider[TencentSettings, TencentApi]):
    """A provider over one Tencent Cloud service."""

    service: ClassVar[str]  # the API's service name (its host, its CAM prefix)
    sdk: ClassVar[tuple[Any, Any]]  # the service's SDK client class and its models module

    @classmethod
    def build_api(cls, settings: TencentSettings, limiter: RateBudget | None) -> TencentApi:
        client_cls, models = cls.sdk
        return TencentApi.build(cls.name, cls.service, client_cls, models, settings, limiter)
