"""`courier deploy scf` end to end: tencentcloud-sdk-python-scf, TC3-signed, against the
sandbox's SCF management API — a first deploy, a code-only update, a changed timer, an
idempotent re-run, a dry run, and the refusals that must stop it with a named cause."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.descriptors import SAMPLE_DEPLOY_ENV
from deploy.package import TARGETS
from deploy.scf_deploy import PACKAGE_SHA_ENV
from tests.integration.deploy.scf_run import NAMES, deploy, stand_in_zip, writes_of

pytestmark = pytest.mark.integration

def url_trigger_id(sandbox: Any) -> str:
    (trigger,) = [t for t in sandbox.scf.function(NAMES["create"])["triggers"].values()
                  if t["Type"] == "http"]
    return str(trigger["url_id"])


@pytest.mark.usefixtures("deploy_env")
def test_first_deploy_then_code_update_then_timer_change_then_nothing(
        sandbox: Any, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN the functions do not exist yet
    code, out, writes = deploy(sandbox, workdir, capsys)
    assert code == 0, out
    assert writes_of(writes) == {"CreateFunction": 3, "CreateTrigger": 3}
    url = next(line.split(": ", 1)[1] for line in out.splitlines()
               if line.startswith("function URL: "))
    assert url == f"https://1250000000-{url_trigger_id(sandbox)}.ap-guangzhou.tencentscf.com"
    create = sandbox.scf.function(NAMES["create"])
    assert create["Runtime"] == "Python3.10" == f"Python{TARGETS['scf'].python}"
    assert create["Handler"] == "create_export.handler"
    assert (create["MemorySize"], create["Timeout"]) == (256, 30)
    assert create["Role"] == SAMPLE_DEPLOY_ENV["COURIER_SCF_ROLE"]
    assert create["env"]["COURIER_STATE_URL"] == SAMPLE_DEPLOY_ENV["COURIER_STATE_URL"]
    assert create["env"]["COURIER_COMPLETE_FUNCTION"] == f"default/{NAMES['complete']}"
    # the platform names the URL after its id; ours is known by its description
    (url_trigger,) = [t for t in create["triggers"].values() if t["Type"] == "http"]
    assert url_trigger["Description"] == "export-courier courier-url"
    assert json.loads(url_trigger["TriggerDesc"]) == {
        "AuthType": "NONE", "NetConfig": {"EnableIntranet": False, "EnableExtranet": True}}
    assert url_trigger["Qualifier"] == "$DEFAULT"
    poll = sandbox.scf.function(NAMES["poll"])
    assert json.loads(poll["triggers"][("timer", "poll-every-minute")]["TriggerDesc"]) == {
        "cron": "0 */1 * * * * *"}
    assert sandbox.scf.function(NAMES["complete"])["triggers"] == {}

    # WHEN only the code changes: new code everywhere, configuration unchanged but the
    # package marker, no trigger touched
    first_sha = create["env"][PACKAGE_SHA_ENV]
    (workdir / "courier.zip").write_bytes(stand_in_zip("two"))
    code, out, writes = deploy(sandbox, workdir, capsys)
    assert code == 0, out
    assert writes_of(writes) == {"UpdateFunctionCode": 3, "UpdateFunctionConfiguration": 3}
    assert "UpdateFunctionConfiguration export-courier-prod-create (Environment)" in out
    assert sandbox.scf.function(NAMES["create"])["env"][PACKAGE_SHA_ENV] != first_sha
    assert f"function URL: {url}" in out  # the same URL

    # WHEN the poll timer changes in serverless.yml
    doc = yaml.safe_load((workdir / "serverless.yml").read_text(encoding="utf-8"))
    doc["inputs"]["triggers"][0]["parameters"]["cronExpression"] = "0 */2 * * * * *"
    (workdir / "serverless.yml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    code, out, writes = deploy(sandbox, workdir, capsys)
    assert code == 0, out
    assert writes_of(writes) == {"UpdateTrigger": 1}
    assert "UpdateTrigger export-courier-prod-poll/poll-every-minute (cron)" in out
    assert json.loads(sandbox.scf.function(NAMES["poll"])["triggers"][
        ("timer", "poll-every-minute")]["TriggerDesc"]) == {"cron": "0 */2 * * * * *"}

    # WHEN nothing changed: reads only
    code, out, writes = deploy(sandbox, workdir, capsys)
    assert code == 0, out
    assert writes_of(writes) == {}
    assert "changed: 0 step(s)" in out and f"function URL: {url}" in out


@pytest.mark.usefixtures("deploy_env")
def test_dry_run_changes_nothing(sandbox: Any, workdir: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    code, out, writes = deploy(sandbox, workdir, capsys, "--dry-run")
    assert code == 0, out
    assert writes_of(writes) == {} and sandbox.scf.functions == {}
    assert "would CreateFunction export-courier-prod-create" in out
    assert "would CreateTrigger export-courier-prod-create/courier-url (http)" in out
    assert "would change: 6 step(s)" in out


@pytest.mark.usefixtures("deploy_env")
def test_a_refused_call_names_the_action_and_what_was_done(
        sandbox: Any, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = yaml.safe_load((workdir / "serverless.yml").read_text(encoding="utf-8"))
    doc["inputs"]["triggers"][0]["parameters"]["cronExpression"] = "0 */1 * * * *"  # 6 fields
    (workdir / "serverless.yml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    before = sum(sandbox.calls.values())
    code, out, _ = deploy(sandbox, workdir, capsys)
    assert code == 1
    assert "timer poll-every-minute" in out and "7 fields" in out and "or 5" in out
    assert sum(sandbox.calls.values()) == before  # stopped by the descriptor check, no call
    assert sandbox.scf.functions == {}


@pytest.mark.usefixtures("deploy_env")
def test_a_runtime_change_is_refused_by_name(sandbox: Any, workdir: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(sandbox, workdir, capsys)[0] == 0
    sandbox.scf.function(NAMES["complete"])["Runtime"] = "Python3.9"
    code, out, writes = deploy(sandbox, workdir, capsys)
    assert code == 1
    assert "runs Python3.9" in out and "inputs.runtime" in out
    assert writes_of(writes) == {}


@pytest.mark.usefixtures("deploy_env")
def test_an_sdk_refusal_is_reported_with_its_code(sandbox: Any, workdir: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    sandbox.faults.add("scf", "CreateTrigger", kind="error", code="UnauthorizedOperation",
                       message="CAM denies scf:CreateTrigger", times=1)
    code, out, _ = deploy(sandbox, workdir, capsys)
    assert code == 1
    assert "SCF refused CreateTrigger for export-courier-prod-poll/poll-every-minute" in out
    assert "UnauthorizedOperation" in out
    assert "done before it: CreateFunction export-courier-prod-complete" in out


def test_missing_settings_and_package_stop_before_any_call(
        sandbox: Any, workdir: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (*SAMPLE_DEPLOY_ENV, "TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY"):
        monkeypatch.delenv(name, raising=False)
    code, out, _ = deploy(sandbox, workdir, capsys)
    assert code == 1
    assert "needs COURIER_API_KEYS, COURIER_DESTINATION" in out and "COURIER_SCF_ROLE" in out
    for name, value in SAMPLE_DEPLOY_ENV.items():
        monkeypatch.setenv(name, value)
    code, out, _ = deploy(sandbox, workdir, capsys)
    assert code == 1 and "TENCENTCLOUD_SECRETID" in out
    secret_id, secret_key = sandbox.credentials
    monkeypatch.setenv("TENCENTCLOUD_SECRETID", secret_id)
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", "wrong-" + secret_key)
    code, out, _ = deploy(sandbox, workdir, capsys)
    assert code == 1 and "AuthFailure" in out and "GetFunction" in out
    assert secret_key not in out
    monkeypatch.setenv("TENCENTCLOUD_SECRETKEY", secret_key)
    (workdir / "courier.zip").unlink()
    code, out, _ = deploy(sandbox, workdir, capsys)
    assert code == 1 and "make package" in out
    assert sandbox.scf.functions == {}


def _set_url(workdir: Path, **parameters: Any) -> None:
    doc = yaml.safe_load((workdir / "serverless.yml").read_text(encoding="utf-8"))
    (url,) = [t for t in doc["inputs"]["triggers"] if t["type"] == "http"]
    url["parameters"].update(parameters)
    (workdir / "serverless.yml").write_text(yaml.safe_dump(doc), encoding="utf-8")


@pytest.mark.usefixtures("deploy_env")
def test_a_changed_function_url_is_replaced_only_when_asked(
        sandbox: Any, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = deploy(sandbox, workdir, capsys)
    assert code == 0, out
    first = url_trigger_id(sandbox)
    # WHEN the URL's settings change: nothing is changed, the run says why and how
    _set_url(workdir, authType="CAM")
    code, out, writes = deploy(sandbox, workdir, capsys)
    assert code == 1 and writes_of(writes) == {}
    assert "function URL of export-courier-prod-create differs" in out and "AuthType" in out
    assert "--replace-url" in out and "nothing was changed" in out
    # the dry run lists the same problem after the plan
    code, out, _ = deploy(sandbox, workdir, capsys, "--dry-run")
    assert code == 1 and "would change: 0 step(s)" in out and "--replace-url" in out
    # WHEN asked: the old URL is deleted and a new one made (never UpdateTrigger)
    code, out, writes = deploy(sandbox, workdir, capsys, "--replace-url")
    assert code == 0, out
    assert writes_of(writes) == {"DeleteTrigger": 1, "CreateTrigger": 1}
    assert url_trigger_id(sandbox) != first
    assert f"function URL: https://1250000000-{url_trigger_id(sandbox)}." in out


def test_scf_lists_and_refuses_triggers_as_documented(
        sandbox: Any, deploy_env: dict[str, str], workdir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from courier.scf_api import sdk_call
    from tests.vendor_examples.support import example

    assert deploy(sandbox, workdir, capsys)[0] == 0
    call = sdk_call("ap-guangzhou", sandbox.url, deploy_env)
    listed = call("ListTriggers", {"FunctionName": NAMES["create"]})["Triggers"]
    (url,) = [t for t in listed if t["Type"] == "http"]
    # the shape of Tencent's published ListTriggers example
    (shown,) = example("tencent-ListTriggers-1.json")["Response"]["Triggers"]
    assert set(shown) <= set(url) and url["TriggerName"] == url_trigger_id(sandbox)
    net = json.loads(url["TriggerDesc"])["NetConfig"]
    assert set(net) == set(json.loads(shown["TriggerDesc"])["NetConfig"])
    assert net["ExtranetUrl"].endswith(".ap-guangzhou.tencentscf.com") and net["IntranetUrl"] == ""
    # UpdateTrigger takes timers only
    with pytest.raises(Exception) as refused:  # noqa: PT011 - the SDK's exception
        call("UpdateTrigger", {"FunctionName": NAMES["create"], "Type": "http",
                               "TriggerName": url["TriggerName"], "Enable": "OPEN"})
    assert refused.value.code == "UnsupportedOperation.Trigger"  # type: ignore[attr-defined]
    call("UpdateTrigger", {"FunctionName": NAMES["poll"], "Type": "timer",
                           "TriggerName": "poll-every-minute", "TriggerDesc": "*/5 * * * *"})
    (timer,) = call("ListTriggers", {"FunctionName": NAMES["poll"]})["Triggers"]
    assert json.loads(timer["TriggerDesc"]) == {"cron": "*/5 * * * *"}
    assert timer["Enable"] == 1  # not sent, kept


def test_a_throttled_call_is_made_again_and_other_refusals_are_not(
        sandbox: Any, deploy_env: dict[str, str], workdir: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    from courier.scf_api import THROTTLE_WAITS_S, sdk_call

    assert deploy(sandbox, workdir, capsys)[0] == 0
    waits: list[float] = []
    call = sdk_call("ap-guangzhou", sandbox.url, deploy_env, sleep=waits.append)
    # SCF's rate refusal, twice: the third try answers
    sandbox.faults.add("scf", "GetFunction", kind="error", code="RequestLimitExceeded",
                       message="request rate exceeds 20 per second", times=2)
    assert call("GetFunction", {"FunctionName": NAMES["create"]})["FunctionName"] == \
        NAMES["create"]
    assert waits == list(THROTTLE_WAITS_S[:2])
    # throttled on every try: the refusal reaches the caller after the last wait
    waits.clear()
    sandbox.faults.add("scf", "GetFunction", kind="error", code="RequestLimitExceeded",
                       message="request rate exceeds 20 per second", times=None)
    with pytest.raises(Exception) as throttled:  # noqa: PT011 - the SDK's exception
        call("GetFunction", {"FunctionName": NAMES["create"]})
    sandbox.faults.clear()
    assert throttled.value.code == "RequestLimitExceeded"  # type: ignore[attr-defined]
    assert waits == list(THROTTLE_WAITS_S)
    # any other refusal is not tried again
    waits.clear()
    sandbox.faults.add("scf", "GetFunction", kind="error", code="InternalError", times=1)
    with pytest.raises(Exception) as refused:  # noqa: PT011 - the SDK's exception
        call("GetFunction", {"FunctionName": NAMES["create"]})
    assert refused.value.code == "InternalError" and waits == []  # type: ignore[attr-defined]
