from __future__ import annotations

import json

import pytest

from shared.config import Settings
from shared.errors import ConfigError
from shared.model import ExportTask
from shared.webhooks.notify import endpoints_for

ENDPOINTS = [
    {"url": "https://ops.example.com/all"},
    {"url": "https://ops.example.com/failures", "events": ["export.failed"]},
    {"url": "https://dl.example.com/cls", "events": ["export.delivered"], "providers": ["cls"]},
]


@pytest.fixture
def settings() -> Settings:
    return Settings.from_env({"COURIER_API_KEYS": "k" * 32,
                              "COURIER_WEBHOOK_URLS": "https://ops.example.com/all",
                              "COURIER_WEBHOOK_ENDPOINTS": json.dumps(ENDPOINTS)})


@pytest.mark.parametrize(("provider", "event", "expected"), [
    ("cls", "export.delivered", ["https://own.example.com/h", "https://ops.example.com/all",
                                 "https://dl.example.com/cls"]),
    ("cls", "export.failed", ["https://own.example.com/h", "https://ops.example.com/all",
                              "https://ops.example.com/failures"]),
    ("tcss", "export.delivered", ["https://own.example.com/h", "https://ops.example.com/all"]),
], ids=["cls-delivered", "cls-failed", "tcss-delivered"])
def test_default_endpoints_are_filtered_by_event_and_provider(
        settings: Settings, provider: str, event: str, expected: list[str]) -> None:
    task = ExportTask(provider=provider, params={}, subscribers=["https://own.example.com/h"])
    assert endpoints_for(task, settings, event) == expected


@pytest.mark.parametrize("raw", ['{"url": "x"}', '[{"url": "ftp://x"}]',
                                 '[{"url": "https://x", "events": "export.failed"}]',
                                 '[{"url": "https://x", "secret": "s"}]', "not json"])
def test_bad_endpoint_lists_fail_at_cold_start(raw: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_env({"COURIER_API_KEYS": "k" * 32, "COURIER_WEBHOOK_ENDPOINTS": raw})
    assert "COURIER_WEBHOOK_ENDPOINTS" in str(err.value)


def accounts_settings() -> Settings:
    """Endpoints for the named account eu-prod, for the deployment's own, and for both."""
    from shared.fleet import Account

    endpoints = [{"url": "https://eu.example.com/h", "accounts": ["eu-prod"]},
                 {"url": "https://own.example.com/h", "accounts": ["default"]},
                 {"url": "https://both.example.com/h", "accounts": ["default", "eu-prod"],
                  "events": ["export.failed"]}]
    return Settings.from_env({"COURIER_API_KEYS": "k" * 32,
                              "COURIER_WEBHOOK_ENDPOINTS": json.dumps(endpoints)},
                             accounts=(Account("eu-prod", "tencent", "eu-frankfurt"),))


@pytest.mark.parametrize(("account", "event", "expected"), [
    ("eu-prod", "export.delivered", ["https://eu.example.com/h"]),
    (None, "export.delivered", ["https://own.example.com/h"]),
    ("eu-prod", "export.failed", ["https://eu.example.com/h", "https://both.example.com/h"]),
    (None, "export.failed", ["https://own.example.com/h", "https://both.example.com/h"]),
], ids=["named-delivered", "own-delivered", "named-failed", "own-failed"])
def test_endpoints_are_filtered_by_account(account: str | None, event: str,
                                           expected: list[str]) -> None:
    settings = accounts_settings()  # checked: the accounts named are known
    task = ExportTask(provider="cls", params={}, account=account)
    assert endpoints_for(task, settings, event) == expected


@pytest.mark.parametrize(("endpoints", "accounts", "problem"), [
    ([{"url": "https://x.example.com", "accounts": ["us-prod"]}], ("eu-prod",),
     "COURIER_WEBHOOK_ENDPOINTS[0].accounts: 'us-prod' is no account of COURIER_ACCOUNTS"),
    ([{"url": "https://x.example.com", "accounts": ["default"]}], ("default",),
     "COURIER_WEBHOOK_ENDPOINTS[0].accounts: \"default\" means the deployment's own account"),
    ([{"url": "https://x.example.com", "accounts": "eu-prod"}], (),
     "COURIER_WEBHOOK_ENDPOINTS[0].accounts: must be a list of strings"),
    ([{"url": "https://x.example.com", "per_minute": 0}], (),
     "COURIER_WEBHOOK_ENDPOINTS[0].per_minute: must be a number of messages a minute above 0"),
    ([{"url": "https://x.example.com", "per_minute": "60"}], (),
     "COURIER_WEBHOOK_ENDPOINTS[0].per_minute: must be a number"),
    ([{"url": "https://x.example.com", "events": ["export.stuck"]}], (),
     "COURIER_WEBHOOK_ENDPOINTS[0].events: 'export.stuck' is not an event an endpoint can ask "
     "for (export.delivered, export.failed, export.cancelled, export.waiting; the operator's "
     "events go to COURIER_OPERATOR_SUBSCRIBERS)"),
], ids=["unknown-account", "account-called-default", "accounts-not-list", "rate-zero",
        "rate-text", "operator-event"])
def test_bad_endpoint_options_name_the_field(endpoints: list[dict[str, object]],
                                             accounts: tuple[str, ...], problem: str) -> None:
    from shared.fleet import Account

    env = {"COURIER_API_KEYS": "k" * 32, "COURIER_WEBHOOK_ENDPOINTS": json.dumps(endpoints)}
    with pytest.raises(ConfigError) as err:
        Settings.from_env(env, accounts=tuple(Account(a, "tencent", "ap-guangzhou")
                                              for a in accounts))
    assert problem in err.value.message


def test_an_unknown_provider_in_an_endpoint_filter_is_named() -> None:
    from shared.providers import REGISTRY
    from shared.webhooks.notify import unknown_providers

    settings = Settings.from_env({"COURIER_API_KEYS": "k" * 32, "COURIER_WEBHOOK_ENDPOINTS":
                                  json.dumps([{"url": "https://x.example.com",
                                               "providers": ["cls", "dsm"]}])})
    assert unknown_providers(settings, REGISTRY) == [
        "COURIER_WEBHOOK_ENDPOINTS[0].providers: unknown provider 'dsm' (expected one of: "
        f"{', '.join(sorted(REGISTRY))})"]
