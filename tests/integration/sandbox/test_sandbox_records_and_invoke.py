"""What the fault-injection run leans on: faults that lapse, the sandbox's log of what its
creates made (lost answers included), and SCF asynchronous Invoke through the real SDK."""

from __future__ import annotations

import base64
import io
import time
import zipfile
from typing import Any

import pytest
import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from sandbox import Sandbox
from sandbox.params import Params
from shared.config import Settings
from shared.runtime.dispatch import DispatchError, ScfDispatcher
from shared.vendor_settings import TencentSettings
from tests.integration.sandbox.sandbox_support import create, describe

pytestmark = pytest.mark.integration


def test_a_fault_with_a_ttl_lapses_unused(sb: Sandbox, cls: Any) -> None:
    sb.faults.add(service="cls", action="DescribeExports", kind="error", code="InternalError",
                  ttl=0.2)
    time.sleep(0.3)
    assert describe(cls).TotalCount == 0  # the incident passed before anybody asked
    assert len(sb.faults) == 0


def test_a_fault_with_a_ttl_hits_within_it_and_http_takes_ttl(sb: Sandbox, cls: Any) -> None:
    answer = requests.post(f"{sb.url}/_sandbox/faults", timeout=5, json={
        "service": "cls", "action": "DescribeExports", "kind": "error",
        "code": "InternalError", "ttl": 30})
    assert answer.status_code == 200
    with pytest.raises(TencentCloudSDKException) as err:
        describe(cls)
    assert err.value.code == "InternalError"


def test_made_logs_every_effective_create_and_no_refused_one(sb: Sandbox, cls: Any) -> None:
    sb.faults.add(service="cls", action="CreateExport", kind="error", code="InternalError")
    with pytest.raises(TencentCloudSDKException):
        create(cls, "topic-a", Query="first")
    sb.faults.add(service="cls", action="CreateExport", kind="lost_answer")
    with pytest.raises(TencentCloudSDKException):
        create(cls, "topic-a", Query="second")
    create(cls, "topic-a", Query="third")
    made = [(svc, action, data.get("Query")) for svc, action, data, _ in sb.made]
    assert made == [("cls", "CreateExport", "second"), ("cls", "CreateExport", "third")]
    assert set(sb.made[0][3]) == {"ExportId"}  # what the lost answer would have said


def _function(sb: Sandbox, name: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", "def main(event, context):\n    return event\n")
    sb.scf.create_function(Params({"FunctionName": name, "Handler": "index.main",
                                   "Runtime": "Python3.10",
                                   "Code": {"ZipFile": base64.b64encode(buf.getvalue()).decode()}}))


def _dispatcher(sb: Sandbox, target: str) -> ScfDispatcher:
    secret_id, secret_key = sb.credentials
    settings = Settings(profile="sandbox", auth="none", dispatch="scf", complete_function=target,
                        tencent=TencentSettings(secret_id=secret_id, secret_key=secret_key,
                                                endpoint=sb.url))
    return ScfDispatcher.build(settings)


def test_an_event_invoke_is_queued_for_the_function(sb: Sandbox) -> None:
    _function(sb, "courier-complete")
    dispatcher = _dispatcher(sb, "courier-complete")
    dispatcher.dispatch("exp_0123456789abcdef01234567")
    dispatcher.dispatch("exp_fedcba9876543210fedcba98")
    assert sb.scf.take_event("courier-complete") == {"export_id": "exp_0123456789abcdef01234567"}
    assert sb.scf.take_event("courier-complete") == {"export_id": "exp_fedcba9876543210fedcba98"}
    assert sb.scf.take_event("courier-complete") is None
    assert sb.calls[("scf", "Invoke")] == 2


def test_invoking_a_missing_function_is_refused_by_name(sb: Sandbox) -> None:
    with pytest.raises(DispatchError) as err:
        _dispatcher(sb, "nowhere").dispatch("exp_0123456789abcdef01234567")
    assert err.value.code == "ResourceNotFound.Function"
    assert not err.value.retryable
    assert sb.scf.take_event("nowhere") is None
