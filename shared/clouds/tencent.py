"""Tencent Cloud: how every client of its SDK is built, and what its error codes mean.

Every tencentcloud-sdk-python client Courier makes (the providers' service clients, the
Secrets Manager client that reads ``tencent-ssm:`` references, the SCF client that
dispatches completions, the deployer's) comes from :func:`client`, and every
cos-python-sdk-v5 client (the COS destination, DLC's result objects, the deployer's package
upload) from :func:`cos_client`:

* credentials built explicitly (:func:`credential`): SCF role credentials are temporary and
  need their session token, which the SDK's environment credential does not read;
* the endpoint of the account's site (``china``: ``<svc>.tencentcloudapi.com``, ``intl``:
  ``<svc>.intl.tencentcloudapi.com``) or one host for every service (the sandbox);
* a quiet transport (:func:`quiet_environment`): ``requests`` never re-reads proxy variables
  or ``~/.netrc`` per call — a ``.netrc`` password would replace the TC3 signature.

The SDK's own retryer stays off: it would retry ``Create*`` calls on network errors and make
duplicates. Which codes can succeed later (:func:`is_retryable`), which mean "too many
requests" (:data:`THROTTLED_CODES`) and which leave open whether a call went through
(:func:`is_ambiguous`) is decided here, once for every caller.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from tencentcloud.common.credential import Credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from shared.errors import ConfigError, ProviderError
from shared.setting_names import ENV_TC_REGION
from shared.vendor_settings import TencentSettings

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

def credential(settings: TencentSettings) -> Any:
    """The keys a client signs with: the settings' own (built explicitly: SCF role
    credentials are temporary and need the session token), or a named account's role's."""
    if settings.assume is not None:
        return AssumedRoleCredential(settings)
    return Credential(settings.secret_id, settings.secret_key, settings.token)

STS_VERSION = "2018-08-13"
REFRESH_BEFORE_S = 300.0  # temporary keys are read again this long before they expire

class AssumedRoleCredential:
    """A CAM role's temporary keys (STS ``AssumeRole``, signed with the settings' own keys),
    kept and read again :data:`REFRESH_BEFORE_S` before they expire. The SDK's clients read
    them through :meth:`get_credential_info` before each call. A refusal is a
    :class:`~shared.errors.ProviderError` with STS's code naming the account and the role
    (retryable as the code says), raised from the call that needed the keys."""

    def __init__(self, settings: TencentSettings, *,
                 clock: Callable[[], float] = time.time) -> None:
        assert settings.assume is not None
        self.settings = settings
        self.role = settings.assume
        self._clock = clock
        self._keys: tuple[str, str, str] | None = None
        self._expires = 0.0
        self._lock = threading.Lock()
        self.assumed = 0  # AssumeRole calls made

    def get_credential_info(self) -> tuple[str, str, str]:
        with self._lock:
            if self._keys is None or self._clock() >= self._expires - REFRESH_BEFORE_S:
                self._keys, self._expires = self._assume()
            return self._keys

    @property
    def secret_id(self) -> str:
        return self.get_credential_info()[0]

    @property
    def secret_key(self) -> str:
        return self.get_credential_info()[1]

    @property
    def token(self) -> str:
        return self.get_credential_info()[2]

    def _assume(self) -> tuple[tuple[str, str, str], float]:
        from tencentcloud.common.common_client import CommonClient

        own = Credential(self.settings.secret_id, self.settings.secret_key, self.settings.token)
        profile = ClientProfile(httpProfile=http_profile(self.settings, "sts"))
        sts = CommonClient("sts", STS_VERSION, own, self.settings.region, profile)
        quiet_environment(sts)
        params: dict[str, Any] = {"RoleArn": self.role.role,
                                  "RoleSessionName": self.role.session_name,
                                  "DurationSeconds": self.role.session_s}
        if self.role.external_id:
            params["ExternalId"] = self.role.external_id
        self.assumed += 1
        try:
            answer = sts.call_json("AssumeRole", params)["Response"]
            keys = answer["Credentials"]
            return ((keys["TmpSecretId"], keys["TmpSecretKey"], keys["Token"]),
                    float(answer["ExpiredTime"]))
        except TencentCloudSDKException as exc:
            code = str(exc.code or "Unknown")
            raise ProviderError("sts", code, f"account {self.settings.account}: cannot assume "
                                f"role {self.role.role}: {exc.message}",
                                retryable=is_retryable(code), request_id=exc.requestId) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError("sts", "InvalidAnswer", f"account {self.settings.account}: "
                                f"AssumeRole for {self.role.role} answered without keys",
                                retryable=True) from exc

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

# Answers of the SDK that leave open whether a call went through.
AMBIGUOUS_CODES = frozenset({"ClientNetworkError", "ServerNetworkError", "JSONDecodeError",
                               "KeyError", "ValueError", "InternalError"})

def is_ambiguous(code: str | None) -> bool:
    """Whether an error ``code`` leaves open that the call went through."""
    return bool(code) and (code in AMBIGUOUS_CODES or str(code).startswith("InternalError."))

def cos_endpoint_kwargs(endpoint: str | None) -> dict[str, Any]:
    """CosConfig arguments that send requests to ``endpoint`` (``http://host:port``)
    instead of the real service, keeping the ``<bucket>.cos.<region>.myqcloud.com`` Host."""
    if not endpoint:
        return {"Scheme": "https"}
    parts = urlsplit(endpoint)
    out: dict[str, Any] = {"Scheme": parts.scheme or "http", "IP": parts.hostname}
    if parts.port:
        out["Port"] = parts.port
    return out


def cos_client(region: str, secret_id: str | None, secret_key: str | None,
               token: str | None = None, *, endpoint: str | None = None, timeout_s: int = 60,
               retry: int = 1, session: Any = None, **extra: Any) -> Any:
    """A cos-python-sdk-v5 client for ``region`` with these keys (a token with temporary
    ones), sending to ``endpoint`` when given (the sandbox's gateway), through ``session``
    when given (a guarded HTTP session; None: the SDK's pool); ``extra`` are more
    ``CosConfig`` arguments (``PoolMaxSize``, …)."""
    from qcloud_cos import CosConfig, CosS3Client

    config = CosConfig(Region=region, SecretId=secret_id, SecretKey=secret_key,
                       Token=token or None, Timeout=timeout_s,
                       **{**cos_endpoint_kwargs(endpoint), **extra})
    return CosS3Client(config, retry=retry, session=session)


def client(settings: TencentSettings, service: str, client_cls: Any, *,
           timeout_s: int = 15, region: str | None = None, credentials: Any = None) -> Any:
    """A quiet SDK client of ``client_cls`` for ``service`` with ``settings``' keys, site
    and region (``region`` overrides it); ``credentials`` a credential to sign with instead
    (the account's shared role keys, :class:`shared.clouds.roles.AssumedRoles`). A service
    whose API takes Region as a required parameter is refused without one (the SDK sends
    ``X-TC-Region`` only when it has one)."""
    region = settings.region if region is None else region
    if service in REGIONAL_SERVICES and not (region or "").strip():
        raise ConfigError(f"{ENV_TC_REGION}: {service} needs a region (its API takes Region "
                          "as a required parameter), e.g. ap-guangzhou")
    profile = ClientProfile(httpProfile=http_profile(settings, service, timeout_s))
    built = client_cls(credentials or credential(settings), region, profile)
    quiet_environment(built)
    return built
