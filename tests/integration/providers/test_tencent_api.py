"""TencentApi: one call path for every Tencent provider, through the SDK's own
``call_json`` (no typed response model built and serialised back), against the sandbox in
strict conformance mode. The request is still the SDK model's serialisation, the answer
the JSON the service sent, and every failure the same ``ProviderError`` as the typed
methods gave (code, request id, retryable, throttled)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from tencentcloud.cls.v20201016 import cls_client, models

from sandbox import Sandbox
from shared.config import TencentSettings
from shared.errors import ProviderError
from shared.pacing import RateLimiter
from shared.providers.tencent import TencentApi

TOPIC = "topic-api"
EXPORT = {"TopicId": TOPIC, "From": 1_700_000_000_000, "To": 1_700_000_600_000,
          "Query": "*", "Count": 1000, "Order": "desc", "Format": "json", "SyntaxRule": 1}


class Budget(RateLimiter):
    """A per-process budget that notes the actions reported as throttled."""

    def __init__(self) -> None:
        super().__init__(rate=1000)
        self.throttles: list[str] = []

    def throttled(self, action: str) -> None:
        self.throttles.append(action)
        super().throttled(action)


@pytest.fixture
def api(tencent: TencentSettings) -> TencentApi:
    return TencentApi.build("cls", "cls", cls_client.ClsClient, models, tencent, Budget())


def without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_none(v) for v in value]
    return value


def test_the_answer_is_what_the_typed_method_reads(api: TencentApi) -> None:
    # GIVEN an export at the sandbox's CLS
    made = api.call("CreateExport", dict(EXPORT))
    assert made.get("ExportId") and made.get("RequestId")
    # WHEN the topic is listed through the API and through the SDK's typed method
    listed = api.call("DescribeExports", {"TopicId": TOPIC, "Offset": 0, "Limit": 100})
    request = models.DescribeExportsRequest()
    request.from_json_string(json.dumps({"TopicId": TOPIC, "Offset": 0, "Limit": 100}))
    typed = json.loads(api.client.DescribeExports(request).to_json_string())
    # THEN both hold the same fields and values (the typed model only adds None for the
    # fields the answer left out); the request id differs per call
    listed.pop("RequestId")
    typed.pop("RequestId")
    assert without_none(listed) == without_none(typed)
    assert [e.get("Count") for e in listed["Exports"]] == [1000]
    assert api.calls == {"CreateExport": 1, "DescribeExports": 1}


def test_the_request_is_the_sdk_models(api: TencentApi, sb: Sandbox) -> None:
    # A field the model does not have, and a None, are left out as the typed call left them
    # (the strict sandbox refuses a request field outside the SDK model)
    with pytest.warns(UserWarning, match="Bogus"):
        page = api.call("DescribeExports", {"TopicId": TOPIC, "Offset": 0, "Limit": 100,
                                            "Bogus": 1, "Filters": None})
    assert page.get("TotalCount") == 0 and page.get("Exports") == []
    # a value of the wrong type still goes through the model as it is, and is refused
    with pytest.raises(ProviderError) as info:
        api.call("DescribeExports", {"TopicId": TOPIC, "Offset": 0, "Limit": "x"})
    assert info.value.code.startswith("InvalidParameter") and not info.value.retryable
    assert info.value.request_id


@pytest.mark.parametrize(("code", "retryable", "throttled"), [
    ("RequestLimitExceeded", True, True),
    ("FailedOperation.ReadQpsLimit", True, True),
    ("InternalError.ServerError", True, False),
    ("ResourceNotFound.TopicNotExist", False, False),
    ("AuthFailure.SignatureFailure", False, False),
], ids=["throttled", "qps", "internal", "not-found", "auth"])
def test_vendor_errors_map_by_code(api: TencentApi, sb: Sandbox, code: str, retryable: bool,
                                   throttled: bool) -> None:
    sb.faults.add("cls", "DescribeExports", kind="error", code=code, message="refused")
    with pytest.raises(ProviderError) as info:
        api.call("DescribeExports", {"TopicId": TOPIC, "Offset": 0, "Limit": 100})
    error = info.value
    assert (error.code, error.retryable) == (code, retryable)
    assert error.request_id  # the answer's RequestId, as the typed call gave it
    assert error.retry_after == (1.0 if throttled else None)
    assert api.limiter.throttles == (["DescribeExports"] if throttled else [])  # type: ignore[attr-defined]


@pytest.mark.parametrize(("kind", "code"), [
    ("http_status", "ServerNetworkError"),
    ("drop", "ClientNetworkError"),
], ids=["http-502", "dropped"])
def test_transport_failures_keep_their_sdk_codes(api: TencentApi, sb: Sandbox, kind: str,
                                                 code: str) -> None:
    sb.faults.add("cls", "DescribeExports", kind=kind)
    with pytest.raises(ProviderError) as info:
        api.call("DescribeExports", {"TopicId": TOPIC, "Offset": 0, "Limit": 100})
    assert info.value.code == code and info.value.retryable


def test_an_unreadable_answer_is_named_as_the_typed_call_named_it(api: TencentApi,
                                                                   sb: Sandbox) -> None:
    # HTTP 200 with an HTML body (a gateway's page): the typed call raised JSONDecodeError
    sb.faults.add("cls", "DescribeExports", kind="http_status", status=200)
    with pytest.raises(ProviderError) as info:
        api.call("DescribeExports", {"TopicId": TOPIC, "Offset": 0, "Limit": 100})
    assert info.value.code == "JSONDecodeError" and info.value.retryable


def test_no_secret_in_the_sdk_debug_log(api: TencentApi, tencent: TencentSettings,
                                        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        api.call("DescribeExports", {"TopicId": TOPIC, "Offset": 0, "Limit": 100})
        with pytest.raises(ProviderError):  # and on a refusal
            api.call("DescribeExports", {"TopicId": TOPIC, "Offset": 0, "Limit": "x"})
    assert tencent.secret_key and tencent.secret_key not in caplog.text


@pytest.mark.off_model("Response.Error: not in the SDK model")
def test_an_error_without_its_code_is_read_as_the_sdk_read_it(api: TencentApi,
                                                              sb: Sandbox) -> None:
    # the SDK's _check_error indexes Error.Code: a malformed error was a KeyError (in doubt,
    # retryable), never a success or an unknown code
    sb.recorded.add("DescribeExports", {"Error": {"Message": "no code"}, "RequestId": "r-1"})
    with pytest.raises(ProviderError) as info:
        api.call("DescribeExports", {"TopicId": TOPIC, "Offset": 0, "Limit": 100})
    assert info.value.code == "KeyError" and info.value.retryable
    sb.recorded.clear()


@pytest.mark.off_model("Response.DeprecatedWarning: not in the SDK model")
def test_a_deprecated_action_is_logged_once(api: TencentApi, sb: Sandbox,
                                            caplog: pytest.LogCaptureFixture) -> None:
    sb.recorded.add("DescribeExports", {"Exports": [], "TotalCount": 0, "RequestId": "r-2",
                                        "DeprecatedWarning": "use DescribeExportsV2"}, times=2)
    with caplog.at_level(logging.WARNING, logger="shared.providers.tencent"):
        for _ in range(2):
            answer = api.call("DescribeExports", {"TopicId": TOPIC, "Offset": 0, "Limit": 100})
            assert answer["TotalCount"] == 0
    said = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]
    assert said == ["cls DescribeExports is deprecated by the vendor: use DescribeExportsV2"]
