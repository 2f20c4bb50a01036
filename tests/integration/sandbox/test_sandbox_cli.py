"""``python -m sandbox`` prints where it listens and the credentials, then serves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

ROOT = Path(__file__).resolve().parents[3]


def test_standalone_server_answers_the_sdk() -> None:
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "sandbox", "--port", "0", "--time-scale", "60"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(4)]
        url = lines[0].rsplit(" ", 1)[1]
        secret_id = lines[1].split("=", 1)[1]
        secret_key = lines[2].split("=", 1)[1]
        assert url.startswith("http://127.0.0.1:")
        assert lines[3].startswith("time scale 60 ")
        prof = ClientProfile(httpProfile=HttpProfile(
            protocol="http", endpoint=url.split("//", 1)[1], reqMethod="POST"))
        client = CommonClient("cls", "2020-10-16", credential.Credential(secret_id, secret_key),
                              "ap-guangzhou", prof)
        out = client.call_json("DescribeExports", {"TopicId": "topic-a"})
        assert out["Response"]["TotalCount"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=5)
