"""Poll hands ready exports to complete: real SDKs over real HTTP on 127.0.0.1.

* Lambda: boto3 against moto's server (the docker-free Lambda backend) for the round trip, and
  against a small recording endpoint for the exact wire request and the error answers.
* SCF: tencentcloud-sdk-python-scf against a local endpoint that verifies TC3 signatures.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

import boto3
import pytest
from botocore.config import Config

from shared.config import Settings
from shared.errors import ConfigError, CourierError
from shared.runtime.dispatch import (
    DispatchError,
    InlineDispatcher,
    LambdaDispatcher,
    ScfDispatcher,
    ScfTarget,
    make_dispatcher,
)
from tests import servers
from tests.events import load_event
from tests.integration.deploy.tc3_endpoint import tc3_endpoint

pytestmark = pytest.mark.integration

EXPORT_ID = load_event("aws_async_complete")["export_id"]
FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1"}
FAST = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=2, read_timeout=5)


def settings(**values: Any) -> Settings:
    return Settings(profile="sandbox", auth="none", **values)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAKE_AWS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


# --------------------------------------------------------------------------- inline / config


def test_inline_completes_in_the_same_invocation() -> None:
    done: list[str] = []
    dispatcher = make_dispatcher(settings(), inline=done.append)
    assert isinstance(dispatcher, InlineDispatcher)
    dispatcher.dispatch(EXPORT_ID)
    assert done == [EXPORT_ID]


@pytest.mark.parametrize("values, message", [
    ({"dispatch": "lambda"}, "COURIER_COMPLETE_FUNCTION"),
    ({"dispatch": "scf", "complete_function": "complete"}, "TENCENTCLOUD_SECRETID"),
    ({"dispatch": "sqs", "complete_function": "complete"}, "COURIER_DISPATCH"),
], ids=["lambda-without-target", "scf-without-credentials", "unknown-mode"])
def test_bad_dispatch_settings_fail_at_cold_start(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_dispatcher(settings(**values), inline=lambda _id: None)


@pytest.mark.parametrize("text, expected", [
    ("complete", ScfTarget("complete", "default", None)),
    ("courier/complete", ScfTarget("complete", "courier", None)),
    ("courier/complete:live", ScfTarget("complete", "courier", "live")),
], ids=["name", "namespace", "qualifier"])
def test_scf_target_names(text: str, expected: ScfTarget) -> None:
    assert ScfTarget.parse(text) == expected


# --------------------------------------------------------------------------- Lambda via moto


@pytest.fixture
def moto_url(aws_env: None) -> Iterator[str]:
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    import requests

    # Lambda's Invoke needs docker in moto's full backend; the simple backend accepts the
    # invocation as Lambda does (202 for Event) without running anything.
    requests.post(f"{url}/moto-api/config", json={"lambda": {"use_docker": False}}, timeout=5)
    try:
        yield url
    finally:
        requests.post(f"{url}/moto-api/config", json={"lambda": {"use_docker": True}},
                      timeout=5)
        server.stop()


def _create_function(url: str, name: str) -> str:
    iam = boto3.client("iam", endpoint_url=url, config=FAST)
    trust = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                            "Principal": {"Service": "lambda.amazonaws.com"}}]}
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(trust))
    lam = boto3.client("lambda", endpoint_url=url, config=FAST)
    created = lam.create_function(
        FunctionName=name, Runtime="python3.13", Role=role["Role"]["Arn"],
        Handler="functions/complete_export.handler", Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18})
    return str(created["FunctionArn"])


def test_lambda_event_invoke_is_accepted_by_moto(moto_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    arn = _create_function(moto_url, "export-courier-complete")
    # GIVEN the endpoint comes from the environment, as boto3 reads it on a real deployment
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", moto_url)
    dispatcher = make_dispatcher(settings(dispatch="lambda", complete_function=arn),
                                 inline=lambda _id: pytest.fail("must not run inline"))
    assert isinstance(dispatcher, LambdaDispatcher)
    # WHEN poll hands over an export THEN Lambda queues it (202) and nothing is raised
    dispatcher.dispatch(EXPORT_ID)
    client = dispatcher.client
    assert client.invoke(FunctionName=arn, InvocationType="Event",
                         Payload="{}")["StatusCode"] == 202


# --------------------------------------------------------------------------- Lambda wire format


@contextmanager
def lambda_endpoint(status: int = 202, error: str | None = None) -> Iterator[dict[str, Any]]:
    seen: dict[str, Any] = {"requests": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen["requests"].append({"path": self.path, "headers": dict(self.headers.items()),
                                     "body": body})
            data = b"" if error is None else json.dumps({"Type": "User", "message": error}).encode()
            self.send_response(status)
            self.send_header("x-amzn-RequestId", "req-123")
            if error is not None:
                self.send_header("x-amzn-ErrorType", error)
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    with servers.serving(Handler) as url:
        seen["url"] = url
        yield seen


def test_lambda_request_is_a_signed_event_invoke_with_only_the_export_id(aws_env: None) -> None:
    with lambda_endpoint() as seen:
        client = boto3.client("lambda", endpoint_url=seen["url"], config=FAST)
        LambdaDispatcher("export-courier-prod-complete", client).dispatch(EXPORT_ID)
    (request,) = seen["requests"]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert request["path"] == "/2015-03-31/functions/export-courier-prod-complete/invocations"
    assert headers["x-amz-invocation-type"] == "Event"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert "/us-east-1/lambda/aws4_request" in headers["authorization"]
    assert json.loads(request["body"]) == {"export_id": EXPORT_ID}


@pytest.mark.parametrize("status, code, retryable", [
    (429, "TooManyRequestsException", True),
    (500, "ServiceException", True),
    (502, "ResourceNotReadyException", True),
    (404, "ResourceNotFoundException", False),
    (403, "AccessDeniedException", False),
    (413, "RequestTooLargeException", False),
], ids=["throttled", "service", "not-ready", "no-function", "denied", "too-large"])
def test_lambda_errors_become_dispatch_errors(aws_env: None, status: int, code: str,
                                              retryable: bool) -> None:
    with lambda_endpoint(status, code) as seen:
        client = boto3.client("lambda", endpoint_url=seen["url"], config=FAST)
        with pytest.raises(DispatchError) as caught:
            LambdaDispatcher("complete", client).dispatch(EXPORT_ID)
    assert isinstance(caught.value, CourierError)
    assert (caught.value.code, caught.value.retryable) == (code, retryable)
    assert caught.value.__cause__ is not None


def test_lambda_unreachable_is_retryable(aws_env: None) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        client = boto3.client("lambda", endpoint_url=url, config=FAST)
        with pytest.raises(DispatchError) as caught:
            LambdaDispatcher("complete", client).dispatch(EXPORT_ID)
    assert caught.value.retryable


# --------------------------------------------------------------------------- SCF


def _invoke_ok(body: dict[str, Any]) -> dict[str, Any]:
    # The async answer: a Result whose run-time fields are empty, and the function request id.
    return {"Result": {"Log": "", "RetMsg": "", "ErrMsg": "", "MemUsage": 0, "Duration": 0,
                       "BillDuration": 0, "InvokeResult": 0,
                       "FunctionRequestId": "f0e1d2c3-b4a5-4697-8899-aabbccddeeff"}}


def _scf_settings(url: str, **values: Any) -> Settings:
    return Settings.from_env({
        "COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none", "COURIER_DISPATCH": "scf",
        "COURIER_TENCENT_ENDPOINT": url, "TENCENTCLOUD_SECRETID": "AKIDcourier",
        "TENCENTCLOUD_SECRETKEY": "courier-secret", "TENCENTCLOUD_SESSIONTOKEN": "role-token",
        "TENCENTCLOUD_REGION": "ap-shanghai", **values})


def test_scf_async_invoke_carries_the_payload_as_client_context() -> None:
    with tc3_endpoint({"AKIDcourier": "courier-secret"}) as api:
        api.answers["Invoke"] = _invoke_ok
        config = _scf_settings(api.url, COURIER_COMPLETE_FUNCTION="courier/complete:live")
        dispatcher = make_dispatcher(config, inline=lambda _id: pytest.fail("not inline"))
        assert isinstance(dispatcher, ScfDispatcher)
        dispatcher.dispatch(EXPORT_ID)
    (request,) = api.requests
    assert (request.action, request.version, request.service) == ("Invoke", "2018-04-16", "scf")
    assert (request.region, request.token) == ("ap-shanghai", "role-token")
    assert request.body == {"FunctionName": "complete", "Namespace": "courier",
                            "Qualifier": "live", "InvocationType": "Event",
                            "ClientContext": json.dumps({"export_id": EXPORT_ID},
                                                        separators=(",", ":"))}
    # the complete function receives ClientContext as its event
    assert json.loads(request.body["ClientContext"]) == load_event("scf_async_complete")


@pytest.mark.parametrize("code, retryable", [
    ("RequestLimitExceeded", True),
    ("InternalError.System", True),
    ("ResourceNotFound.Function", False),
    ("InvalidParameterValue.ClientContext", False),
    ("UnauthorizedOperation.CAM", False),
], ids=["throttled", "internal", "no-function", "bad-payload", "no-permission"])
def test_scf_errors_become_dispatch_errors(code: str, retryable: bool) -> None:
    with tc3_endpoint({"AKIDcourier": "courier-secret"}) as api:
        api.answers["Invoke"] = lambda _body: {"Error": {"Code": code, "Message": "nope"}}
        dispatcher = ScfDispatcher.build(_scf_settings(api.url, COURIER_COMPLETE_FUNCTION="c"))
        with pytest.raises(DispatchError) as caught:
            dispatcher.dispatch(EXPORT_ID)
    assert (caught.value.code, caught.value.retryable) == (code, retryable)
    assert caught.value.request_id
    assert caught.value.__cause__ is not None


def test_scf_wrong_secret_is_rejected_by_the_signature_check() -> None:
    with tc3_endpoint({"AKIDcourier": "a-different-secret"}) as api:
        api.answers["Invoke"] = _invoke_ok
        dispatcher = ScfDispatcher.build(_scf_settings(api.url, COURIER_COMPLETE_FUNCTION="c"))
        with pytest.raises(DispatchError) as caught:
            dispatcher.dispatch(EXPORT_ID)
    assert caught.value.code == "AuthFailure.SignatureFailure"
    assert not caught.value.retryable
    assert api.requests == []
