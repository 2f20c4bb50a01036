"""Result-file downloads: signed URLs, expiry, HEAD, ranges, resumption accounting.

These test the file server, not a vendor's format: CLS exports here are plain files."""

from __future__ import annotations

from typing import Any, Callable

import pytest
import requests

from sandbox import Sandbox
from tests.integration.sandbox.sandbox_support import find


@pytest.fixture(autouse=True)
def plain_files(sb: Sandbox) -> None:
    sb.cls.packing = None


def test_head_and_headers(completed: Callable[..., Any]) -> None:
    info = completed()
    head = requests.head(info.CosPath, timeout=5)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == info.FileSize
    assert head.headers["Accept-Ranges"] == "bytes"
    assert head.headers["ETag"].startswith('"') and head.headers["Last-Modified"]
    body = requests.get(info.CosPath, timeout=5)
    assert body.headers["ETag"] == head.headers["ETag"]


def test_links_answer_as_cos(sb: Sandbox, completed: Callable[..., Any]) -> None:
    import hashlib

    from sandbox.cos_objects import SIMPLE_UPLOAD_MAX

    info = completed()
    body = requests.get(info.CosPath, timeout=5)
    # a simple upload's ETag is the MD5 of its bytes, and COS says who answered
    assert body.headers["ETag"] == f'"{hashlib.md5(body.content).hexdigest()}"'
    assert body.headers["x-cos-request-id"]
    sb.set_file_size("topic-big", SIMPLE_UPLOAD_MAX + 1)
    big = requests.head(completed("topic-big").CosPath, timeout=5)
    assert big.headers["ETag"].rstrip('"').endswith("-5")  # multipart: no MD5
    sb.cos_objects.kms = True
    try:
        sb.set_file_size("topic-kms", 1000)
        kms = requests.head(completed("topic-kms").CosPath, timeout=5)
        assert kms.headers["x-cos-server-side-encryption"] == "cos/kms"
    finally:
        sb.cos_objects.kms = False


def test_content_is_deterministic_and_urls_are_fresh(sb: Sandbox, cls: Any,
                                                     completed: Callable[..., Any]) -> None:
    info = completed()
    again = find(cls, info.ExportId)
    first = requests.get(info.CosPath, timeout=5)
    second = requests.get(again.CosPath, timeout=5)
    assert first.content == second.content
    assert first.headers["ETag"] == second.headers["ETag"]
    lines = first.content.decode().splitlines()
    assert lines[0].startswith('{"seq":0,') and lines[-1].endswith("}")


def test_range_requests(sb: Sandbox, completed: Callable[..., Any]) -> None:
    sb.set_file_size("topic-r", 10_001)
    info = completed("topic-r")
    full = requests.get(info.CosPath, timeout=5).content
    tail = requests.get(info.CosPath, headers={"Range": "bytes=4000-"}, timeout=5)
    assert tail.status_code == 206
    assert tail.headers["Content-Range"] == "bytes 4000-10000/10001"
    assert tail.content == full[4000:]
    middle = requests.get(info.CosPath, headers={"Range": "bytes=10-19"}, timeout=5)
    assert middle.status_code == 206 and middle.content == full[10:20]
    suffix = requests.get(info.CosPath, headers={"Range": "bytes=-7"}, timeout=5)
    assert suffix.content == full[-7:]
    beyond = requests.get(info.CosPath, headers={"Range": "bytes=20000-"}, timeout=5)
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == "bytes */10001"


def test_resumed_download_is_accounted(sb: Sandbox, completed: Callable[..., Any]) -> None:
    sb.set_file_size("topic-resume", 300_000)
    info = completed("topic-resume")
    sb.faults.add(service="files", action="Download", kind="drop", after=100_000)
    got = b""
    try:
        with requests.get(info.CosPath, stream=True, timeout=5) as resp:
            for chunk in resp.iter_content(8192):
                got += chunk
    except requests.RequestException:
        pass
    assert 0 < len(got) < 300_000
    rest = requests.get(info.CosPath, headers={"Range": f"bytes={len(got)}-"}, timeout=5)
    assert rest.status_code == 206
    assert len(got) + len(rest.content) == 300_000
    # the cut-off response sent 100 000 bytes (the client may lose the tail of its last read)
    assert sb.bytes_served[info.ExportId] == 100_000 + len(rest.content)
    assert got + rest.content == requests.get(info.CosPath, timeout=5).content


def test_expired_url_is_403_xml(sb: Sandbox, completed: Callable[..., Any]) -> None:
    info = completed()
    sb.clock.advance(3601)
    resp = requests.get(info.CosPath, timeout=5)
    assert resp.status_code == 403
    assert resp.text.startswith('<?xml version="1.0" encoding="UTF-8"?><Error>')
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in resp.text
    assert "<RequestId>" in resp.text


def test_tampered_url_is_403(completed: Callable[..., Any]) -> None:
    info = completed()
    assert requests.get(info.CosPath.replace("sign=", "sign=0"), timeout=5).status_code == 403
    unsigned = info.CosPath.split("?")[0]
    assert requests.get(unsigned, timeout=5).status_code == 403
    t = int(info.CosPath.rsplit("t=", 1)[1])
    later = info.CosPath.rsplit("t=", 1)[0] + f"t={t + 3600}"
    assert requests.get(later, timeout=5).status_code == 403


def test_one_gigabyte_file_streams_cheaply(sb: Sandbox, completed: Callable[..., Any]) -> None:
    sb.set_file_size("topic-huge", 1 << 30)
    info = completed("topic-huge")
    assert int(requests.head(info.CosPath, timeout=5).headers["Content-Length"]) == 1 << 30
    end = requests.get(info.CosPath, headers={"Range": f"bytes={(1 << 30) - 500}-"},
                       timeout=5)
    assert len(end.content) == 500 and end.content.endswith(b"}\n")
