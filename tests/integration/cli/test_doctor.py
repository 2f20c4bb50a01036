"""``courier doctor`` against the sandbox, a real state store and a local folder: all ok on a
good setup; each broken part an error line naming it, and exit 1; never a secret shown."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]


def doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("COURIER_", "TENCENTCLOUD_", "ALIBABA_CLOUD_"))}
    return subprocess.run([sys.executable, "-m", "courier.cli", "doctor", *args], cwd=ROOT,
                          env={**clean, **env}, capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.fixture
def good(courier_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """The sandbox deployment, its SQLite state made, cloudwatch not configured (it needs an
    AWS endpoint; its own tests cover it)."""
    from shared.state import open_store

    env = {k: v for k, v in courier_env.items() if k != "COURIER_CLOUDWATCH_BUCKET"}
    open_store(env["COURIER_STATE_URL"]).close()
    return env


def lines_of(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """check name -> its whole line"""
    out = {}
    for line in done.stdout.splitlines():
        status, _, rest = line.partition(" ")
        out[rest.strip().split(": ", 1)[0]] = line
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_good_setup_is_all_ok(good: dict[str, str]) -> None:
    done = doctor(good)
    assert done.returncode == 0, done.stdout + done.stderr
    found = lines_of(done)
    assert all(line.startswith("ok ") for line in found.values()), done.stdout
    for name in ("settings", "state store", "destination", "provider cls", "provider dlc",
                 "provider dms", "provider mongodb", "provider tcss"):
        assert name in found, done.stdout
    assert "credentials accepted (DescribeTopics)" in found["provider cls"]
    assert "credentials accepted (GetUserActiveTenant)" in found["provider dms"]
    assert "0 error(s), 0 warning(s)" in done.stderr
    # the probe object is gone again
    bucket = Path(good["COURIER_DESTINATION"].removeprefix("file://"))
    assert not [p for p in bucket.rglob("courier-probe-*")]
    # --json: the same checks, for scripts
    as_json = doctor(good, "--json")
    assert as_json.returncode == 0
    report = json.loads(as_json.stdout)
    assert report["ok"] is True
    assert {c["name"] for c in report["checks"]} >= {"destination", "provider cls"}
    # no secret in any answer
    for secret in (good["TENCENTCLOUD_SECRETKEY"], good["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
                   good["COURIER_API_KEYS"], good["COURIER_WEBHOOK_SECRETS"]):
        assert secret not in done.stdout + done.stderr + as_json.stdout


def test_a_setting_that_does_not_parse(good: dict[str, str]) -> None:
    done = doctor({**good, "COURIER_POLL_INTERVAL_S": "soon"})
    assert done.returncode == 1
    assert lines_of(done)["settings"].startswith("error")
    assert "COURIER_POLL_INTERVAL_S" in done.stdout


def test_an_unreachable_state_store(good: dict[str, str]) -> None:
    url = f"postgresql://postgres:pw-not-shown@127.0.0.1:{free_port()}/test"
    done = doctor({**good, "COURIER_STATE_URL": url})
    assert done.returncode == 1
    line = lines_of(done)["state store"]
    assert line.startswith("error") and "COURIER_STATE_URL" in line, line
    assert "pw-not-shown" not in done.stdout + done.stderr


def test_a_real_postgres_store_is_reachable(good: dict[str, str]) -> None:
    done = doctor({**good, "COURIER_STATE_URL": "postgresql://postgres@127.0.0.1:5432/test"
                                                "?table=doctor_check"})
    assert lines_of(done)["state store"].startswith("ok"), done.stdout + done.stderr


def test_a_missing_sqlite_state_is_a_warning_and_is_not_made(good: dict[str, str],
                                                             tmp_path: Path) -> None:
    missing = tmp_path / "elsewhere" / "state.db"
    done = doctor({**good, "COURIER_STATE_URL": f"sqlite:///{missing}"})
    line = lines_of(done)["state store"]
    assert line.startswith("warning") and str(missing) in line, line
    assert "COURIER_STATE_URL" in line
    assert not missing.parent.exists()


def test_a_destination_that_cannot_be_reached(good: dict[str, str]) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    done = doctor({**good, "COURIER_DESTINATION": "s3://exports-bucket/courier",
                   "COURIER_S3_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": "x",
                   "AWS_SECRET_ACCESS_KEY": "y", "AWS_DEFAULT_REGION": "us-east-1"})
    assert done.returncode == 1
    line = lines_of(done)["destination"]
    # the line names the bucket and the endpoint, and what to do
    assert line.startswith("error") and "s3://exports-bucket" in line and endpoint in line, line
    assert "COURIER_DESTINATION" in line


def test_a_destination_folder_that_cannot_be_written(good: dict[str, str],
                                                     tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = doctor({**good, "COURIER_DESTINATION": f"file://{blocker}/bucket"})
    assert done.returncode == 1
    assert lines_of(done)["destination"].startswith("error"), done.stdout


def test_each_named_destination_is_probed_on_its_own(good: dict[str, str],
                                                     tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    named = {"raw": {"url": f"file://{tmp_path}/raw"},
             "broken": {"url": f"file://{blocker}/bucket"}}
    done = doctor({**good, "COURIER_DESTINATIONS": json.dumps(named)})
    assert done.returncode == 1
    found = lines_of(done)
    assert found["destination"].startswith("ok "), done.stdout
    assert found["destination raw"].startswith("ok "), done.stdout
    line = found["destination broken"]
    assert line.startswith("error") and "COURIER_DESTINATIONS[broken]" in line, line


def test_refused_provider_credentials(good: dict[str, str]) -> None:
    done = doctor({**good, "TENCENTCLOUD_SECRETKEY": "wrong-key-not-shown",
                   "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "wrong-too"})
    assert done.returncode == 1
    found = lines_of(done)
    for name in ("provider cls", "provider dlc", "provider mongodb", "provider tcss"):
        assert found[name].startswith("error") and "credentials refused" in found[name]
        assert "TENCENTCLOUD_SECRETID" in found[name]
    assert found["provider dms"].startswith("error")
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in found["provider dms"]
    assert "wrong-key-not-shown" not in done.stdout + done.stderr


def test_a_webhook_endpoint_on_a_private_address(good: dict[str, str]) -> None:
    done = doctor({**good, "COURIER_WEBHOOK_URLS": "http://10.1.2.3/hook"})
    assert done.returncode == 1
    line = lines_of(done)["webhook http://10.1.2.3/hook"]
    assert line.startswith("error") and "COURIER_ALLOW_PRIVATE_HOSTS" in line, line


def test_a_schedule_that_cannot_fire(good: dict[str, str]) -> None:
    schedules = [{"name": "typo", "provider": "clss", "params": {}},
                 {"name": "no-topic", "provider": "cls",
                  "params": {"From": "${window_start_ms}", "To": "${window_end_ms}"}}]
    done = doctor({**good, "COURIER_SCHEDULES": json.dumps(schedules)})
    assert done.returncode == 1
    found = lines_of(done)
    assert found["schedule typo"].startswith("error")
    assert "COURIER_SCHEDULES[0].provider" in found["schedule typo"]
    assert found["schedule no-topic"].startswith("error")
    assert "COURIER_SCHEDULES[1].params.TopicId: is required" in found["schedule no-topic"]


def test_a_secret_store_that_cannot_be_read(good: dict[str, str], tmp_path: Path) -> None:
    done = doctor({**good, "COURIER_SCHEDULES": f"file:{tmp_path / 'no-such-file.json'}"})
    assert done.returncode == 1
    assert lines_of(done)["secret stores"].startswith("error"), done.stdout


def test_doctor_refuses_a_url(good: dict[str, str]) -> None:
    done = doctor({**good, "COURIER_URL": "http://127.0.0.1:9"})
    assert done.returncode == 2
    assert "without --url" in done.stderr


def test_the_signing_warning(good: dict[str, str]) -> None:
    env: dict[str, Any] = {k: v for k, v in good.items() if k != "COURIER_WEBHOOK_SECRETS"}
    done = doctor(env)
    assert done.returncode == 0
    assert lines_of(done)["webhook signing"].startswith("warning")


def test_the_documented_commands_run(good: dict[str, str]) -> None:
    """Every ``courier doctor`` line of docs/operations.md, run as written."""
    import re
    import shlex

    page = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = page.split("## Checking a deployment", 1)[1].split("\n## ", 1)[0]
    commands = [line for block in re.findall(r"```\n(.*?)```", section, re.S)
                for line in block.splitlines() if line.startswith("courier doctor")]
    assert commands == ["courier doctor", "courier doctor --json"]
    for command in commands:
        done = doctor(good, *shlex.split(command)[2:])
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    assert json.loads(done.stdout)["ok"] is True


def test_a_chat_bot_is_checked_at_its_address_and_shown_by_name(good: dict[str, str]) -> None:
    bots = {"team": {"kind": "wecom", "url": "https://10.1.2.4/cgi-bin/webhook/send?key=k-789"}}
    done = doctor({**good, "COURIER_CHAT_BOTS": json.dumps(bots),
                   "COURIER_WEBHOOK_URLS": "chat:team", "COURIER_OPERATOR_SUBSCRIBERS":
                   "chat:team"})
    assert done.returncode == 1
    line = lines_of(done)["webhook chat:team"]
    assert line.startswith("error") and "non-public" in line, line
    assert "k-789" not in done.stdout + done.stderr
