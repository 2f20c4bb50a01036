"""The listing group a submitted export is stored under: provider, account and the provider's
group key; none for an export the provider lists alone, or one not submitted."""

from __future__ import annotations

import pytest

from shared.config import Settings
from shared.fleet import Account
from shared.groups import group_of, poll_group
from shared.model import ExportTask, TaskState
from shared.providers import Providers
from shared.vendor_settings import TencentSettings


@pytest.fixture
def providers() -> Providers:
    return Providers(Settings(state_url="sqlite:///:memory:", tencent=TencentSettings(
        "AKIDx", "key", endpoint="http://127.0.0.1:9"), accounts=(Account(
            name="ops", vendor="tencent", region="ap-shanghai", secret_id="AKIDo",
            secret_key="key-o"),)))


def submitted(provider: str, params: dict, **kw: object) -> ExportTask:
    return ExportTask(provider=provider, params=params, state=TaskState.SUBMITTED,
                      **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("task", "expected"), [
    (submitted("cls", {"TopicId": "t-1"}), "cls||cls:t-1"),
    # a named account's group is its own, in its region too
    (submitted("cls", {"TopicId": "t-1"}, account="ops"), "cls|ops|cls:t-1@ops/ap-shanghai"),
    (submitted("mongodb", {"InstanceId": "cmgo-1"}), "mongodb||mongodb:cmgo-1"),
    (submitted("dlc", {"SQL": "SELECT 1"}, stage="sql"), "dlc||dlc:sql"),
    (submitted("dlc", {"SQL": "SELECT 1"}, stage="download"), None),
    (ExportTask(provider="cls", params={"TopicId": "t-1"}), None),
], ids=["cls", "cls-account", "mongodb", "dlc-queries", "dlc-download-alone", "accepted"])
def test_the_group_names_provider_account_and_key(providers: Providers, task: ExportTask,
                                                  expected: str | None) -> None:
    assert poll_group(providers, task) == expected


def test_a_long_group_name_is_hashed_to_fit_the_index(providers: Providers) -> None:
    task = submitted("cls", {"TopicId": "t" * 300})
    name = poll_group(providers, task)
    assert name is not None and name.startswith("sha256:") and len(name) <= 160
    assert poll_group(providers, task) == name  # the same every time


def test_accounts_split_a_group_and_a_provider_that_cannot_say_keeps_the_task_alone(
        providers: Providers) -> None:
    mine = submitted("cls", {"TopicId": "t-1"})
    theirs = submitted("cls", {"TopicId": "t-1"}, account="ops")
    assert group_of(providers, mine) != group_of(providers, theirs)
    broken = submitted("cls", {})  # no TopicId: the provider's group_key fails
    assert group_of(providers, broken) == ("cls", "", "")
    assert poll_group(providers, broken) is None
