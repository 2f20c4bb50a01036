"""Which keys a named destination is written with, each destination opened once, and each
probed on its own at create."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.config import Settings
from shared.errors import ConfigError
from shared.fleet import Account, NamedDestination
from shared.storage.destinations import Destinations, keys_of, static_keys
from shared.storage.local import LocalObjectStore
from shared.storage.probe import DestinationHealth

BASE = {"COURIER_API_KEYS": "k" * 32}
AWS_B = Account(name="aws-b", vendor="aws", region="us-east-1", secret_id="AKIAB",
                secret_key="account-b-secret", token="account-b-token")
ROLE_C = Account(name="aws-c", vendor="aws", region="us-east-1",
                 role="arn:aws:iam::123456789012:role/courier-writer")


def settings_with(**named: dict[str, str]) -> Settings:
    return Settings(api_keys=("k" * 32,), accounts=(AWS_B, ROLE_C), destinations=tuple(
        NamedDestination(name=n, **d) for n, d in named.items()))  # type: ignore[arg-type]


def test_a_destination_is_written_with_its_own_keys_its_accounts_or_the_deployments() -> None:
    settings = settings_with(
        own={"url": "s3://a", "secret_id": "AKIA1", "secret_key": "s1", "token": "t1"},
        via={"url": "s3://b", "account": "aws-b"}, plain={"url": "s3://c"})
    assert keys_of(settings.destinations[0], settings) == ("AKIA1", "s1", "t1")
    assert keys_of(settings.destinations[1], settings) == ("AKIAB", "account-b-secret",
                                                           "account-b-token")
    assert keys_of(settings.destinations[2], settings) is None  # the function role's


def test_an_account_reached_by_a_role_needs_the_accounts_credentials_hook() -> None:
    """``static_keys`` has no keys to give for a role; the accounts' role assumption comes in
    as ``account_keys`` and is asked with the account."""
    settings = settings_with(via={"url": "s3://b", "account": "aws-c"})
    with pytest.raises(ConfigError, match=r"COURIER_ACCOUNTS\[aws-c\]: has no keys"):
        keys_of(settings.destinations[0], settings)
    asked: list[Account] = []

    def assumed(account: Account) -> tuple[str, str, str | None]:
        asked.append(account)
        return "ASIATEMP", "temp-secret", "temp-token"

    assert keys_of(settings.destinations[0], settings, assumed) == (
        "ASIATEMP", "temp-secret", "temp-token")
    assert asked == [ROLE_C]
    assert static_keys(AWS_B) == ("AKIAB", "account-b-secret", "account-b-token")


def test_each_destination_is_opened_once_under_its_own_name(tmp_path: Path) -> None:
    settings = Settings.from_env({**BASE, "COURIER_DESTINATION": f"file://{tmp_path}/own",
                                  "COURIER_DESTINATIONS": json.dumps(
                                      {"raw": {"url": f"file://{tmp_path}/raw"}})})
    opened = Destinations(settings)
    own, raw = opened(), opened("raw")
    assert isinstance(own, LocalObjectStore) and isinstance(raw, LocalObjectStore)
    assert own.uri("k").endswith("/own/k") and raw.uri("k").endswith("/raw/k")
    assert opened("raw") is raw and opened(None) is own
    with pytest.raises(ConfigError, match="no destination named 'gone'"):
        opened("gone")


def test_a_broken_named_destination_refuses_only_the_creates_into_it(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where a destination folder should be")
    settings = Settings.from_env({**BASE, "COURIER_DESTINATION": f"file://{tmp_path}/own",
                                  "COURIER_DESTINATIONS": json.dumps(
                                      {"broken": {"url": f"file://{blocker}/bucket"}})})
    health = DestinationHealth(Destinations(settings))
    assert health.problem() is None
    problem = health.problem("broken")
    assert problem is not None and "probe object could not be written" in problem
    assert health.problem() is None  # the deployment's own still takes exports


def test_a_destination_whose_account_keys_were_renewed_is_opened_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Temporary keys of an assumed role are renewed before they expire: the store made with
    the old ones is not used past that."""
    from shared.storage import destinations as module

    made: list[object] = []
    real = module.open_destination
    monkeypatch.setattr(module, "open_destination", lambda *a, **kw: (
        made.append(kw["keys"]), real(*a, **kw))[1])
    settings = settings_with(via={"url": "s3://b", "account": "aws-c"})
    given = [("ASIA1", "s1", "t1"), ("ASIA1", "s1", "t1"), ("ASIA2", "s2", "t2")]
    opened = Destinations(settings, account_keys=lambda account: given.pop(0))
    first = opened("via")
    assert opened("via") is first  # the same keys: the same store
    assert opened("via") is not first
    assert made == [("ASIA1", "s1", "t1"), ("ASIA2", "s2", "t2")]
