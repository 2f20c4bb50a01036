"""Recorded answers (``POST /_sandbox/recorded``): a published example answer served, as
is, in place of the emulator's own, after the request's signature was checked."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from sandbox import Sandbox
from tests.integration.sandbox.sandbox_support import describe, make_cls

LISTED = {"Exports": [{"ExportId": "export-57196a6a", "Status": "Completed"}],
          "TotalCount": 1, "RequestId": "6ef60bec-0242-43af-bb20-270359fb54a7"}


def post(sb: Sandbox, body: Any) -> requests.Response:
    return requests.post(f"{sb.url}/_sandbox/recorded", json=body, timeout=10)


def test_the_next_answers_are_the_recorded_one_then_the_emulator_again(sb: Sandbox) -> None:
    assert post(sb, {"action": "DescribeExports", "response": LISTED, "times": 2}).ok
    cls = make_cls(sb)
    for _ in range(2):
        answer = describe(cls)
        assert [e.ExportId for e in answer.Exports] == ["export-57196a6a"]
        assert answer.RequestId == LISTED["RequestId"]  # kept as recorded
    assert describe(cls).TotalCount == 0  # the emulator's own answer again


def test_every_answer_until_cleared_and_only_for_its_service(sb: Sandbox) -> None:
    assert post(sb, {"action": "DescribeExports", "response": LISTED, "service": "cls"}).ok
    cls = make_cls(sb)
    assert describe(cls).TotalCount == 1 and describe(cls).TotalCount == 1
    assert post(sb, {"clear": True}).ok
    assert describe(cls).TotalCount == 0
    sb.recorded.add("DescribeExports", LISTED, service="mongodb")
    assert describe(cls).TotalCount == 0


def test_an_unsigned_request_still_gets_the_signature_error(sb: Sandbox) -> None:
    sb.recorded.add("DescribeExports", LISTED)
    with pytest.raises(TencentCloudSDKException) as err:
        describe(make_cls(sb, secret_key="wrong-key"))
    assert err.value.code.startswith("AuthFailure")


@pytest.mark.parametrize(("body", "says"), [
    ({"response": LISTED}, "action"),
    ({"action": "DescribeExports", "response": []}, "response object"),
    ({"action": "DescribeExports", "response": {}, "times": 0}, "times"),
])
def test_a_bad_recording_is_refused_saying_why(sb: Sandbox, body: Any, says: str) -> None:
    reply = post(sb, body)
    assert reply.status_code == 400 and says in reply.json()["error"]
