"""Logs an operator can read, as the functions write them (JSON lines on stdout): every line
about an export carries its ``export_id`` and ``provider`` as keys, through create, poll,
complete and its webhooks; a configuration warning comes once per cold start, not per tick."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.helpers import cls_body, post, tick, until_terminal

UNSIGNED = "no webhook secrets configured: deliveries are sent unsigned"


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.usefixtures("handlers_env")
def test_every_line_about_an_export_carries_its_id_and_provider(
        sandbox: Any, receiver: Any, api_key: str, capsys: pytest.CaptureFixture[str]) -> None:
    receiver.fail_next = 1  # the first webhook attempt fails: the retry is logged too
    status, created = post(api_key, cls_body())
    assert status == 202
    export_id = created["id"]
    assert until_terminal(export_id, api_key, sandbox)["state"] == "delivered"
    lines = json_lines(capsys.readouterr().out)

    deliveries = {r.webhook_id for r in receiver.received}
    about = [line for line in lines
             if any(i in str(line.get("message")) for i in (export_id, *deliveries))]
    said = " | ".join(str(line["message"]) for line in about)
    # accepted and submitted (create), its webhook queued and delivered (complete), the
    # failed first attempt of the webhook (poll's delivery run): all of them
    for words in ("accepted", "submitted", "delivered", "queued", "attempt 1 failed"):
        assert words in said, said
    untagged = [line["message"] for line in about
                if (line.get("export_id"), line.get("provider")) != (export_id, "cls")]
    assert not untagged


def test_a_configuration_warning_is_logged_once_per_cold_start(
        handlers_env: dict[str, str], api_key: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from functions import common

    monkeypatch.delenv("COURIER_WEBHOOK_SECRETS")
    common.reset()  # a cold start without webhook secrets
    assert post(api_key, cls_body())[0] == 202
    for _ in range(4):  # a minute of ticks, each with a webhook run
        tick()
    warnings = [line for line in json_lines(capsys.readouterr().out)
                if line.get("message") == UNSIGNED]
    assert len(warnings) == 1 and warnings[0]["level"] == "WARNING"

    common.reset()  # the next container: its own cold start, its own warning
    tick()
    assert [line["message"] for line in json_lines(capsys.readouterr().out)
            if line.get("message") == UNSIGNED] == [UNSIGNED]
