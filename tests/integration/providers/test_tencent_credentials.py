"""Role keys and regions as the providers send them (issue 18 row 7): the settings read from
the environment carry the session token to every Tencent call, and a provider whose API
requires a region refuses to start without one instead of sending a request without it;
CLS and TCSS, whose pages call Region not required, work without one."""

from __future__ import annotations

import pytest

from sandbox import Sandbox
from shared.config import Settings
from shared.errors import ConfigError, ProviderError
from shared.pacing import RateLimiter
from shared.providers.cls import ClsProvider
from shared.providers.dlc import DlcProvider
from shared.providers.mongodb import MongodbProvider
from shared.providers.tcss import TcssProvider
from shared.vendor_settings import TencentSettings
from tests.integration.providers.drive import submit

SQL = {"SQL": "SELECT 1", "DatabaseName": "sales"}
MONGO = {"InstanceId": "cmgo-abc123", "StartTime": "2026-11-21 00:00:00",
         "EndTime": "2026-11-21 06:00:00"}


def role_settings(sb: Sandbox, with_token: bool) -> TencentSettings:
    secret_id, secret_key, token = sb.issue_role_keys()
    env = {"COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none",
           "TENCENTCLOUD_SECRETID": secret_id, "TENCENTCLOUD_SECRETKEY": secret_key,
           "TENCENTCLOUD_REGION": "ap-shanghai", "COURIER_TENCENT_ENDPOINT": sb.url,
           **({"TENCENTCLOUD_SESSIONTOKEN": token} if with_token else {})}
    settings = Settings.from_env(env).tencent
    assert settings is not None
    return settings


def test_role_keys_from_the_environment_reach_dlc_and_mongodb(sb: Sandbox) -> None:
    settings = role_settings(sb, with_token=True)
    limiter = RateLimiter(rate=1000)
    assert submit(DlcProvider(settings, limiter=limiter), SQL).remote["TaskId"]
    assert submit(MongodbProvider(settings, limiter=limiter), MONGO).remote["TaskId"]


def test_role_keys_without_their_token_fail_for_good(sb: Sandbox) -> None:
    dlc = DlcProvider(role_settings(sb, with_token=False), limiter=RateLimiter(rate=1000))
    with pytest.raises(ProviderError) as err:
        submit(dlc, SQL)
    assert err.value.code == "AuthFailure.TokenFailure"
    assert err.value.retryable is False


@pytest.mark.parametrize("provider", [DlcProvider, MongodbProvider])
def test_a_regional_provider_needs_a_region(sb: Sandbox, provider: type) -> None:
    secret_id, secret_key = sb.credentials
    no_region = TencentSettings(secret_id, secret_key, region="", endpoint=sb.url)
    with pytest.raises(ConfigError, match="TENCENTCLOUD_REGION"):
        provider(no_region)


def test_cls_needs_no_region(sb: Sandbox) -> None:
    # the CLS API pages mark Region "not required"; the SDK then sends no X-TC-Region
    secret_id, secret_key = sb.credentials
    cls = ClsProvider(TencentSettings(secret_id, secret_key, region="", endpoint=sb.url),
                      limiter=RateLimiter(rate=1000))
    now = 1_700_000_000_000
    assert submit(cls, {"TopicId": "topic-a", "From": now - 60_000, "To": now}
                  ).remote["ExportId"]


def test_tcss_needs_no_region(sb: Sandbox) -> None:
    secret_id, secret_key = sb.credentials
    tcss = TcssProvider(TencentSettings(secret_id, secret_key, region="", endpoint=sb.url),
                        limiter=RateLimiter(rate=1000))
    assert submit(tcss, {"Action": "CreateHostExportJob"}).remote["JobId"]
