"""The international site (issue 18 row 12): COURIER_TENCENT_SITE=intl sends every Tencent
API call to ``<svc>.intl.tencentcloudapi.com``. The sandbox, reached as an HTTP proxy so
the SDK keeps the real Host, refuses a host of the other site."""

from __future__ import annotations

from typing import Any

import pytest
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.dlc.v20210125 import dlc_client, models

from sandbox import Sandbox
from shared.clouds.tencent import credential, http_profile, quiet_environment
from shared.config import Settings
from shared.errors import ConfigError, ProviderError
from shared.pacing import RateLimiter
from shared.providers.dlc import DlcProvider
from shared.providers.tencent import TencentApi
from shared.runtime.dispatch import ScfDispatcher
from shared.vendor_settings import TencentSettings
from tests.integration.providers.drive import submit

SQL = {"SQL": "SELECT 1", "DatabaseName": "sales"}
BASE = {"COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none",
        "TENCENTCLOUD_SECRETID": "AKIDx", "TENCENTCLOUD_SECRETKEY": "k"}


def tencent(env: dict[str, str]) -> TencentSettings:
    settings = Settings.from_env({**BASE, **env}).tencent
    assert settings is not None
    return settings


@pytest.mark.parametrize(("site", "host"), [
    (None, "dlc.tencentcloudapi.com"),
    ("china", "dlc.tencentcloudapi.com"),
    ("intl", "dlc.intl.tencentcloudapi.com"),
    ("INTL", "dlc.intl.tencentcloudapi.com"),
])
def test_the_site_picks_the_api_domain(site: str | None, host: str) -> None:
    settings = tencent({"COURIER_TENCENT_SITE": site} if site else {})
    assert http_profile(settings, "dlc").endpoint == host
    # a sandbox endpoint still wins over the site
    sandboxed = tencent({"COURIER_TENCENT_SITE": site or "china",
                         "COURIER_TENCENT_ENDPOINT": "http://127.0.0.1:1"})
    assert http_profile(sandboxed, "dlc").endpoint == "127.0.0.1:1"


def test_an_unknown_site_is_refused() -> None:
    with pytest.raises(ConfigError, match="COURIER_TENCENT_SITE"):
        Settings.from_env({**BASE, "COURIER_TENCENT_SITE": "mars"})


def test_scf_dispatch_follows_the_site() -> None:
    settings = Settings.from_env({**BASE, "COURIER_TENCENT_SITE": "intl",
                                  "COURIER_DISPATCH": "scf",
                                  "COURIER_COMPLETE_FUNCTION": "complete"})
    dispatcher = ScfDispatcher.build(settings)
    assert dispatcher.client.profile.httpProfile.endpoint == "scf.intl.tencentcloudapi.com"


def through_proxy(sb: Sandbox, site: str) -> DlcProvider:
    """A DLC provider on ``site``'s real host name, its requests sent through the sandbox."""
    secret_id, secret_key = sb.credentials
    settings = TencentSettings(secret_id, secret_key, site=site)
    profile = http_profile(settings, "dlc", timeout_s=5)
    profile.protocol = profile.scheme = "http"
    profile.proxy = sb.url
    client: Any = dlc_client.DlcClient(credential(settings), settings.region,
                                       ClientProfile(httpProfile=profile))
    api = TencentApi("dlc", client, models, RateLimiter(rate=1000))
    return DlcProvider(settings, api=api)


@pytest.mark.parametrize("site", ["intl", "china"])
def test_an_account_reaches_its_own_site_only(sb: Sandbox, site: str) -> None:
    sb.site = "intl"
    provider = through_proxy(sb, site)
    if site == "intl":
        assert submit(provider, SQL).remote["TaskId"]
        return
    with pytest.raises(ProviderError) as err:
        submit(provider, SQL)
    assert err.value.code == "AuthFailure.SecretIdNotFound"


def test_a_proxy_from_the_environment_is_still_used(sb: Sandbox, monkeypatch: Any) -> None:
    # GIVEN HTTP_PROXY naming the sandbox, and a client that no longer lets requests re-read
    # the environment per call
    monkeypatch.setenv("HTTP_PROXY", sb.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    secret_id, secret_key = sb.credentials
    settings = TencentSettings(secret_id, secret_key, site="china")
    profile = http_profile(settings, "dlc", timeout_s=5)
    profile.protocol = profile.scheme = "http"
    client: Any = dlc_client.DlcClient(credential(settings), settings.region,
                                       ClientProfile(httpProfile=profile))
    quiet_environment(client)
    assert client.request.conn._session.trust_env is False
    # WHEN a call is made, THEN it goes through that proxy (the SDK read it at build time)
    provider = DlcProvider(settings, api=TencentApi("dlc", client, models,
                                                    RateLimiter(rate=1000)))
    assert submit(provider, SQL).remote["TaskId"]
    assert sb.calls[("dlc", "CreateTasks")] == 1
