"""A full round trip with every log line captured: no secret may appear in any of them."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.e2e.helpers import call, cls_body, post, until_terminal
from tests.events import load_event


@pytest.mark.usefixtures("handlers_env")
def test_logs_and_answers_carry_no_secrets(sandbox: Any, receiver: Any, api_key: str,
                                           webhook_secret: str, caplog: pytest.LogCaptureFixture,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    _, secret_key = sandbox.credentials
    answers = []
    status, created = post(api_key, cls_body())
    answers.append(created)
    answers.append(post("wrong-" + api_key, cls_body())[1])
    task = until_terminal(created["id"], api_key, sandbox)
    answers.append(task)
    answers.append(call(load_event("scf_apigw_get_export", path="/exports",
                                   headers={"x-api-key": api_key}))[1])
    assert task["state"] == "delivered"

    out = capsys.readouterr()
    text = "\n".join([out.out, out.err, caplog.text,
                      *(r.getMessage() for r in caplog.records), *map(str, answers)])
    # the run did log: the functions' JSON lines on stdout (the ``shared`` loggers write
    # there once set up, not to caplog)
    assert out.out.count('"level":') > 5
    for secret in (api_key, secret_key, webhook_secret, webhook_secret[len("whsec_"):]):
        assert secret not in text
    assert "sign=" not in text  # presigned download links
    assert "Signature=" not in text  # request signatures
