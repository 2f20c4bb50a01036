"""``courier`` for a person: tables that fit 80 columns with whole ids, any unique id prefix,
read-only commands that never make a state, errors in words, commands grouped in --help."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from courier.cli import main
from courier.server import LocalApiServer
from tests.integration.cli.test_cli import courier
from tests.scenarios import several_states


@pytest.fixture
def states(bundle: Any, sandbox: Any) -> dict[str, str]:
    return several_states(bundle, sandbox)


def test_the_table_fits_80_columns_with_whole_ids_and_states(
        handlers_env: dict[str, str], states: dict[str, str],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["exports", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    header = lines[0].split()
    assert header[:3] == ["ID", "PROVIDER", "STATE"], lines[0]
    shown = {line.split()[0]: line.split()[2] for line in lines[1:]}
    assert shown == {v: k for k, v in states.items()}  # whole ids, every state
    # narrower still: the provider goes, the id and the state stay whole
    monkeypatch.setenv("COLUMNS", "40")
    assert main(["exports", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "STATE"], lines[0]
    assert {line.split()[0] for line in lines[1:]} == set(states.values())
    # the deliveries of an export too: the delivery id and its state whole
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["deliveries", "list", states["delivered"]]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    assert lines[0].split()[:3] == ["DELIVERY", "EVENT", "STATE"], lines[0]
    assert lines[1].split()[0].startswith("msg_") and "delivered" in lines[1].split()
    # wide: every column
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["exports", "list"]) == 0
    assert "DESTINATION" in capsys.readouterr().out.splitlines()[0]


def test_any_unique_prefix_names_an_export(handlers_env: dict[str, str],
                                           states: dict[str, str],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    ids = sorted(states.values())
    # the shortest prefix that is unique, with and without exp_
    for export_id in ids:
        n = next(n for n in range(5, 29)
                 if sum(i.startswith(export_id[:n]) for i in ids) == 1)
        for prefix in (export_id[:n], export_id[4:n]):
            assert main(["exports", "get", prefix, "--json"]) == 0, prefix
            assert json.loads(capsys.readouterr().out)["id"] == export_id
    # an action takes a prefix too
    assert main(["exports", "check", states["submitted"][:14]]) == 0
    assert states["submitted"] in capsys.readouterr().err
    # ambiguous: a clear error listing the candidates, exit 1
    assert main(["exports", "get", "exp_"]) == 1
    err = capsys.readouterr().err
    assert "'exp_' is the start of 4 exports" in err
    assert all(i in err for i in ids)
    # none
    assert main(["exports", "get", "exp_ffffffffffff0000"]) == 1
    assert "no export with id or id prefix 'exp_ffffffffffff0000'" in capsys.readouterr().err


def test_a_prefix_over_http(bundle: Any, states: dict[str, str], api_key: str) -> None:
    with LocalApiServer(bundle) as server:
        # the collection's URL pasted as the base URL works too
        env = {"COURIER_URL": server.url + "/exports/", "COURIER_API_KEY": api_key}
        done = courier(env, "exports", "get", states["failed"][:16], "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["id"] == states["failed"]
        listed = courier(env, "exports", "list", "--all", "--json")
        assert len(json.loads(listed.stdout)["items"]) == 4


def test_list_all_follows_the_cursor(handlers_env: dict[str, str], states: dict[str, str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exports", "list", "--limit", "1", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["items"]) == 1
    assert main(["exports", "list", "--all", "--json"]) == 0
    page = json.loads(capsys.readouterr().out)
    assert sorted(v["id"] for v in page["items"]) == sorted(states.values())
    assert page["next_cursor"] is None


@pytest.mark.parametrize("args", [["exports", "list"], ["exports", "get", "exp_1234"],
                                  ["deliveries", "list", "exp_1234"], ["schedules", "list"],
                                  ["watch", "exp_1234", "--timeout", "1"]],
                         ids=lambda a: " ".join(a[:2]))
def test_a_read_only_command_on_a_missing_state_makes_nothing(tmp_path: Path,
                                                              args: list[str]) -> None:
    missing = tmp_path / "nonexistent-dir" / "state.db"
    done = courier({"COURIER_STATE_URL": f"sqlite:///{missing}",
                    "COURIER_DESTINATION": f"file://{tmp_path / 'bucket'}"}, *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"the state database {missing} does not exist" in done.stderr
    assert "COURIER_STATE_URL" in done.stderr
    assert not (tmp_path / "nonexistent-dir").exists()
    assert not (tmp_path / "bucket").exists()


def test_the_default_state_in_another_folder_is_not_made(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items() if not k.startswith("COURIER_")}
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-m", "courier.cli", "exports", "list"],
                          cwd=tmp_path, env={**clean, "PYTHONPATH": str(root)},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert ".courier" in done.stderr and "COURIER_STATE_URL" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_watch_on_local_state_without_tick_says_so(handlers_env: dict[str, str],
                                                   states: dict[str, str],
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["watch", states["submitted"], "--timeout", "0.5", "--interval", "0.2"]) == 1
    err = capsys.readouterr().err
    assert "--tick" in err and "nothing polls this machine's state" in err


@pytest.mark.parametrize("url, words", [
    ("localhost:8080", "must be the API's base URL, starting with http:// or https://"),
    ("http://127.0.0.1:1", "nothing answered there"),
])
def test_remote_errors_in_words(url: str, words: str) -> None:
    done = courier({"COURIER_URL": url, "COURIER_API_KEY": "k"}, "exports", "list")
    assert done.returncode in (1, 2)
    assert words in done.stderr, done.stderr
    for internal in ("InvalidSchema", "ConnectionError", "Errno", "Traceback"):
        assert internal not in done.stderr


def test_a_port_in_use_is_said_in_words(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = courier({"COURIER_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
                        "COURIER_DESTINATION": f"file://{tmp_path / 'bucket'}",
                        "COURIER_PROFILE": "sandbox"}, "ui", "--port", str(port),
                       "--no-tick", timeout=60)
    assert done.returncode == 1
    assert "already in use" in done.stderr and "--port" in done.stderr, done.stderr
    assert "Errno" not in done.stderr and "OSError" not in done.stderr


def test_aws_client_errors_are_said_in_words() -> None:
    from botocore.exceptions import NoCredentialsError, NoRegionError

    from courier.cli import in_words

    assert "set AWS_REGION" in (in_words(NoRegionError()) or "")
    assert "AWS_ACCESS_KEY_ID" in (in_words(NoCredentialsError()) or "")


def test_help_groups_the_commands() -> None:
    done = courier({}, "--help")
    out = done.stdout
    panels = [line for line in out.splitlines() if line.endswith(":") and not line.startswith(" ")]
    assert panels[-4:] == ["Get started:", "Operate:", "Deploy:", "Develop:"], out
    assert out.index("doctor") > out.index("Get started:")
    assert out.index("exports") > out.index("Operate:") > out.index("doctor")
