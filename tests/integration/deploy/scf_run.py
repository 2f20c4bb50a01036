"""Running `courier deploy scf` against the sandbox from a test: the stand-in package, the
deploying shell, and the count of SCF writes a run made (fixtures in conftest.py)."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from courier.cli import main as courier_main
from deploy.descriptors import SAMPLE_DEPLOY_ENV, SCF_DESCRIPTOR
from deploy.package import TARGETS

NAMES = {k: f"export-courier-prod-{k}" for k in ("create", "poll", "complete")}


def stand_in_zip(marker: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for key in NAMES:
            module = TARGETS["scf"].handler(key).rsplit(".", 1)[0]
            zf.writestr(f"{module}.py", f"# {marker}\nfrom functions.x import handler\n")
    return buffer.getvalue()


def make_workdir(tmp_path: Path) -> Path:
    shutil.copy2(SCF_DESCRIPTOR, tmp_path / "serverless.yml")
    (tmp_path / "courier.zip").write_bytes(stand_in_zip("one"))
    return tmp_path


def set_deploy_env(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    secret_id, secret_key = sandbox.credentials
    env = {**SAMPLE_DEPLOY_ENV, "TENCENTCLOUD_SECRETID": secret_id,
           "TENCENTCLOUD_SECRETKEY": secret_key}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TENCENTCLOUD_SESSIONTOKEN", raising=False)
    sandbox.scf.settle_s = 0.3  # creates and updates take a moment, as on SCF
    return env


def deploy(sandbox: Any, workdir: Path, capsys: pytest.CaptureFixture[str],
           *extra: str) -> tuple[int, str, str]:
    before = dict(sandbox.calls)
    code = courier_main(["deploy", "scf", "--descriptor", str(workdir / "serverless.yml"),
                         "--package", str(workdir / "courier.zip"), "--endpoint", sandbox.url,
                         "--wait", "10", *extra])
    out, err = capsys.readouterr()
    writes = {a: n - before.get(("scf", a), 0) for (s, a), n in sandbox.calls.items()
              if s == "scf" and not a.startswith(("Get", "List")) and n - before.get((s, a), 0)}
    return code, out + err, json.dumps(writes, sort_keys=True)


def writes_of(text: str) -> dict[str, int]:
    result: dict[str, int] = json.loads(text)
    return result
