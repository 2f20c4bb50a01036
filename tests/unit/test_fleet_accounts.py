"""COURIER_ACCOUNTS: the forms it takes, and every bad value named down to its field."""

from __future__ import annotations

import json

import pytest

from shared.config import Settings
from shared.errors import ConfigError
from shared.fleet import RoleToAssume, parse_accounts

BASE = {"COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none"}
ROLE = "qcs::cam::uin/100000000002:roleName/courier-export"


def settings(accounts: object) -> Settings:
    return Settings.from_env({**BASE, "COURIER_ACCOUNTS": json.dumps(accounts)})


def test_object_and_list_forms_read_the_same() -> None:
    by_name = {"sh": {"vendor": "tencent", "region": "ap-shanghai", "role": ROLE,
                      "external_id": "ext-1", "session_s": 1800}}
    listed = [{"name": "sh", **by_name["sh"]}]
    assert settings(by_name).accounts == settings(listed).accounts
    account = settings(by_name).account("sh")
    assert account is not None
    assert (account.vendor, account.region, account.site) == ("tencent", "ap-shanghai", "china")
    assert account.assume() == RoleToAssume(ROLE, "ext-1", 1800)


def test_no_accounts_is_the_deployment_alone() -> None:
    plain = Settings.from_env(BASE)
    assert plain.accounts == () and plain.account("sh") is None


def test_keys_are_secrets_and_kept_out_of_repr() -> None:
    s = settings({"hz": {"vendor": "alibaba", "region": "cn-hangzhou",
                         "secret_id": "LTAIid", "secret_key": "sk-value", "token": "tok"}})
    assert {"sk-value", "tok"} <= set(s.secret_values())
    assert "sk-value" not in repr(s.accounts)
    assert s.accounts[0].assume() is None


@pytest.mark.parametrize(("accounts", "named"), [
    ({"Bad Name": {"vendor": "aws", "region": "eu-west-1"}}, "COURIER_ACCOUNTS['Bad Name']"),
    ({"a": {"region": "eu-west-1"}}, "COURIER_ACCOUNTS[a].vendor: is required"),
    ({"a": {"vendor": "gcp", "region": "eu-west-1"}}, "COURIER_ACCOUNTS[a].vendor"),
    ({"a": {"vendor": "aws"}}, "COURIER_ACCOUNTS[a].region: is required"),
    ({"a": {"vendor": "aws", "region": "Mars 1"}}, "COURIER_ACCOUNTS[a].region"),
    ({"a": {"vendor": "tencent", "region": "ap-shanghai", "site": "moon"}},
     "COURIER_ACCOUNTS[a].site"),
    ({"a": {"vendor": "aws", "region": "eu-west-1", "secret_id": "AKIA"}},
     "COURIER_ACCOUNTS[a].secret_key"),
    ({"a": {"vendor": "aws", "region": "eu-west-1", "token": "t"}},
     "COURIER_ACCOUNTS[a].token"),
    ({"a": {"vendor": "aws", "region": "eu-west-1", "role": ROLE}},
     "COURIER_ACCOUNTS[a].role: not a aws role"),
    ({"a": {"vendor": "alibaba", "region": "cn-hangzhou", "external_id": "x1"}},
     "COURIER_ACCOUNTS[a].external_id: only with role"),
    ({"a": {"vendor": "tencent", "region": "ap-shanghai", "role": ROLE, "session_s": 60}},
     "COURIER_ACCOUNTS[a].session_s"),
    ({"a": {"vendor": "tencent", "region": "ap-shanghai", "endpoint": "ftp://x"}},
     "COURIER_ACCOUNTS[a].endpoint"),
    ({"a": {"vendor": "tencent", "region": "ap-shanghai", "staging_bucket": "b"}},
     "COURIER_ACCOUNTS[a].staging_bucket"),
    ({"a": {"vendor": "aws", "region": "eu-west-1", "colour": "red"}},
     "COURIER_ACCOUNTS[a].colour: unknown field"),
    ([{"vendor": "aws"}], "COURIER_ACCOUNTS[0]"),
    ("accounts", "COURIER_ACCOUNTS: must be a JSON object"),
], ids=["name", "vendor-missing", "vendor", "region-missing", "region", "site", "half-keys",
        "token-alone", "role-of-other-cloud", "external-id-alone", "session", "endpoint",
        "staging-not-aws", "unknown-field", "list-without-name", "not-an-object"])
def test_bad_values_name_the_field(accounts: object, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(accounts)
    assert named in caught.value.message


def test_not_json_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="COURIER_ACCOUNTS: not valid JSON"):
        Settings.from_env({**BASE, "COURIER_ACCOUNTS": "{"})


def test_a_name_given_twice_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"COURIER_ACCOUNTS\[a\]: named twice"):
        parse_accounts("COURIER_ACCOUNTS", [{"name": "a", "vendor": "aws", "region": "eu-west-1"},
                                            {"name": "a", "vendor": "aws", "region": "eu-west-2"}])
