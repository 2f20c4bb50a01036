"""One account's throttling never slows another's: each (account, region) draws from its own
rate bucket in the state store, and the sandbox, like the vendor, counts each account's calls
against its own limit. Account A is driven past the limit until CLS refuses it; account B,
calling the same action at the same moment through its assumed role, is neither refused nor
slowed: its bucket keeps the full rate while A's is cut."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from shared.bundle import Bundle
from shared.config import Settings
from shared.errors import ProviderError
from shared.state.bucket import BUCKET, BucketPolicy

pytestmark = pytest.mark.integration

OTHER = "100000000002"
ROLE = f"qcs::cam::uin/{OTHER}:roleName/courier-export"
ACTION = "DescribeExports"


@pytest.fixture
def two_accounts(sandbox: Any, courier_env: dict[str, str]) -> Iterator[Bundle]:
    sandbox.add_account(OTHER, roles=[(ROLE, None)])
    sandbox.rate_limit = 3  # CLS's limit, per account, for this test
    env = {**courier_env, "COURIER_ACCOUNTS": json.dumps(
        {"b": {"vendor": "tencent", "region": "ap-shanghai", "role": ROLE}})}
    bundle = Bundle(Settings.from_env(env))
    yield bundle
    bundle.store().close()


def bucket_rate(bundle: Bundle, provider: Any) -> float:
    record = bundle.store().get_record(BUCKET, provider.api.limiter.bucket(ACTION))
    assert record is not None
    return float(record.data["rate"])


def test_a_throttled_account_does_not_slow_another(two_accounts: Bundle, sandbox: Any) -> None:
    a = two_accounts.providers.get("cls")
    b = two_accounts.providers.get("cls", "b")
    assert a.api.limiter.bucket(ACTION) != b.api.limiter.bucket(ACTION)
    params = {"TopicId": "topic-a", "Limit": 1}

    refused = 0
    for _ in range(8):  # A, faster than its limit of 3 a second
        try:
            a.api.call(ACTION, params)
        except ProviderError as exc:
            assert exc.code == "RequestLimitExceeded"
            refused += 1
    assert refused, "account A was never throttled"

    answers = [b.api.call(ACTION, params) for _ in range(3)]  # B, in the same second
    assert all("Exports" in answer for answer in answers)

    ceiling = BucketPolicy().ceiling
    assert bucket_rate(two_accounts, a) < ceiling  # A's budget was cut …
    assert bucket_rate(two_accounts, b) == ceiling  # … B's was not touched
    assert sandbox.calls[("sts", "AssumeRole")] == 1
