"""Temporary keys of an assumed role (shared/clouds/tencent.py, alibaba.py, aws.py): asked
for once through the real SDKs against the sandbox (Tencent, Alibaba STS) and moto (AWS STS),
kept while they are good, and asked for again before they expire, not after."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest

from sandbox import Sandbox
from shared.clouds import alibaba, aws, tencent
from shared.errors import ProviderError
from shared.fleet import RoleToAssume
from shared.vendor_settings import AlibabaSettings, TencentSettings
from tests import servers

TC_ROLE = "qcs::cam::uin/100000000002:roleName/courier-export"
RAM_ROLE = "acs:ram::200000000002:role/courier-export"


class Clock:
    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_tencent_keys_are_kept_then_renewed_before_they_expire(sandbox: Sandbox) -> None:
    sandbox.add_account("100000000002", roles=[(TC_ROLE, "ext-7")])
    secret_id, secret_key = sandbox.credentials
    settings = TencentSettings(secret_id, secret_key, region="ap-shanghai",
                               endpoint=sandbox.url, account="sh",
                               assume=RoleToAssume(TC_ROLE, "ext-7", 1800))
    clock = Clock()
    role = tencent.AssumedRoleCredential(settings, clock=clock)
    first = role.get_credential_info()
    assert role.get_credential_info() == first and role.assumed == 1
    assert sandbox.accounts.account_of(first[0]) == "100000000002"
    clock.now += 1800 - tencent.REFRESH_BEFORE_S - 5  # not yet
    assert role.get_credential_info() == first and role.assumed == 1
    clock.now += 10  # within the last 5 minutes: new keys before the old ones lapse
    assert role.get_credential_info() != first and role.assumed == 2


def test_a_tencent_role_refused_names_the_code_and_the_role(sandbox: Sandbox) -> None:
    sandbox.add_account("100000000002", roles=[(TC_ROLE, "ext-7")])
    secret_id, secret_key = sandbox.credentials
    settings = TencentSettings(secret_id, secret_key, region="ap-shanghai",
                               endpoint=sandbox.url, account="sh",
                               assume=RoleToAssume(TC_ROLE, "wrong-id"))
    with pytest.raises(ProviderError) as refused:
        tencent.AssumedRoleCredential(settings).get_credential_info()
    assert refused.value.code == "UnauthorizedOperation" and not refused.value.retryable
    assert TC_ROLE in refused.value.detail and "account sh" in refused.value.detail


def test_alibaba_keys_are_kept_then_renewed_before_they_expire(sandbox: Sandbox) -> None:
    sandbox.add_account("200000000002", roles=[(RAM_ROLE, None)])
    ak, secret = sandbox.dms.credentials
    settings = AlibabaSettings(ak, secret, region="cn-shanghai", endpoint=sandbox.url,
                               account="hz2", assume=RoleToAssume(RAM_ROLE, None, 900))
    clock = Clock()
    role = alibaba.AssumedRamRole(settings, clock=clock)
    first = role.get_credential()
    assert role.get_credential() is first and role.assumed == 1
    assert first.security_token and first.access_key_id.startswith("STS.")
    clock.now += 900 - alibaba.REFRESH_BEFORE_S + 5
    assert role.get_credential().access_key_id != first.access_key_id and role.assumed == 2


def test_an_alibaba_role_that_does_not_exist_is_refused_for_good(sandbox: Sandbox) -> None:
    ak, secret = sandbox.dms.credentials
    settings = AlibabaSettings(ak, secret, endpoint=sandbox.url, account="hz2",
                               assume=RoleToAssume(RAM_ROLE))
    with pytest.raises(ProviderError) as refused:
        alibaba.AssumedRamRole(settings).get_credential()
    assert refused.value.code == "EntityNotExist.Role" and not refused.value.retryable
    assert RAM_ROLE in refused.value.detail
    throttled = replace(settings, assume=RoleToAssume(RAM_ROLE))
    sandbox.add_account("200000000002", roles=[(RAM_ROLE, None)])
    sandbox.faults.add_from_json({"service": "sts", "action": "AssumeRole", "kind": "error",
                                  "code": "ServiceUnavailable", "times": 1})
    with pytest.raises(ProviderError) as busy:
        alibaba.AssumedRamRole(throttled).get_credential()
    assert busy.value.code == "ServiceUnavailable" and busy.value.retryable


@pytest.fixture(scope="module")
def moto_server() -> Iterator[servers.MotoServer]:
    with servers.moto() as handle:
        yield handle


def test_aws_keys_of_the_role_are_renewed_before_they_expire(
        moto_server: servers.MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in servers.aws_test_env().items():
        monkeypatch.setenv(name, value)
    arn = "arn:aws:iam::222222222222:role/courier-export"
    session = aws.session(assume=RoleToAssume(arn, "ext-1", 900), region="eu-west-1",
                          sts_endpoint=moto_server.url, account="eu")
    sts = session.client("sts", endpoint_url=moto_server.url)
    assert sts.get_caller_identity()["Account"] == "222222222222"
    credentials: Any = session.get_credentials()
    assert credentials.refresh_needed(aws.REFRESH_BEFORE_S) is False  # 15 min left of 15
    first = credentials.get_frozen_credentials().access_key
    # within the last REFRESH_BEFORE_S of its life, the next use asks STS again
    assert credentials.refresh_needed(900 + 1) is True
    credentials._advisory_refresh_timeout = 900 + 1
    assert credentials.get_frozen_credentials().access_key != first
    assert boto3.Session().get_credentials() is not None  # boto3's own chain untouched
