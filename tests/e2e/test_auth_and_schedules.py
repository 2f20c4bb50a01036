"""HMAC-signed requests, scheduled creation from a cron trigger, and `courier invoke`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import pytest

from courier.cli import main as courier_main
from courier.local import LocalContext
from tests.e2e.helpers import call, cls_body
from tests.events import load_event


def signed_headers(key: str, method: str, path: str, body: str, stamp: int | None = None,
                   query: str = "", idempotency_key: str = "") -> dict[str, str]:
    """The signature as the API's documentation says to make it (written out here, not
    taken from the code under test)."""
    stamp = int(time.time()) if stamp is None else stamp
    lines = ["v2", str(stamp), method, path, query, idempotency_key,
             hashlib.sha256(body.encode()).hexdigest()]
    digest = base64.b64encode(hmac.new(key.encode(), "\n".join(lines).encode(),
                                       hashlib.sha256).digest()).decode()
    headers = {"x-api-key": None, "x-courier-timestamp": str(stamp),
               "x-courier-signature": f"v2,{digest}"}
    if idempotency_key:
        headers["idempotency-key"] = idempotency_key
    return headers  # type: ignore[return-value]


@pytest.mark.usefixtures("handlers_env")
def test_hmac_signed_request_is_accepted(api_key: str) -> None:
    body = json.dumps(cls_body())
    status, task = call(load_event("aws_http_api_post_exports", body=body,
                                   headers=signed_headers(api_key, "POST", "/exports", body)))
    assert status == 202 and task["state"] == "submitted"


def test_while_keys_rotate_either_one_signs(handlers_env: dict[str, str], api_key: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import common

    monkeypatch.setenv("COURIER_API_KEYS", f"{api_key},next-key-0123456789abcdefghijklmnop")
    common.reset()
    for key in (api_key, "next-key-0123456789abcdefghijklmnop"):
        body = json.dumps(cls_body())
        status, _ = call(load_event("aws_http_api_post_exports", body=body,
                                    headers=signed_headers(key, "POST", "/exports", body)))
        assert status == 202, key
    # four minutes off either way is within the window
    for skew in (-240, 240):
        headers = signed_headers(api_key, "GET", "/exports", "", int(time.time()) + skew)
        status, _ = call(load_event("aws_function_url_get_export", path="/exports",
                                    headers=headers))
        assert status == 200, skew


@pytest.mark.usefixtures("handlers_env")
@pytest.mark.parametrize("tamper", ["body", "key", "stale", "v1"])
def test_bad_signatures_are_refused(api_key: str, tamper: str) -> None:
    body = json.dumps(cls_body())
    key = "another-key" if tamper == "key" else api_key
    stamp = int(time.time()) - 3600 if tamper == "stale" else None
    headers = signed_headers(key, "POST", "/exports", body, stamp)
    if tamper == "v1":
        headers["x-courier-signature"] = headers["x-courier-signature"].replace("v2,", "v1,")
    sent = body.replace("topic-app", "topic-other") if tamper == "body" else body
    status, answer = call(load_event("aws_http_api_post_exports", body=sent, headers=headers))
    assert status == 401
    assert answer["error"] == "unauthorized"
    if tamper == "v1":
        assert "must be v2,<base64>" in answer["detail"]


@pytest.mark.usefixtures("handlers_env")
def test_a_captured_signed_request_cannot_be_sent_again(api_key: str) -> None:
    """Replayed as is, with another Idempotency-Key or with none: one export only."""
    from functions import common

    body = json.dumps(cls_body())
    signed = signed_headers(api_key, "POST", "/exports", body, idempotency_key="nightly-7")
    status, first = call(load_event("aws_http_api_post_exports", body=body, headers=signed))
    assert status == 202
    again = {"same": dict(signed), "another key": {**signed, "idempotency-key": "nightly-8"},
             "no key": {**signed, "idempotency-key": None}}
    for why, headers in again.items():
        status, answer = call(load_event("aws_http_api_post_exports", body=body,
                                         headers=headers))
        assert status == 401, (why, answer)
        if why == "same":
            assert "already received" in answer["detail"]
    assert [t.id for t in common.bundle().store().list_tasks().items] == [first["id"]]


@pytest.mark.usefixtures("handlers_env")
def test_a_signed_read_holds_for_its_own_query_only(api_key: str) -> None:
    signed = signed_headers(api_key, "GET", "/exports", "", query="limit=5&state=failed")
    status, page = call(load_event("aws_function_url_get_export", path="/exports",
                                   query={"state": "failed", "limit": "5"}, headers=signed))
    assert status == 200 and page["items"] == []
    fresh = signed_headers(api_key, "GET", "/exports", "", query="limit=5&state=failed")
    for query in ({"state": "delivered", "limit": "5"}, {"limit": "5"},
                  {"state": "failed", "limit": "5", "provider": "cls"}):
        status, answer = call(load_event("aws_function_url_get_export", path="/exports",
                                         query=query, headers=fresh))
        assert (status, answer["detail"]) == (401, "invalid signature"), query


def test_cron_trigger_creates_the_scheduled_export_once(handlers_env: dict[str, str],
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        sandbox: Any) -> None:
    from functions import common, create_export

    schedule = {"name": "cls-hourly", "provider": "cls", "every_s": 3600,
                "params": {"TopicId": "topic-app", "From": "${window_start_ms}",
                           "To": "${window_end_ms}"}}
    monkeypatch.setenv("COURIER_SCHEDULES", json.dumps([schedule]))
    common.reset()
    event = load_event("scf_timer", Message="cls-hourly", Time="2026-11-22T10:17:00Z")
    first = create_export.handler(event, LocalContext())
    again = create_export.handler(load_event("aws_eventbridge_scheduled",
                                             time="2026-11-22T10:59:00Z",
                                             detail={}), LocalContext())
    [made] = first["created"]
    assert made["created"] and made["state"] == "submitted"
    assert again["created"][0]["export_id"] == made["export_id"]  # same window: no second one
    assert sandbox.calls[("cls", "CreateExport")] == 1
    task = common.bundle().store().get_task(made["export_id"])
    assert task.params["To"] - task.params["From"] == 3_600_000
    assert task.params["To"] == 1_795_341_600_000  # 2026-11-22T10:00:00Z


def test_courier_invoke_runs_a_handler_with_an_event_file(
        handlers_env: dict[str, str], tmp_path: Path, api_key: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    event = load_event("scf_apigw_post_exports", body=cls_body(),
                       headers={"x-api-key": api_key})
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    assert courier_main(["invoke", "create", str(path)]) == 0
    out = capsys.readouterr().out
    assert '"statusCode": 202' in out
    assert courier_main(["invoke", "create", str(tmp_path / "missing.json")]) == 2
