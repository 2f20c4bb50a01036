"""Standard Webhooks signing, checked against the reference ``standardwebhooks`` package."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook

from shared.webhooks import delivery as webhooks
from shared.webhooks import endpoints, outcome, signing

KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


def test_sign_matches_reference_and_definition() -> None:
    body = b'{"type":"export.delivered","data":{"n":1}}'
    sig = signing.sign(SECRET, "msg_1", 1700000000, body)
    expected = base64.b64encode(hmac.new(KEY, b"msg_1.1700000000." + body,
                                         hashlib.sha256).digest()).decode()
    assert sig == "v1," + expected
    ts = datetime.fromtimestamp(1700000000, tz=timezone.utc)
    assert Webhook(SECRET).sign("msg_1", ts, body.decode()) == sig


def test_headers_verify_with_reference_package() -> None:
    payload = {"type": "export.failed", "timestamp": "2030-01-01T00:00:00Z",
               "data": {"export_id": "exp_1", "reason": "ünïcode"}}
    body = signing.encode_body(payload)
    headers = signing.build_headers([SECRET], "msg_abc", int(time.time()), body)
    assert headers["content-type"] == "application/json"
    assert headers["webhook-id"] == "msg_abc"
    assert Webhook(SECRET).verify(body, headers) == payload


def test_rotation_gives_one_signature_per_secret_newest_first() -> None:
    new = "whsec_" + base64.b64encode(b"n" * 32).decode()
    body = b"{}"
    ts = int(time.time())
    headers = signing.build_headers([new, SECRET], "msg_r", ts, body)
    parts = headers["webhook-signature"].split(" ")
    assert parts == [signing.sign(new, "msg_r", ts, body),
                     signing.sign(SECRET, "msg_r", ts, body)]
    Webhook(new).verify(body, headers)
    Webhook(SECRET).verify(body, headers)


def test_no_secrets_means_no_signature_header() -> None:
    assert "webhook-signature" not in signing.build_headers([], "m", 1, b"{}")


def test_bad_secret_rejected() -> None:
    with pytest.raises(ValueError):
        signing.sign("whsec_not base64!", "m", 1, b"{}")


def test_body_is_compact_json() -> None:
    assert signing.encode_body({"a": 1, "b": [1, 2]}) == b'{"a":1,"b":[1,2]}'
    assert json.loads(signing.encode_body({"x": "é"})) == {"x": "é"}


@pytest.mark.parametrize(("value", "expected"), [
    ("120", NOW + timedelta(seconds=120)),
    ("0", NOW),
    (" 7 ", NOW + timedelta(seconds=7)),
    ("Wed, 01 Jan 2030 01:00:00 GMT", NOW + timedelta(hours=1)),
    ("99999999", NOW + timedelta(seconds=outcome.MAX_RETRY_AFTER_S)),
    ("soon", None), ("", None), (None, None), ("-5", None),
])
def test_parse_retry_after(value: str | None, expected: datetime | None) -> None:
    assert outcome.parse_retry_after(value, NOW) == expected


def test_schedule_constant() -> None:
    assert webhooks.RETRY_SCHEDULE_S == (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
    assert webhooks.REQUEST_TIMEOUT_S == 15.0
    assert webhooks.DISABLE_AFTER == timedelta(days=5)


def test_jitter_within_ten_percent() -> None:
    values = [outcome.jittered(100.0) for _ in range(500)]
    assert all(90.0 <= v <= 110.0 for v in values)
    assert max(values) - min(values) > 5  # it does vary


def test_attempts_in_round_counts_since_last_action() -> None:
    from shared.model import WebhookDelivery

    d = WebhookDelivery(task_id="exp_1", endpoint="https://x", event_type="e", payload={})
    d.attempts = [{"status": 500}, {"status": 500}]
    assert endpoints.attempts_in_round(d) == 2
    d.attempts.append({"action": "resend"})
    assert endpoints.attempts_in_round(d) == 0
    d.attempts.append({"status": None, "error": "timeout"})
    assert endpoints.attempts_in_round(d) == 1
