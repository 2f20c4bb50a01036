"""``python -m sandbox`` prints where it listens and the credentials, then serves; with it,
the COS and OSS gateways whose buckets Courier's ``cos://`` and ``oss://`` destinations
reach with the endpoints and keys it printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

import shared.setting_names
from shared.storage import open_destination

ROOT = Path(__file__).resolve().parents[3]


def test_standalone_server_answers_the_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "sandbox", "--port", "0", "--time-scale", "60"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        while not lines or lines[-1] != "Ctrl-C to stop":
            line = proc.stdout.readline()
            assert line, f"the sandbox stopped early: {lines}"
            lines.append(line.strip())
        url = lines[0].rsplit(" ", 1)[1]
        assert url.startswith("http://127.0.0.1:")
        # the lines a user pastes into a shell, with the variables Export Courier reads
        env = dict(line.split(" ", 1)[1].split("=", 1) for line in lines
                   if line.startswith("export "))
        assert env["COURIER_TENCENT_ENDPOINT"] == env["COURIER_DMS_ENDPOINT"] == url
        assert env["COURIER_PROFILE"] == "sandbox"
        read_by_courier = {v for k, v in vars(shared.setting_names).items()
                           if k.startswith("ENV_")}
        assert set(env) <= read_by_courier, set(env) - read_by_courier
        secret_id, secret_key = env["TENCENTCLOUD_SECRETID"], env["TENCENTCLOUD_SECRETKEY"]
        assert any(line.startswith("time scale 60 ") for line in lines)
        assert any("/_sandbox/dms/approve" in line for line in lines)
        prof = ClientProfile(httpProfile=HttpProfile(
            protocol="http", endpoint=url.split("//", 1)[1], reqMethod="POST"))
        client = CommonClient("cls", "2020-10-16", credential.Credential(secret_id, secret_key),
                              "ap-guangzhou", prof)
        out = client.call_json("DescribeExports", {"TopicId": "topic-a"})
        assert out["Response"]["TotalCount"] == 0
        # the COS and OSS gateways: an object put and read through Courier's own stores, with
        # only what was printed
        assert env["COURIER_COS_ENDPOINT"].startswith("http://127.0.0.1:")
        assert env["COURIER_OSS_ENDPOINT"].startswith("http://127.0.0.1:")
        [hint] = [line for line in lines if "COURIER_DESTINATION=cos://" in line]
        destinations = hint.split("COURIER_DESTINATION=", 1)[1].split(" or ")
        assert [d.split("://", 1)[0] for d in destinations] == ["cos", "oss"]
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        for destination in destinations:
            store = open_destination(destination)
            store.put_object("probe.txt", b"tried locally")
            assert store.read("probe.txt") == b"tried locally", destination
    finally:
        proc.terminate()
        proc.wait(timeout=5)
