"""The cloudwatch provider's parameters: normalised, or refused naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from shared.config import Settings
from shared.errors import ConfigError, ValidationError
from shared.providers.cloudwatch import CloudwatchProvider
from shared.vendor_settings import AwsSettings

FROM, TO = 1_700_000_000_000, 1_700_003_600_000


@pytest.fixture
def provider() -> CloudwatchProvider:
    settings = AwsSettings(staging_bucket="b", endpoint="http://127.0.0.1:9",
                           s3_endpoint="http://127.0.0.1:9")
    return CloudwatchProvider(settings)


def test_one_group_and_a_stream_prefix(provider: CloudwatchProvider) -> None:
    params = provider.validate({"logGroupName": "/aws/lambda/fn", "from": FROM, "to": TO,
                                "logStreamNamePrefix": "2026/"})
    assert params == {"logGroupName": "/aws/lambda/fn", "from": FROM, "to": TO,
                      "logStreamNamePrefix": "2026/"}


def test_a_list_of_groups_loses_its_duplicates(provider: CloudwatchProvider) -> None:
    params = provider.validate({"logGroupNames": ["a", "b", "a"], "from": FROM, "to": TO})
    assert params["logGroupNames"] == ["a", "b"]


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("no-group", {"from": FROM, "to": TO}, "params.logGroupName"),
    ("two-kinds", {"logGroupName": "a", "logGroupNamePrefix": "b", "from": FROM, "to": TO},
     "params.logGroupName"),
    ("bad-name", {"logGroupName": "a b", "from": FROM, "to": TO}, "params.logGroupName"),
    ("bad-list-item", {"logGroupNames": ["ok", "no way"], "from": FROM, "to": TO},
     "params.logGroupNames[1]"),
    ("empty-list", {"logGroupNames": [], "from": FROM, "to": TO}, "params.logGroupNames"),
    ("list-of-numbers", {"logGroupNames": [1], "from": FROM, "to": TO},
     "params.logGroupNames"),
    ("no-from", {"logGroupName": "a", "to": TO}, "params.from"),
    ("text-to", {"logGroupName": "a", "from": FROM, "to": "soon"}, "params.to"),
    ("backwards", {"logGroupName": "a", "from": TO, "to": FROM}, "params.from"),
    ("seconds", {"logGroupName": "a", "from": 1, "to": 1_700_000_000}, "params.to"),
    ("unknown", {"logGroupName": "a", "from": FROM, "to": TO, "query": "*"}, "params.query"),
    ("empty-stream", {"logGroupName": "a", "from": FROM, "to": TO, "logStreamNamePrefix": ""},
     "params.logStreamNamePrefix"),
]


@pytest.mark.parametrize("params,field", [(p, f) for _, p, f in BAD], ids=[i for i, _, _ in BAD])
def test_bad_params_name_the_field(provider: CloudwatchProvider, params: dict[str, Any],
                                   field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        provider.validate(params)
    assert refused.value.field == field


def test_settings_come_from_the_environment() -> None:
    env = {"COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none",
           "COURIER_CLOUDWATCH_BUCKET": "staging", "COURIER_CLOUDWATCH_PREFIX": "/cw/",
           "AWS_REGION": "eu-west-1", "COURIER_S3_ENDPOINT": "http://127.0.0.1:5000"}
    aws = Settings.from_env(env).aws
    assert aws == AwsSettings(staging_bucket="staging", staging_prefix="cw",
                              region="eu-west-1", s3_endpoint="http://127.0.0.1:5000")
    assert Settings.from_env({"COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none"}).aws is None
    with pytest.raises(ConfigError, match="COURIER_CLOUDWATCH_PREFIX"):
        Settings.from_env({**env, "COURIER_CLOUDWATCH_PREFIX": "a//b"})
