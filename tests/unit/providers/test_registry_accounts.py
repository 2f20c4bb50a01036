"""One provider per (provider, named account): each built from the account's region, site,
endpoint and keys or role, its listing groups and rate budget its own, its create locks
those of the real account behind the name; the providers of one account sign with one
holder of its role's keys; an account of another cloud, or one no longer configured, is
refused for good naming it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.config import Settings
from shared.errors import ConfigError, ProviderError
from shared.model import ExportTask
from shared.providers import ACCOUNT_GONE, ACCOUNT_OF_ANOTHER_CLOUD, Providers

ROLE = "qcs::cam::uin/100000000002:roleName/courier-export"
ENV = {
    "COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none",
    "TENCENTCLOUD_SECRETID": "AKIDown", "TENCENTCLOUD_SECRETKEY": "own-key",
    "TENCENTCLOUD_REGION": "ap-guangzhou", "COURIER_TENCENT_ENDPOINT": "http://127.0.0.1:9",
    "COURIER_CLOUDWATCH_BUCKET": "staging", "AWS_REGION": "us-east-1",
    "ALIBABA_CLOUD_ACCESS_KEY_ID": "LTAIown", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "own-secret",
    "COURIER_DMS_ENDPOINT": "http://127.0.0.1:9",
    "COURIER_ACCOUNTS": json.dumps({
        "sh": {"vendor": "tencent", "region": "ap-shanghai", "role": ROLE,
               "external_id": "ext-1"},
        "sh-keys": {"vendor": "tencent", "region": "ap-shanghai", "site": "intl",
                    "secret_id": "AKIDother", "secret_key": "other-key"},
        # the same real account as "sh" (another role of uin 100000000002, another region)
        "sh-too": {"vendor": "tencent", "region": "ap-nanjing",
                   "role": "qcs::cam::uin/100000000002:roleName/courier-audit"},
        "third": {"vendor": "tencent", "region": "ap-shanghai",
                  "role": "qcs::cam::uin/100000000003:roleName/courier-export"},
        "same-keys": {"vendor": "tencent", "region": "ap-chengdu", "secret_id": "AKIDother",
                      "secret_key": "other-key"},
        "bj": {"vendor": "tencent", "region": "ap-beijing"},  # the deployment's own keys
        "hz": {"vendor": "alibaba", "region": "cn-shanghai",
               "role": "acs:ram::200000000002:role/courier-export"},
        "eu-role": {"vendor": "aws", "region": "eu-west-1", "staging_bucket": "eu-staging",
                    "role": "arn:aws:iam::222222222222:role/courier-export"},
        "eu": {"vendor": "aws", "region": "eu-west-1", "staging_bucket": "eu-staging"},
    }),
}


def task(account: str | None, **params: Any) -> ExportTask:
    return ExportTask(provider="cls", params={"TopicId": "topic-a", **params}, account=account)


@pytest.fixture()
def providers() -> Providers:
    return Providers(Settings.from_env(ENV))


def test_a_named_account_has_its_own_provider_and_settings(providers: Providers) -> None:
    own, sh = providers.get("cls"), providers.get("cls", "sh")
    assert own is providers.get("cls") and sh is providers.get("cls", "sh") and own is not sh
    assert (sh.settings.region, sh.settings.account) == ("ap-shanghai", "sh")
    # the role is assumed with the deployment's own keys, at the deployment's endpoint
    assert sh.settings.assume is not None and sh.settings.assume.role == ROLE
    assert (sh.settings.secret_id, sh.settings.endpoint) == ("AKIDown", "http://127.0.0.1:9")
    keyed = providers.get("cls", "sh-keys")
    assert (keyed.settings.secret_id, keyed.settings.site) == ("AKIDother", "intl")
    assert keyed.settings.assume is None


def test_listing_groups_are_per_account_and_region(providers: Providers) -> None:
    assert providers.get("cls").group_key(task(None)) == "cls:topic-a"  # as before
    assert (providers.get("cls", "sh").group_key(task("sh"))
            == "cls:topic-a@sh/ap-shanghai")
    tcss = ExportTask(provider="tcss", params={}, account="sh")
    assert providers.get("tcss", "sh").group_key(tcss) == "tcss:jobs@sh/ap-shanghai"


def test_create_locks_are_per_real_account_whatever_its_name(providers: Providers) -> None:
    tcss = ExportTask(provider="tcss", params={}, account="sh")
    locks = {name: providers.get("tcss", name).serial_key(tcss)
             for name in (None, "sh", "sh-too", "third", "sh-keys", "same-keys", "bj")}
    assert locks[None] == "tcss-create"  # as before
    # two names for the role owner's uin: one lock, whatever the region
    assert locks["sh"] == locks["sh-too"] == "tcss-create@uin:100000000002"
    assert locks["third"] == "tcss-create@uin:100000000003"
    # two names with one key id: one lock, the key id not shown in it
    assert locks["sh-keys"] == locks["same-keys"] != locks["sh"]
    assert "AKIDother" not in str(locks["sh-keys"])
    # the deployment's own keys in another region: the deployment's account, its lock
    assert locks["bj"] == locks[None]
    mongo = ExportTask(provider="mongodb", params={"InstanceId": "cmgo-1"}, account="sh")
    assert (providers.get("mongodb", "sh").serial_key(mongo)
            == providers.get("mongodb", "sh-too").serial_key(mongo)
            == "mongodb-create:cmgo-1@uin:100000000002")
    assert providers.get("mongodb").serial_key(mongo) == "mongodb-create:cmgo-1"
    assert providers.get("mongodb", "bj").serial_key(mongo) == "mongodb-create:cmgo-1"


def test_the_providers_of_an_account_sign_with_one_holder_of_its_role(
        providers: Providers) -> None:
    held = {name: providers.get(name, "sh").api.client.credential
            for name in ("cls", "dlc", "mongodb", "tcss")}
    assert len({id(h) for h in held.values()}) == 1
    assert held["cls"] is providers.roles.holder(providers.get("cls", "sh").settings)
    assert held["cls"].assumed == 0  # nothing asked of STS until a call needs the keys
    other = providers.get("cls", "sh-too").api.client.credential
    assert other is not held["cls"]  # another name: another role (or session) of its own


def test_a_destination_reads_the_keys_of_the_holder_its_accounts_providers_sign_with(
        providers: Providers) -> None:
    from shared.storage.account_keys import AccountKeys

    settings = providers.settings
    keys = AccountKeys(settings, providers.roles)
    tencent = providers.get("cls", "sh").api.client.credential
    tencent.get_credential_info = lambda: ("AKIDtmp", "tmp-key", "tmp-token")  # STS's answer
    sh = settings.account("sh")
    assert sh is not None and keys(sh) == ("AKIDtmp", "tmp-key", "tmp-token")
    # Alibaba: the DMS client's credential; AWS: CloudWatch's boto3 Session
    dms = providers.get("dms", "hz")
    assert dms.api.client._credential is providers.roles.holder(dms.settings)
    cloudwatch = providers.get("cloudwatch", "eu-role")
    assert cloudwatch.session is providers.roles.holder(cloudwatch.settings)
    assert cloudwatch.session is not None


def test_rate_budgets_are_per_account_and_region() -> None:
    asked: list[tuple[str, str]] = []

    def budget(provider: str, key: str) -> Any:
        asked.append((provider, key))
        return None

    built = Providers(Settings.from_env(ENV), budget=budget)
    built.get("cls")
    built.get("cls", "sh")
    built.get("cls", "sh-keys")
    assert asked == [("cls", "AKIDown"), ("cls", f"{ROLE}|ap-shanghai"),
                     ("cls", "AKIDother|ap-shanghai")]


def test_an_account_of_another_cloud_or_gone_is_refused_for_good(
        providers: Providers) -> None:
    with pytest.raises(ProviderError) as caught:
        providers.get("cls", "eu")
    assert (caught.value.code, caught.value.retryable) == (ACCOUNT_OF_ANOTHER_CLOUD, False)
    assert "'eu' is an account of aws" in caught.value.detail
    with pytest.raises(ProviderError) as unknown:
        providers.get("cls", "nowhere")
    assert (unknown.value.code, unknown.value.retryable) == (ACCOUNT_GONE, False)
    assert unknown.value.detail == ("account 'nowhere' is no longer configured "
                                    "(COURIER_ACCOUNTS)")


def test_an_aws_account_stages_in_its_own_bucket_and_region(providers: Providers) -> None:
    eu = providers.get("cloudwatch", "eu")
    assert (eu.settings.staging_bucket, eu.settings.region) == ("eu-staging", "eu-west-1")
    assert eu.group_key(task("eu")) == "cloudwatch:eu-west-1@eu/eu-west-1"


def test_an_account_needing_keys_it_cannot_have_is_a_config_error() -> None:
    env = {k: v for k, v in ENV.items() if not k.startswith("TENCENTCLOUD_")}
    with pytest.raises(ConfigError, match=r"COURIER_ACCOUNTS\[sh\]"):
        Providers(Settings.from_env(env)).get("cls", "sh")
