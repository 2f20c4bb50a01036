"""The TC3 common parameters a signature does not cover: X-TC-Region where the API requires
it, X-TC-Token with temporary (role) keys. Through the real SDKs (issue 18 row 7)."""

from __future__ import annotations

from typing import Any, Optional

import pytest
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from sandbox import Sandbox
from tests.integration.sandbox.sandbox_support import profile

# one cheap read per service: (service, version, action, params)
READS = {
    "cls": ("2020-10-16", "DescribeExports", {"TopicId": "topic-a"}),
    "dlc": ("2021-01-25", "DescribeTasks", {"Limit": 1}),
    "mongodb": ("2019-07-25", "DescribeLogDownloadTasks", {"InstanceId": "cmgo-abc"}),
    "tcss": ("2020-11-01", "DescribeExportJobResult", {"JobId": "no-such-job"}),
}


def call(sb: Sandbox, service: str, region: str = "ap-guangzhou",
         keys: Optional[tuple[str, str, Optional[str]]] = None) -> Any:
    version, action, params = READS[service]
    secret_id, secret_key, token = keys or (*sb.credentials, None)
    client = CommonClient(service, version, credential.Credential(secret_id, secret_key, token),
                          region, profile(sb))
    return client.call_json(action, params)


def code_of(fn: Any) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        fn()
    return str(err.value.code)


@pytest.mark.parametrize("service", ["dlc", "mongodb"])
def test_a_regional_api_refuses_a_request_without_region(sb: Sandbox, service: str) -> None:
    # the SDK leaves X-TC-Region out when the client's region is empty
    assert code_of(lambda: call(sb, service, region="")) == "MissingParameter"
    assert "Response" in call(sb, service)  # with a region: answered


def test_cls_takes_a_request_without_region(sb: Sandbox) -> None:
    # CLS API pages (e.g. CreateExport, 614/42798): "Region: No … not required for this API"
    assert call(sb, "cls", region="")["Response"]["TotalCount"] == 0


def test_tcss_takes_no_region(sb: Sandbox) -> None:
    # TCSS pages: "Region: No — This parameter is not required"; the answer is the job's
    # own not-found, not a missing parameter
    assert code_of(lambda: call(sb, "tcss", region="")) != "MissingParameter"


def test_the_region_rule_can_be_switched_off(sb: Sandbox) -> None:
    sb.regional_services.discard("dlc")
    assert "Response" in call(sb, "dlc", region="")


@pytest.mark.parametrize("service", sorted(READS))
def test_role_keys_work_only_with_their_token(sb: Sandbox, service: str) -> None:
    secret_id, secret_key, token = sb.issue_role_keys()
    try:
        call(sb, service, keys=(secret_id, secret_key, token))
    except TencentCloudSDKException as exc:  # TCSS: the unknown job, past authentication
        assert not exc.code.startswith("AuthFailure"), exc.code
    assert code_of(lambda: call(sb, service, keys=(secret_id, secret_key, None))
                   ) == "AuthFailure.TokenFailure"
    assert code_of(lambda: call(sb, service, keys=(secret_id, secret_key, "other-token"))
                   ) == "AuthFailure.TokenFailure"


def test_role_keys_expire(sb: Sandbox) -> None:
    keys = sb.issue_role_keys(ttl_s=60)
    assert "Response" in call(sb, "dlc", keys=keys)
    sb.clock.advance(61)
    assert code_of(lambda: call(sb, "dlc", keys=keys)) == "AuthFailure.TokenFailure"


def test_a_permanent_key_needs_no_token(sb: Sandbox) -> None:
    assert call(sb, "dlc")["Response"]["TotalCount"] == 0
