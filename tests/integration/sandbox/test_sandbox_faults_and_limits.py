"""Fault injection (in process and over HTTP) and the per-action rate limit."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from sandbox import Sandbox
from tests.integration.sandbox.sandbox_support import create, describe, make_cls


def code_of(call: Any) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        call()
    return err.value.code


def test_injected_error_then_recovery(sb: Sandbox, cls: Any) -> None:
    sb.faults.add(service="cls", action="DescribeExports", kind="error", code="InternalError",
                  times=2)
    assert code_of(lambda: describe(cls)) == "InternalError"
    assert code_of(lambda: describe(cls)) == "InternalError"
    assert describe(cls).TotalCount == 0
    assert sb.calls[("cls", "DescribeExports")] == 3


def test_faults_only_hit_their_action(sb: Sandbox, cls: Any) -> None:
    sb.faults.add(service="cls", action="CreateExport", kind="error",
                  code="LimitExceeded.Export", message="too many exports")
    assert describe(cls).TotalCount == 0
    with pytest.raises(TencentCloudSDKException) as err:
        create(cls)
    assert (err.value.code, err.value.message) == ("LimitExceeded.Export", "too many exports")
    assert create(cls)


def test_dropped_connection(sb: Sandbox, cls: Any) -> None:
    sb.faults.add(service="cls", action="DescribeExports", kind="drop")
    assert code_of(lambda: describe(cls)) == "ClientNetworkError"
    assert describe(cls).TotalCount == 0


def test_http_status_fault(sb: Sandbox, cls: Any) -> None:
    sb.faults.add(service="cls", action="DescribeExports", kind="http_status", status=502)
    assert code_of(lambda: describe(cls)) == "ServerNetworkError"


def test_slow_fault_delays_then_answers(sb: Sandbox, cls: Any) -> None:
    sb.faults.add(service="cls", action="DescribeExports", kind="slow", delay=0.3)
    started = time.monotonic()
    assert describe(cls).TotalCount == 0
    assert time.monotonic() - started >= 0.3


def test_slow_fault_beyond_client_timeout(sb: Sandbox) -> None:
    sb.faults.add(service="cls", action="DescribeExports", kind="slow", delay=1.5)
    assert code_of(lambda: describe(make_cls(sb, timeout=1))) == "ClientNetworkError"


def test_faults_over_http(sb: Sandbox, cls: Any) -> None:
    resp = requests.post(sb.url + "/_sandbox/faults", timeout=5, json={
        "service": "cls", "action": "DescribeExports", "kind": "error",
        "code": "ResourceUnavailable", "times": 1})
    assert resp.status_code == 200
    assert code_of(lambda: describe(cls)) == "ResourceUnavailable"
    assert describe(cls).TotalCount == 0
    bad = requests.post(sb.url + "/_sandbox/faults", json={"kind": "explode"}, timeout=5)
    assert bad.status_code == 400


def test_rate_limit_per_action(sb: Sandbox, cls: Any) -> None:
    sb.rate_limit = 5
    codes = []
    for _ in range(8):
        try:
            describe(cls)
            codes.append("ok")
        except TencentCloudSDKException as exc:
            codes.append(exc.code)
    assert codes[:5] == ["ok"] * 5
    assert "RequestLimitExceeded" in codes[5:]
    assert create(cls)  # another action has its own window
    time.sleep(1.05)
    assert describe(cls).TotalCount == 1


def test_default_rate_limit_is_twenty(sb: Sandbox) -> None:
    assert sb.rate_limit == 20
