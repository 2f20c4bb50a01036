"""TC3-HMAC-SHA256 checks, the error body shape and routing, through the real SDK."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests
from tencentcloud.common import abstract_client
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from sandbox import Sandbox
from tests.integration.sandbox.sandbox_support import create, describe, make_cls, make_common


def code_of(call: Any) -> str:
    with pytest.raises(TencentCloudSDKException) as err:
        call()
    return err.value.code


def test_wrong_key_is_a_signature_failure(sb: Sandbox) -> None:
    bad = make_cls(sb, secret_key="not-the-key")
    assert code_of(lambda: create(bad)) == "AuthFailure.SignatureFailure"
    assert sb.calls[("cls", "CreateExport")] == 1  # answered, though refused


def test_unknown_secret_id(sb: Sandbox) -> None:
    stranger = make_cls(sb, secret_id="AKIDnobody")
    assert code_of(lambda: describe(stranger)) == "AuthFailure.SecretIdNotFound"


def test_stale_timestamp_is_expired(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    class Skewed:
        @staticmethod
        def time() -> float:
            return time.time() - 301

    monkeypatch.setattr(abstract_client, "time", Skewed)
    assert code_of(lambda: describe(make_cls(sb))) == "AuthFailure.SignatureExpire"


def test_session_token_is_accepted(sb: Sandbox) -> None:
    assert describe(make_cls(sb, token="temporary-session-token")).TotalCount == 0


@pytest.mark.parametrize("authorization", [None, "garbage", "TC3-HMAC-SHA256 Credential=x"],
                         ids=["missing", "garbled", "truncated"])
def test_bad_authorization_header(sb: Sandbox, authorization: Any) -> None:
    headers = {"Content-Type": "application/json", "X-TC-Action": "DescribeExports",
               "X-TC-Version": "2020-10-16", "X-TC-Timestamp": str(int(time.time()))}
    if authorization:
        headers["Authorization"] = authorization
    resp = requests.post(sb.url + "/", data=json.dumps({"TopicId": "topic-a"}),
                         headers=headers, timeout=5)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"  # exactly: no charset
    body = resp.json()["Response"]
    assert body["Error"]["Code"] == "AuthFailure.InvalidAuthorization"
    assert body["RequestId"]


def test_success_body_shape(sb: Sandbox) -> None:
    raw = make_common(sb, "cls", "2020-10-16").call_json("DescribeExports",
                                                         {"TopicId": "topic-a"})
    assert set(raw["Response"]) == {"Exports", "TotalCount", "RequestId"}


def test_unknown_action_and_version(sb: Sandbox) -> None:
    common = make_common(sb, "cls", "2020-10-16")
    assert code_of(lambda: common.call_json("DescribeNothing", {})) == "InvalidAction"
    other = make_common(sb, "cls", "2019-01-01")
    assert code_of(lambda: other.call_json("DescribeExports", {"TopicId": "topic-a"})
                   ) == "InvalidAction"
    unknown = make_common(sb, "nosuchservice", "2020-01-01")
    assert code_of(lambda: unknown.call_json("DescribeThings", {})) == "InvalidAction"


def test_get_requests_are_signed_over_the_query(sb: Sandbox) -> None:
    from tencentcloud.common import credential
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    prof = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=sb.endpoint,
                                                 reqMethod="GET"))
    client = CommonClient("cls", "2020-10-16", credential.Credential(*sb.credentials),
                          "ap-guangzhou", prof)
    out = client.call_json("DescribeExports", {"TopicId": "topic-a", "Limit": 5})
    assert out["Response"]["TotalCount"] == 0
