"""The API server of ``courier ui`` on 127.0.0.1 refuses what a web page on another site, or a
careless client, could send it — before reading a byte of the body."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from courier.server import LocalApiServer
from shared.bundle import Bundle
from shared.config import Settings
from shared.errors import ConfigError
from tests.e2e.helpers import cls_body


@pytest.fixture
def open_server(courier_env: dict[str, str]) -> Iterator[tuple[Any, LocalApiServer]]:
    """The server over a bundle that needs no key (COURIER_AUTH=none, the sandbox profile)."""
    bundle = Bundle(Settings.from_env({**courier_env, "COURIER_AUTH": "none"}))
    try:
        with LocalApiServer(bundle) as server:
            yield bundle, server
    finally:
        bundle.store().close()


def exchange(server: LocalApiServer, head: str, body: bytes = b"",
             timeout: float = 5) -> tuple[int, dict[str, Any], float]:
    """Send ``head`` (request line and headers) and ``body`` raw; the status, the JSON body
    and the seconds the answer took."""
    port = int(server.url.rsplit(":", 1)[1])
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
            if b"\r\n\r\n" in data:
                header, _, rest = data.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in header.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                if len(rest) >= length:
                    break
    header, _, rest = data.partition(b"\r\n\r\n")
    status = int(header.split()[1])
    return status, json.loads(rest) if rest else {}, time.monotonic() - started


def request(port: int, method: str = "POST", path: str = "/exports", **headers: str) -> str:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return "\n".join(lines) + "\n"


def port_of(server: LocalApiServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def test_a_big_or_bad_length_is_refused_before_the_body_is_read(
        open_server: tuple[Any, LocalApiServer]) -> None:
    _bundle, server = open_server
    port = port_of(server)
    json_ = "application/json"
    # GIVEN a 48 MiB Content-Length and no body sent: THEN 413 at once, nothing read or waited
    status, body, took = exchange(server, request(port, Content_Type=json_,
                                                  Content_Length=str(48 * 2**20)))
    assert (status, body["field"]) == (413, "body") and took < 2
    assert "larger than 65536 bytes" in body["detail"]
    # a negative, a non-number, two different lengths: 400 naming Content-Length, at once
    for lengths in (["-1"], ["12abc"], ["1e3"], ["5", "6"]):
        head = request(port, Content_Type=json_) + "".join(
            f"Content-Length: {n}\n" for n in lengths)
        status, body, took = exchange(server, head)
        assert (status, body["field"]) == (400, "Content-Length") and took < 2, lengths
    status, body, _ = exchange(server, request(port, Content_Type=json_,
                                               Transfer_Encoding="chunked"))
    assert (status, body["field"]) == (411, "Transfer-Encoding")


def test_a_foreign_host_or_a_form_post_is_refused(open_server: tuple[Any, LocalApiServer]
                                                  ) -> None:
    bundle, server = open_server
    port = port_of(server)
    payload = json.dumps(cls_body()).encode()
    # GIVEN a page on another site posting text/plain (no CORS preflight needed) THEN 415
    for media in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        status, body, _ = exchange(server, request(port, Content_Type=media,
                                                   Content_Length=str(len(payload))), payload)
        assert (status, body["field"]) == (415, "Content-Type"), media
    status, _, _ = exchange(server, request(port, path="/exports/exp_1/cancel",
                                            Content_Length="0"))
    assert status == 415
    # a DNS-rebound name, another port, no Host at all: 421, for reads too
    for host in (f"evil.example:{port}", "127.0.0.1:1", f"localhost.evil.example:{port}",
                 None):
        head = "GET /exports HTTP/1.1\n" + (f"Host: {host}\n" if host else "")
        status, body, _ = exchange(server, head)
        assert (status, body["field"]) == (421, "Host"), host
    assert bundle.store().list_tasks().items == []  # nothing was created
    # THEN the same request, as JSON and to this server's own name, is taken
    for name in ("127.0.0.1", "localhost", "[::1]"):
        head = (f"POST /exports HTTP/1.1\nHost: {name}:{port}\nContent-Type: application/json"
                f"\nContent-Length: {len(payload)}\n")
        status, body, _ = exchange(server, head, payload)
        assert status == 202 and body["id"].startswith("exp_"), body
    status, page, _ = exchange(server, f"GET /exports HTTP/1.1\nHost: localhost:{port}\n")
    assert status == 200 and len(page["items"]) == 3


def test_no_key_is_served_on_loopback_only(courier_env: dict[str, str],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    bundle = Bundle(Settings.from_env({**courier_env, "COURIER_AUTH": "none"}))
    try:
        with pytest.raises(ConfigError, match="loopback address only"):
            LocalApiServer(bundle, host="0.0.0.0").start()  # noqa: S104 - the refused case
    finally:
        bundle.store().close()
    # and the danger is said where the command is described
    from courier.cli import main

    assert main(["ui", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert "COURIER_AUTH=none (sandbox profile only) drops the key" in shown
    assert "every user of a shared machine" in shown


def test_the_cli_still_talks_to_it(courier_env: dict[str, str], api_key: str) -> None:
    """``courier``'s own POSTs (an action with no body too) pass the checks."""
    from courier.client import HttpClient

    bundle = Bundle(Settings.from_env(courier_env))
    try:
        with LocalApiServer(bundle) as server:
            client = HttpClient(server.url, api_key)
            created = client.create(cls_body(), None)
            assert client.action(created["id"], "check")["id"] == created["id"]
    finally:
        bundle.store().close()
