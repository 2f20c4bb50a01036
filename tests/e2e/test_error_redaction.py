"""Error texts say what is wrong without the secret a driver or a vendor quoted: a PostgreSQL
DSN whose password libpq quotes back (written in the environment or read from Secrets
Manager on moto, against the real PostgreSQL), and a CLS refusal quoting a presigned COS URL
(the sandbox), through the real handlers: the answer, GET, the webhook and the logs."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
import pytest

from tests import servers
from tests.e2e.helpers import call, cls_body, post, tick
from tests.events import load_event

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moto_server() -> Iterator[servers.MotoServer]:
    handle = servers.require(servers.start_moto)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.mark.parametrize("where", ["environment", "secretsmanager"])
def test_a_driver_error_quoting_the_dsn_password_reaches_no_answer_and_no_log(
        where: str, handlers_env: dict[str, str], moto_server: servers.MotoServer,
        api_key: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    from functions import common

    plain = urlsplit(servers.require(servers.postgres_url))
    # libpq refuses the malformed percent-encoding and quotes the password in its error
    password = "pw%zz-" + api_key[-10:]
    dsn = urlunsplit(plain._replace(netloc=f"{plain.username}:{password}@{plain.hostname}:"
                                           f"{plain.port}"))
    if where == "secretsmanager":
        moto_server.reset()
        for name, value in {**servers.aws_test_env(), "AWS_REGION": "us-east-1",
                            "COURIER_AWS_SECRETS_ENDPOINT": moto_server.url}.items():
            monkeypatch.setenv(name, value)
        boto3.client("secretsmanager", endpoint_url=moto_server.url,
                     region_name="us-east-1").create_secret(
            Name="courier/db", SecretString=json.dumps({"dsn": dsn}))
        monkeypatch.setenv("COURIER_STATE_URL", "secretsmanager:courier/db#dsn")
    else:
        monkeypatch.setenv("COURIER_STATE_URL", dsn)
    common.reset()
    caplog.set_level(logging.DEBUG)

    status, problem = post(api_key, cls_body())
    listed = call(load_event("aws_function_url_get_export", path="/exports",
                             headers={"x-api-key": api_key}))

    assert status == 503 and listed[0] == 503
    assert problem["error"] == "state_unavailable"
    # the answer still names the problem: which store, and what the driver refused
    assert "postgresql state store" in problem["detail"]
    assert "invalid percent-encoded token" in problem["detail"]
    # in words, without the driver's exception class name
    assert not re.search(r"\b[A-Z]\w*(Error|Exception)\b", problem["detail"]), problem
    out = capsys.readouterr()
    # the function's log says what the answer said (its JSON lines go to stdout)
    logged = [json.loads(line) for line in out.out.splitlines() if line.startswith("{")]
    assert any("503 state_unavailable" in line["message"]
               and "invalid percent-encoded token" in line["message"] for line in logged)
    text = "\n".join([json.dumps(problem), json.dumps(listed[1]), out.out, out.err,
                      caplog.text, *(r.getMessage() for r in caplog.records)])
    assert password not in text and "zz-" not in text


PRESIGNED = ("https://b-1250000000.cos.ap-guangzhou.myqcloud.com/x.csv?q-sign-algorithm=sha1"
             "&q-ak=AKIDquotedbythevendor&q-sign-time=1&q-key-time=1&q-header-list="
             "&q-url-param-list=&q-signature=5e1f0c9a77d2b3")


def test_a_vendor_message_quoting_a_presigned_url_loses_its_signature_everywhere(
        handlers_env: dict[str, str], sandbox: Any, receiver: Any, api_key: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    sandbox.faults.add(service="cls", action="CreateExport", code="InvalidParameter",
                       message=f"cannot write to {PRESIGNED}: AccessDenied", times=1)
    status, refused = post(api_key, cls_body())
    export_id = refused["export"]["id"]
    shown = call(load_event("aws_function_url_get_export", path=f"/exports/{export_id}",
                            headers={"x-api-key": api_key}))[1]
    tick()  # delivers export.failed
    deadline = time.monotonic() + 10
    while not receiver.received and time.monotonic() < deadline:
        time.sleep(0.1)

    assert status == 422 and refused["error"] == "provider_refused"
    assert shown["state"] == "failed" and refused["detail"] == shown["error"]["reason"]
    reason = shown["error"]["reason"]
    assert "cannot write to https://b-1250000000.cos.ap-guangzhou.myqcloud.com/x.csv?" in reason
    assert "AccessDenied" in reason  # still says what went wrong
    [hook] = [r.payload for r in receiver.received]
    assert hook["type"] == "export.failed" and hook["data"]["reason"] == reason
    text = "\n".join([json.dumps(refused), json.dumps(shown), json.dumps(hook),
                      *capsys.readouterr()])
    assert "5e1f0c9a77d2b3" not in text and "AKIDquotedbythevendor" not in text
