"""Settings read from Tencent Cloud Secrets Manager, as on SCF: the function role's temporary
keys (with their token) read ``tencent-ssm:`` references from the sandbox's SSM emulator."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from courier.local import LocalContext
from shared.errors import ConfigError
from tests.e2e.helpers import call, cls_body, post, until_terminal
from tests.events import load_event

# API keys as strong as the settings demand (32+ characters)
BEFORE = "key-before-rotation-q7Vx2LmR9tPw4Ks"
AFTER = "key-after-rotation-Zp3Nc8Ye5Hu1Jd6"
IN_USE = "key-in-use-Bw6Tq1Xr8Lm3Vn5Gs0Ka4"
KEY_ONE = "key-one-Rt5Yp0Qw7Ez2Ux9Ic4Ov6Ab3S"
KEY_TWO = "key-two-Hn8Jm1Kl4Gf7Ds0Aq3Zw6Xc9V"

pytestmark = pytest.mark.integration


@pytest.fixture
def on_scf(handlers_env: dict[str, str], sandbox: Any,
           monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """SCF with a role: temporary keys and their token in the environment, no plain API keys
    or webhook secrets."""
    secret_id, secret_key, token = sandbox.issue_role_keys()
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", secret_id)
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", secret_key)
    monkeypatch.setenv("TENCENTCLOUD_SESSIONTOKEN", token)
    return handlers_env


def configure(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    from functions import common

    for name, value in values.items():
        monkeypatch.setenv(name, value)
    common.reset()  # a cold start


def test_references_resolved_at_cold_start_authenticate_and_sign(
        on_scf: dict[str, str], sandbox: Any, receiver: Any, api_key: str,
        webhook_secret: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    document = json.dumps({"api_keys": api_key, "webhook_secret": webhook_secret})
    sandbox.ssm.put("courier", document, version="v1")
    configure(monkeypatch, COURIER_API_KEYS="tencent-ssm:courier#api_keys",
              COURIER_WEBHOOK_SECRETS="tencent-ssm:courier#webhook_secret")
    caplog.set_level(logging.DEBUG)

    status, created = post(api_key, cls_body())
    refused = post("wrong-" + api_key, cls_body())
    task = until_terminal(created["id"], api_key, sandbox)

    assert status == 202 and refused[0] == 401
    assert task["state"] == "delivered"
    assert receiver.delivered() and all(r.verified for r in receiver.received)
    # one read for both settings, and none again while warm
    assert sandbox.calls[("ssm", "GetSecretValue")] == 1
    assert sandbox.calls[("ssm", "ListSecretVersionIds")] == 1
    out = capsys.readouterr()
    text = "\n".join([out.out, out.err, caplog.text, *(r.getMessage() for r in caplog.records),
                      json.dumps([created, refused[1], task])])
    assert out.out.count('"level":') > 5  # the run logged: the functions' JSON lines
    for secret in (api_key, webhook_secret, webhook_secret[len("whsec_"):], document):
        assert secret not in text


def test_a_rotated_secret_is_used_once_the_ttl_has_passed(
        on_scf: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import common

    sandbox.ssm.put("courier-api-keys", BEFORE, version="v1")
    configure(monkeypatch, COURIER_API_KEYS="tencent-ssm:courier-api-keys",
              COURIER_SECRET_TTL_S="60")
    assert post(BEFORE, cls_body())[0] == 202
    started = common.secret_stores().clock()

    sandbox.ssm.put("courier-api-keys", AFTER, version="v2")
    common.secret_stores().clock = lambda: started + 30  # within the TTL: the value kept
    assert post(AFTER, cls_body())[0] == 401
    assert sandbox.calls[("ssm", "GetSecretValue")] == 1

    common.secret_stores().clock = lambda: started + 61
    assert post(AFTER, cls_body())[0] == 202
    assert post(BEFORE, cls_body())[0] == 401
    assert sandbox.calls[("ssm", "GetSecretValue")] == 2


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_store_failing_at_refresh_keeps_the_values_in_use(
        on_scf: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import common

    sandbox.ssm.put("courier-api-keys", IN_USE, version="v1")
    configure(monkeypatch, COURIER_API_KEYS="tencent-ssm:courier-api-keys@v1",
              COURIER_SECRET_TTL_S="60")
    assert post(IN_USE, cls_body())[0] == 202
    sandbox.ssm.set_status("courier-api-keys", "Disabled")
    started = common.secret_stores().clock()
    common.secret_stores().clock = lambda: started + 61
    kept = Kept()  # on the logger itself: whatever the handlers' setup did to propagation
    logging.getLogger("shared.bundle").addHandler(kept)
    try:
        assert post(IN_USE, cls_body())[0] == 202
    finally:
        logging.getLogger("shared.bundle").removeHandler(kept)
    [warning] = [m for m in kept.messages if "not refreshed" in m]
    assert "COURIER_API_KEYS" in warning and "ResourceDisabled" in warning
    assert IN_USE not in warning
    assert sandbox.calls[("ssm", "GetSecretValue")] == 2
    assert post(IN_USE, cls_body())[0] == 202  # the next try waits a while
    assert sandbox.calls[("ssm", "GetSecretValue")] == 2


@pytest.mark.parametrize(("reference", "setup", "code"), [
    ("tencent-ssm:absent", None, "ResourceNotFound.SecretNotExist"),
    ("tencent-ssm:courier-api-keys@v7", None, "ResourceNotFound"),
    ("tencent-ssm:courier-api-keys", "Disabled", "ResourceUnavailable.ResourceDisabled"),
    ("tencent-ssm:courier-api-keys", "no-token", "AuthFailure.TokenFailure"),
    ("tencent-ssm:courier-api-keys#keys", None, "not a JSON object"),
], ids=["no-such-secret", "no-such-version", "disabled", "role-token-missing", "no-field"])
def test_an_unresolvable_reference_stops_the_cold_start(
        on_scf: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch,
        reference: str, setup: str | None, code: str) -> None:
    from functions import create_export

    sandbox.ssm.put("courier-api-keys", "the-value-itself", version="v1")
    if setup == "Disabled":
        sandbox.ssm.set_status("courier-api-keys", "Disabled")
    if setup == "no-token":
        monkeypatch.delenv("TENCENTCLOUD_SESSIONTOKEN")
    configure(monkeypatch, COURIER_API_KEYS=reference)
    event = load_event("scf_function_url_post_exports", body=cls_body())
    with pytest.raises(ConfigError) as caught:
        create_export.handler(event, LocalContext())
    message = caught.value.message
    assert message.startswith("COURIER_API_KEYS: ")
    assert reference.split("#")[0] in message
    assert code in message
    assert "the-value-itself" not in message


def test_schedules_come_from_a_secret(on_scf: dict[str, str], sandbox: Any,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import create_export

    schedule = {"name": "cls-hourly", "provider": "cls", "every_s": 3600,
                "params": {"TopicId": "topic-app", "From": "${window_start_ms}",
                           "To": "${window_end_ms}"}}
    sandbox.ssm.put("courier-schedules", json.dumps([schedule]), version="v1")
    configure(monkeypatch, COURIER_SCHEDULES="tencent-ssm:courier-schedules")
    fired = create_export.handler(load_event("scf_timer", Message="cls-hourly",
                                             Time="2026-11-22T10:17:00Z"), LocalContext())
    [made] = fired["created"]
    assert made["state"] == "submitted"
    assert sandbox.calls[("cls", "CreateExport")] == 1


def test_bad_schedules_in_a_secret_stop_the_cold_start_naming_setting_and_secret(
        on_scf: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.ssm.put("courier-schedules", json.dumps([{"name": "x", "every_s": 5}]))
    configure(monkeypatch, COURIER_SCHEDULES="tencent-ssm:courier-schedules")
    with pytest.raises(ConfigError) as caught:
        call(load_event("scf_function_url_get_export", path="/exports"))
    assert caught.value.message == (
        "COURIER_SCHEDULES[0].every_s: a whole number of seconds, 60 to 2678400 "
        "(value from tencent-ssm:courier-schedules)")


def test_a_refresh_rebuilds_only_when_a_value_changed_and_keeps_the_state_store(
        on_scf: dict[str, str], sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from functions import common

    sandbox.ssm.put("courier-api-keys", KEY_ONE, version="v1")
    configure(monkeypatch, COURIER_API_KEYS="tencent-ssm:courier-api-keys",
              COURIER_SECRET_TTL_S="60")
    assert post(KEY_ONE, cls_body())[0] == 202
    first, store = common.bundle(), common.bundle().store()
    started = common.secret_stores().clock()

    common.secret_stores().clock = lambda: started + 61  # due, but nothing changed
    assert post(KEY_ONE, cls_body())[0] == 202
    assert sandbox.calls[("ssm", "GetSecretValue")] == 2
    assert common.bundle() is first
    assert common.bundle().settings.refresh_at == started + 121

    sandbox.ssm.put("courier-api-keys", KEY_TWO, version="v2")
    common.secret_stores().clock = lambda: started + 122
    assert post(KEY_TWO, cls_body())[0] == 202
    assert common.bundle() is not first
    assert common.bundle().store() is store  # same COURIER_STATE_URL: the connection is kept
