"""``courier`` as an operator runs it: against a real local API server and against the local
state, tables and ``--json``, exit codes, ``watch`` ending when the export ends."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from courier.cli import main
from courier.server import LocalApiServer
from tests.scenarios import several_states

ROOT = Path(__file__).resolve().parents[3]


def courier(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("COURIER_", "TENCENTCLOUD_", "ALIBABA_CLOUD_"))}
    return subprocess.run([sys.executable, "-m", "courier.cli", *args], cwd=ROOT,
                          env={**clean, **env}, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture
def states(bundle: Any, sandbox: Any) -> dict[str, str]:
    return several_states(bundle, sandbox)


def test_local_state_table_json_and_exit_codes(handlers_env: dict[str, str],
                                               states: dict[str, str],
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN exports in four states in this machine's state; WHEN listed as a table
    assert main(["exports", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["ID", "PROVIDER", "STATE"]
    shown = {line.split()[0]: line.split()[2] for line in lines[1:]}
    assert shown == {v: k for k, v in states.items()}
    copying = next(line for line in lines if line.startswith(states["copying"]))
    assert re.search(r"━+─+ [\d.]+ KB / [\d.]+ KB 50%", copying), copying
    # --json is the API's page
    assert main(["exports", "list", "--json", "--state", "delivered"]) == 0
    page = json.loads(capsys.readouterr().out)
    assert [x["id"] for x in page["items"]] == [states["delivered"]]
    delivered = page["items"][0]["destination"]
    assert delivered["copy"]["bytes_done"] == delivered["size"] > 0
    assert main(["exports", "get", states["copying"], "--json"]) == 0
    copy = json.loads(capsys.readouterr().out)["destination"]["copy"]
    assert copy["bytes_done"] == copy["bytes_total"] // 2 and copy["parts_done"] == 1
    # deliveries of the delivered export: the webhook the receiver acknowledged
    assert main(["deliveries", "list", states["delivered"]]) == 0
    table = capsys.readouterr().out
    assert "export.delivered" in table and "HTTP 204" in table
    # a failed request: exit 1, one line naming the problem; usage: exit 2
    assert main(["exports", "get", "exp_nothing"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == "courier: no export with id or id prefix 'exp_nothing'"
    assert main(["exports", "cancel", states["delivered"]]) == 1
    assert "cannot be cancelled" in capsys.readouterr().err
    assert main(["exports", "list", "--limit", "0"]) == 2
    assert main(["exports", "frobnicate"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_against_a_real_api_server(bundle: Any, states: dict[str, str], api_key: str) -> None:
    with LocalApiServer(bundle) as server:
        env = {"COURIER_URL": server.url, "COURIER_API_KEY": api_key}
        listed = courier(env, "exports", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert {x["id"]: x["state"] for x in json.loads(listed.stdout)["items"]} == {
            v: k for k, v in states.items()}
        table = courier(env, "exports", "get", states["failed"])
        assert table.returncode == 0 and "failed" in table.stdout
        # POST routes: check a pending export, retry the failed one
        assert courier(env, "exports", "check", states["submitted"], "--json").returncode == 0
        retried = courier(env, "exports", "retry", states["failed"], "--json")
        assert json.loads(retried.stdout)["state"] in ("accepted", "submitted")
        # the key comes from a config file too
        config = Path(bundle.settings.state_url.split("///", 1)[1]).parent / "courier.ini"
        config.write_text(f"[courier]\nurl = {server.url}\napi_key = {api_key}\n")
        via_file = courier({"COURIER_CONFIG": str(config)}, "exports", "get", states["copying"],
                           "--json")
        assert via_file.returncode == 0 and json.loads(via_file.stdout)["state"] == "copying"
        # a refused request: exit 1, one line, the key never printed
        bad = courier({**env, "COURIER_API_KEY": "wrong-key-0123456789"}, "exports", "list")
        assert bad.returncode == 1
        assert bad.stderr.strip() == "courier: HTTP 401 unauthorized: invalid API key"
        missing = courier(env, "exports", "get", "exp_nothing")
        assert missing.returncode == 1
        assert missing.stderr.strip() == "courier: no export with id or id prefix 'exp_nothing'"
        for run in (listed, table, bad, missing):
            assert api_key not in run.stdout + run.stderr
        assert courier(env, "schedules", "list").returncode == 2  # no such API route
        watched = courier(env, "watch", states["delivered"], "--interval", "0.2")
        assert watched.returncode == 0 and "delivered" in watched.stderr


def test_watch_follows_an_export_to_its_end(handlers_env: dict[str, str]) -> None:
    now = int(time.time() * 1000)
    created = courier(handlers_env, "exports", "create", "cls", "-p", "TopicId=topic-watch",
                      "-p", f"From={now - 60_000}", "-p", f"To={now}", "--json")
    assert created.returncode == 0, created.stderr
    export_id = json.loads(created.stdout)["id"]
    started = time.monotonic()
    watched = courier(handlers_env, "watch", export_id, "--tick", "--interval", "0.3",
                      "--timeout", "40", timeout=60)
    assert watched.returncode == 0, watched.stdout + watched.stderr
    lines = watched.stdout.splitlines()
    states = [line.split()[2] for line in lines]
    assert states[0] in ("submitted", "accepted") and states[-1] == "delivered"
    assert re.search(r"copy ([\d.]+ KB) / \1 100%$", lines[-1]), lines[-1]
    assert re.match(rf"{export_id} delivered: [\d.]+ KB in [\d.]+ s \(", watched.stderr)
    assert time.monotonic() - started < 40
    # --json: one line per change, the last one the delivered export
    again = courier(handlers_env, "watch", export_id, "--json")
    assert json.loads(again.stdout.splitlines()[-1])["state"] == "delivered"
    # a timeout is a failure: exit 1
    accepted = courier(handlers_env, "exports", "create", "cls", "--params",
                       json.dumps({"TopicId": "topic-slow", "From": now - 1000, "To": now}),
                       "--json")
    pending = json.loads(accepted.stdout)["id"]
    late = courier(handlers_env, "watch", pending, "--timeout", "0.5", "--interval", "0.2")
    assert late.returncode == 1 and "is still submitted after 0.5 s" in late.stderr


def test_invoke_prints_the_result_on_stdout_and_logs_on_stderr(
        handlers_env: dict[str, str], tmp_path: Path, api_key: str) -> None:
    from tests.events import load_event

    now = int(time.time() * 1000)
    body = {"provider": "cls", "params": {"TopicId": "topic-app", "From": now - 1000, "To": now}}
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(load_event("scf_apigw_post_exports", body=json.dumps(body),
                                          headers={"x-api-key": api_key})))
    bad.write_text(json.dumps(load_event("scf_apigw_post_exports", body="{}",
                                         headers={"x-api-key": api_key})))
    env = {**handlers_env, "POWERTOOLS_LOG_LEVEL": "INFO"}
    ok = courier(env, "invoke", "create", str(good))
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["statusCode"] == 202  # stdout is the result alone
    assert '"level":"INFO"' in ok.stderr.replace(" ", "")  # the handler's JSON logs
    refused = courier(env, "invoke", "create", str(bad))
    assert refused.returncode == 1 and json.loads(refused.stdout)["statusCode"] == 400
    missing = courier(env, "invoke", "create", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    broken = courier({**env, "COURIER_POLL_INTERVAL_S": "soon"}, "invoke", "create", str(good))
    assert broken.returncode == 1
    assert broken.stderr.strip() == "courier: COURIER_POLL_INTERVAL_S: 'soon' is not a number"


def test_sandbox_takes_its_options_and_prints_a_shell_environment() -> None:
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "courier.cli", "sandbox", "--port", "0", "--time-scale", "10"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1] != "Ctrl-C to stop":
            line = proc.stdout.readline()
            assert line, f"the sandbox stopped early: {lines}"
            lines.append(line.strip())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    env = dict(line.split(" ", 1)[1].split("=", 1) for line in lines
               if line.startswith("export "))
    assert env["COURIER_AUTH"] == "none" and env["COURIER_PROFILE"] == "sandbox"
    assert env["COURIER_STATE_URL"] == f"sqlite:///{ROOT / '.courier' / 'state.db'}"
    assert env["COURIER_POLL_INTERVAL_S"] == "2"
    # the gateways an oss:// or cos:// destination is tried against (used: test_sandbox_cli)
    assert env["COURIER_OSS_ENDPOINT"] != env["COURIER_COS_ENDPOINT"]
    assert all(env[name].startswith("http://127.0.0.1:")
               for name in ("COURIER_OSS_ENDPOINT", "COURIER_COS_ENDPOINT"))
    assert any(line.startswith("time scale 10 ") for line in lines)
    assert courier({}, "sandbox", "--time-scale", "fast").returncode == 2
    shown = courier({}, "sandbox", "--help")
    assert shown.returncode == 0 and "--time-scale" in shown.stdout and "(default: 1.0)" in \
        shown.stdout


def test_a_split_export_shows_its_parts(handlers_env: dict[str, str], sandbox: Any,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.e2e.helpers import cls_body

    sandbox.cls.log_rates["topic-busy"] = 20_000.0  # over the CLS cap: two parts
    params = json.dumps(cls_body("topic-busy")["params"])
    assert main(["exports", "create", "cls", "--params", params, "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert main(["exports", "get", created["id"]]) == 0
    shown = capsys.readouterr().out
    for i, part in enumerate(created["parts"], 1):
        assert re.search(rf"part {i} of 2 +Queuing +{part['from']}\.\.{part['to']} +"
                         rf"36,000,000 logs +{part['export_id']}", shown), shown


HOSTILE = "[/]\x1b]0;owned\x07\x1b[2J[bold]"  # markup that breaks rich, escapes a terminal runs
SHOWN = r"[/]\x1b]0;owned\x07\x1b[2J[bold]"  # what the person must see instead


def test_vendor_and_caller_values_are_shown_as_plain_text(
        handlers_env: dict[str, str], bundle: Any, states: dict[str, str],
        capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN values from vendors and callers that hold rich markup and terminal escapes:
    # a file name, a destination URI, a vendor's error text, a parameter, a webhook's error
    store = bundle.store()
    failed = store.get_task(states["failed"])
    failed.params["Query"] = HOSTILE
    failed.error = {**(failed.error or {}), "reason": f"vendor says {HOSTILE}"}
    store.update_task(failed)
    delivered = store.get_task(states["delivered"])
    delivered.destination = {**delivered.destination, "key": "report[bold]secret[/bold].csv",
                             "uri": f"file:///bucket/{HOSTILE}.csv"}
    store.update_task(delivered)
    [hook] = store.list_deliveries(task_id=states["delivered"]).items
    hook.attempts = [{**hook.attempts[0], "status": None, "error": f"refused {HOSTILE}"}]
    store.update_delivery(hook)
    # WHEN an operator looks at them THEN every value is shown as written, escapes visible
    for args, expected in (
            (["exports", "get", states["failed"]], ('"Query": "[/]\\u001b]0;owned',
                                                    f"vendor says {SHOWN}")),
            (["exports", "get", states["delivered"]], (f"file:///bucket/{SHOWN}.csv",)),
            (["exports", "list"], ("report[bold]secret[/bold].csv",)),
            (["deliveries", "list", states["delivered"]], (f"refused {SHOWN}",))):
        assert main(args) == 0, args
        out = capsys.readouterr().out
        for text in expected:
            assert text in out, out
        assert "\x1b" not in out and "\x07" not in out
    # a problem's text that echoes the caller's input reaches stderr escaped too
    assert main(["exports", "get", "exp_\x1b]0;owned\x07"]) == 1
    err = capsys.readouterr().err
    assert r"exp_\x1b]0;owned\x07" in err and "\x1b" not in err


def test_courier_signs_its_requests_with_an_hmac_key(bundle: Any, sandbox: Any,
                                                     api_key: str) -> None:
    # GIVEN only the HMAC key (no API key to send): every request is signed, none replayed
    with LocalApiServer(bundle) as server:
        env = {"COURIER_URL": server.url, "COURIER_HMAC_KEY": api_key}
        now = int(time.time() * 1000)
        created = courier(env, "exports", "create", "cls", "-p", "TopicId=topic-app",
                          "-p", f"From={now - 60_000}", "-p", f"To={now}",
                          "--idempotency-key", "signed-1", "--json")
        assert created.returncode == 0, created.stderr
        export_id = json.loads(created.stdout)["id"]
        listed = courier(env, "exports", "list", "--provider", "cls", "--limit", "5", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [x["id"] for x in json.loads(listed.stdout)["items"]] == [export_id]
        checked = courier(env, "exports", "check", export_id, "--json")
        assert checked.returncode == 0, checked.stderr
        # a wrong key is refused, and no key is printed
        wrong = courier({**env, "COURIER_HMAC_KEY": "not-the-key-0123"}, "exports", "list")
        assert wrong.returncode == 1
        assert wrong.stderr.strip() == "courier: HTTP 401 unauthorized: invalid signature"
        assert api_key not in created.stdout + created.stderr + listed.stderr


def test_an_export_into_a_named_destination_shows_its_name(handlers_env: dict[str, str],
                                                           tmp_path: Path) -> None:
    env = {**handlers_env, "COURIER_DESTINATIONS": json.dumps(
        {"raw": {"url": f"file://{tmp_path}/raw", "key_template": "raw/{file_name}"}})}
    now = int(time.time() * 1000)
    window = ["-p", "TopicId=topic-raw", "-p", f"From={now - 60_000}", "-p", f"To={now}"]
    created = courier(env, "exports", "create", "cls", *window, "--destination", "raw",
                      "--watch", "--tick", "--json", timeout=60)
    assert created.returncode == 0, created.stdout + created.stderr
    done = json.loads(created.stdout.splitlines()[-1])
    assert (done["state"], done["destination_name"]) == ("delivered", "raw")
    uri = done["destination"]["uri"]
    assert uri.startswith(f"file://{tmp_path}/raw/raw/")
    shown = courier(env, "exports", "get", done["id"])
    assert re.search(rf"destination\s+raw {re.escape(uri)}", shown.stdout), shown.stdout
    listed = courier(env, "exports", "list")
    assert f"raw: raw/{uri.rsplit('/', 1)[-1]}"[:16] in listed.stdout, listed.stdout
    unknown = courier(env, "exports", "create", "cls", *window, "--destination", "nope")
    assert unknown.returncode != 0
    assert "'nope' is not a configured destination" in unknown.stdout + unknown.stderr
