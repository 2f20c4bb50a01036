"""deploy.toolkit.model_problems: a request is held to tencentcloud-sdk-python-scf's model —
unknown fields and wrong types are named, down into nested types."""

from __future__ import annotations

from typing import Any

import pytest

from deploy.toolkit import model_problems

GOOD: dict[str, Any] = {
    "Action": "CreateFunction", "Version": "2018-04-16", "FunctionName": "f1", "Handler": "a.b",
    "MemorySize": 256, "Code": {"CosBucketName": "b", "CosObjectName": "/k.zip"},
    "Environment": {"Variables": [{"Key": "A", "Value": "1"}]},
    "VpcConfig": {"VpcId": "vpc-1", "SubnetId": "subnet-1"},
}


def test_a_request_the_model_takes() -> None:
    assert model_problems(GOOD) == []


@pytest.mark.parametrize("change, expected", [
    ({"MemorySize": "256"}, "CreateFunction.MemorySize: str '256', expected int"),
    ({"MemorySize": True}, "CreateFunction.MemorySize: bool True, expected int"),
    ({"DiskSize": 512}, "CreateFunction.DiskSize: not a field of CreateFunctionRequest"),
    ({"Code": {"Bucket": "b"}}, "CreateFunction.Code.Bucket: not a field of Code"),
    ({"Environment": {"Variables": [{"Key": "A", "Value": 1}]}},
     "CreateFunction.Environment.Variables[0].Value: int 1, expected str"),
    ({"Environment": {"Variables": {"A": "1"}}},
     "CreateFunction.Environment.Variables: dict, expected a list"),
    ({"VpcConfig": "vpc-1"}, "CreateFunction.VpcConfig: str, expected an object (VpcConfig)"),
    ({"Action": "CreateFunctions"}, "CreateFunctions: no CreateFunctionsRequest in the SDK"),
    ({"Version": "2018-01-01"}, "Version '2018-01-01'"),
], ids=["str-for-int", "bool-for-int", "unknown", "nested-unknown", "list-item", "not-a-list",
        "not-an-object", "no-action", "version"])
def test_what_the_model_refuses_is_named(change: dict[str, Any], expected: str) -> None:
    problems = model_problems({**GOOD, **change})
    assert any(expected in p for p in problems), problems
