"""CloudWatch Logs calls go through the shared vendor client base (AwsApi on VendorApi): drawn
from the rate budget, counted per action, a throttling answer reported to the budget, and no
call started that could not finish before the call deadline."""

from __future__ import annotations

import time
from typing import Any

import pytest

from shared.errors import ProviderError
from shared.pacing import DEADLINE_CODE, call_deadline
from shared.vendor_settings import AwsSettings
from tests.integration.providers.cloudwatch.conftest import add_logs


class Budget:
    """A rate budget that records what it is told."""

    def __init__(self) -> None:
        self.drawn: list[str] = []
        self.throttles: list[str] = []

    def acquire(self, action: str) -> None:
        self.drawn.append(action)

    def throttled(self, action: str) -> None:
        self.throttles.append(action)


@pytest.fixture
def budgeted(aws: AwsSettings) -> tuple[Any, Budget]:
    from shared.providers.cloudwatch import CloudwatchProvider

    budget = Budget()
    return CloudwatchProvider(aws, limiter=budget), budget


def test_calls_are_drawn_counted_and_a_throttle_is_reported(budgeted: tuple[Any, Budget],
                                                            moto: Any, gateway: Any) -> None:
    provider, budget = budgeted
    start, end = add_logs(moto.url, "app", {"s": ["x"]})
    gateway.faults.add("logs", "DescribeLogGroups", code="ThrottlingException")

    with pytest.raises(ProviderError) as refused:
        provider.api.call("DescribeLogGroups", {"logGroupNamePrefix": "app"})
    answer = provider.api.call("DescribeLogGroups", {"logGroupNamePrefix": "app"})

    assert refused.value.code == "ThrottlingException" and refused.value.retryable
    assert budget.throttles == ["DescribeLogGroups"]
    assert [g["logGroupName"] for g in answer["logGroups"]] == ["app"]
    assert budget.drawn == ["DescribeLogGroups"] * 2
    assert provider.api.calls == {"DescribeLogGroups": 2} == {
        k: v for k, v in gateway.calls.items() if k == "DescribeLogGroups"}


def test_no_call_is_started_past_the_deadline(budgeted: tuple[Any, Budget], moto: Any,
                                              gateway: Any) -> None:
    provider, _ = budgeted
    with call_deadline(time.monotonic() + 0.5), pytest.raises(ProviderError) as late:
        provider.api.call("DescribeExportTasks", {})
    assert late.value.code == DEADLINE_CODE and late.value.retryable
    assert "DescribeExportTasks" not in gateway.calls
