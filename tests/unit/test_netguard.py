"""The SSRF guard: schemes, every resolved address, allow-list and expected domains."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from shared import netguard
from shared.errors import UnsafeTargetError


def fake_dns(monkeypatch: pytest.MonkeyPatch, table: dict[str, list[str]]) -> list[str]:
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (ip, port) if ":" not in ip else (ip, port, 0, 0)) for ip in table[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://127.8.9.1:8080/x", "http://localhost/", "http://[::1]/",
    "http://10.0.0.1/", "http://172.16.5.4/", "http://172.31.255.255/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://169.254.1.1/", "http://[fe80::1]/",
    "http://[fc00::1]/", "http://[fd12:3456::1]/", "http://224.0.0.1/", "http://[ff02::1]/",
    "http://0.0.0.0/", "http://[::]/", "http://240.0.0.1/", "http://255.255.255.255/",
    "http://100.64.0.1/", "http://100.127.255.254/", "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:10.0.0.1]/", "http://[::ffff:169.254.169.254]/", "http://[64:ff9b::a00:1]/",
    "http://[2002:a00:1::]/", "http://2130706433/", "http://0x7f000001/", "http://017700000001/",
])
def test_non_public_addresses_refused(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Odd IPv4 spellings (decimal, hex, octal) go through the resolver like names do.
    fake_dns(monkeypatch, {"localhost": ["127.0.0.1", "::1"], "2130706433": ["127.0.0.1"],
                           "0x7f000001": ["127.0.0.1"], "017700000001": ["127.0.0.1"]})
    with pytest.raises(UnsafeTargetError):
        netguard.check_url(url)


@pytest.mark.parametrize("url", ["https://93.184.216.34/hook", "http://8.8.8.8:8080/",
                                 "https://[2606:4700:4700::1111]/", "HTTPS://hooks.example.com/h"])
def test_public_addresses_pass(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"hooks.example.com": ["93.184.216.34"]})
    netguard.check_url(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/", "gopher://x/",
                                 "javascript:alert(1)", "//example.com/x", "example.com",
                                 "http://", "http:///path", "", "http://[::1/"])
def test_bad_schemes_and_malformed_urls_refused(url: str) -> None:
    with pytest.raises(UnsafeTargetError):
        netguard.check_url(url)


def test_name_resolving_to_private_address_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"hooks.example.com": ["10.1.2.3"]})
    with pytest.raises(UnsafeTargetError, match="non-public"):
        netguard.check_url("https://hooks.example.com/h")


def test_every_resolved_address_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"mixed.example.com": ["93.184.216.34", "169.254.169.254"],
                           "v6.example.com": ["2606:4700::1", "::ffff:192.168.0.1"]})
    for host in ("mixed.example.com", "v6.example.com"):
        with pytest.raises(UnsafeTargetError):
            netguard.check_url(f"https://{host}/")


def test_unresolvable_name_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {})
    with pytest.raises(UnsafeTargetError, match="cannot resolve"):
        netguard.check_url("https://nowhere.invalid/")


def test_allow_hosts_by_ip_cidr_and_name(monkeypatch: pytest.MonkeyPatch) -> None:
    asked = fake_dns(monkeypatch, {"receiver.internal": ["10.9.8.7"],
                                   "other.internal": ["10.9.8.8"]})
    netguard.check_url("http://127.0.0.1:8123/hook", allow_hosts=("127.0.0.1",))
    netguard.check_url("http://10.9.8.7/", allow_hosts=("10.9.0.0/16",))
    netguard.check_url("http://other.internal/", allow_hosts=("10.9.8.8/32",))
    netguard.check_url("http://RECEIVER.internal./", allow_hosts=("receiver.internal",))
    assert "receiver.internal" not in asked  # an allowed name is not even resolved
    with pytest.raises(UnsafeTargetError):
        netguard.check_url("http://127.0.0.2/", allow_hosts=("127.0.0.1",))
    with pytest.raises(UnsafeTargetError):
        netguard.check_url("http://other.internal/", allow_hosts=("receiver.internal",))
    # The allow-list never lets a bad scheme through.
    with pytest.raises(UnsafeTargetError):
        netguard.check_url("file://127.0.0.1/etc/passwd", allow_hosts=("127.0.0.1",))


def test_redact_url_drops_userinfo_path_and_query() -> None:
    assert netguard.redact_url("https://u:p@hooks.example.com:8443/a/b?token=s#f") \
        == "https://hooks.example.com:8443"
    assert netguard.redact_url("http://[::1]:80/x") == "http://[::1]:80"


def test_failures_of_outbound_calls_are_told_in_words() -> None:
    import requests
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError

    from shared.netguard import failure_words

    cases = {
        requests.ConnectTimeout("http://h/?X-Signature=s"): "timed out",
        requests.ConnectionError("http://h/?X-Signature=s"): "could not connect",
        requests.exceptions.ChunkedEncodingError("x"): "broke mid-answer",
        EndpointConnectionError(endpoint_url="http://h"): "could not connect",
        NoCredentialsError(): "no usable credentials",
        ValueError("odd"): "failed before an answer",
    }
    for exc, words in cases.items():
        text = failure_words(exc)
        assert words in text and "Error" not in text and "Signature" not in text
