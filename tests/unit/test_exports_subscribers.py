"""Subscriber URLs that can never be delivered to are refused at create, naming the entry."""

from __future__ import annotations

import pytest

from shared.errors import UnsafeTargetError, ValidationError
from shared.export_request import parse_request
from shared.netguard import check_literal

REFUSED = [
    ("loopback", "http://127.0.0.1:8080/hook"),
    ("decimal-loopback", "http://2130706433/"),
    ("hex-loopback", "http://0x7f.1/"),
    ("octal-loopback", "http://0177.0.0.1/"),
    ("short-loopback", "http://127.1/"),
    ("mapped-v6", "http://[::ffff:127.0.0.1]/"),
    ("v6-loopback", "https://[::1]/x"),
    ("private-10", "https://10.1.2.3/x"),
    ("private-192", "http://192.168.0.10/x"),
    ("metadata", "http://169.254.169.254/latest/meta-data/"),
    ("link-local-v6", "http://[fe80::1%25eth0]/"),
    ("unspecified", "http://0.0.0.0/"),
    ("cgnat", "http://100.64.0.1/"),
    ("localhost", "http://localhost/"),
    ("sub-localhost", "http://api.localhost/"),
    ("mdns", "http://printer.local/"),
    ("internal", "http://metadata.google.internal/"),
    ("single-label", "http://intranet/"),
    ("not-an-address", "http://1.2.3.4.5/"),
]
ACCEPTED = ["https://hooks.example.com/courier", "http://203.0.114.7/x", "https://[2606:4700::1]/",
            "https://cafe.be/hook", "https://example.com:8443/a?b=c"]


@pytest.mark.parametrize("url", [u for _, u in REFUSED], ids=[i for i, _ in REFUSED])
def test_non_public_literals_and_local_names_are_refused(url: str) -> None:
    with pytest.raises(UnsafeTargetError):
        check_literal(url)
    body = {"provider": "cls", "params": {}, "subscribers": ["https://ok.example.com/", url]}
    with pytest.raises(ValidationError) as caught:
        parse_request(body, None)
    assert caught.value.field == "subscribers[1]"
    assert "cannot receive webhooks" in caught.value.detail


@pytest.mark.parametrize("url", ACCEPTED)
def test_public_urls_are_accepted_without_a_dns_look_up(url: str) -> None:
    check_literal(url)
    assert parse_request({"provider": "cls", "params": {}, "subscribers": [url]}, None)[2] == [url]


def test_allowed_private_hosts_are_let_through() -> None:
    # COURIER_ALLOW_PRIVATE_HOSTS (tests run receivers on 127.0.0.1)
    body = {"provider": "cls", "params": {}, "subscribers": ["http://127.0.0.1:9000/h",
                                                             "http://receiver/h"]}
    assert parse_request(body, None, ("127.0.0.0/8", "receiver"))[2] == body["subscribers"]


def test_a_chat_bot_subscriber_must_be_configured() -> None:
    body = {"provider": "cls", "params": {}, "subscribers": ["chat:team"]}
    assert parse_request(body, None, chat_bots=["chat:team"])[2] == ["chat:team"]
    with pytest.raises(ValidationError) as exc:
        parse_request({**body, "subscribers": ["chat:other"]}, None, chat_bots=["chat:team"])
    assert exc.value.field == "subscribers[0]"
    assert "no such chat bot is configured (COURIER_CHAT_BOTS)" in exc.value.detail
