"""docs/deploy.md's rehearsal, run as written: build, start the sandbox, deploy, deploy again
(nothing), change the timer (one UpdateTrigger), change the code (one UpdateFunctionCode per
function). The sandbox is a real process; `courier` and the package build are the real ones."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from deploy.descriptors import ROOT

pytestmark = pytest.mark.integration

GUIDE = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
TITLE = "### Rehearsal: deploy twice against the sandbox"


def _block() -> str:
    section = GUIDE[GUIDE.index(TITLE):]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found, "the rehearsal shows one sh block"
    return found.group(1)


def test_the_rehearsal_runs_as_written() -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("COURIER_", "TENCENTCLOUD_"))}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", _block()],  # noqa: S603,S607
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=540,
                          check=False)
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    # each deploy's summary, in order, as the comments of the block say
    assert re.findall(r"^changed: (\d+) step", out, re.M) == ["6", "0", "1", "6"], out
    runs = out.split("\nchanged: ")
    assert "function URL: https://" in runs[1]
    assert "UpdateTrigger export-courier-prod-poll/poll-every-minute (cron)" in runs[2]
    assert len(re.findall(r"^UpdateFunctionCode ", runs[3], re.M)) == 3
    assert len(re.findall(r"^UpdateFunctionConfiguration .* \(Environment\)$", runs[3],
                          re.M)) == 3
    assert "TENCENTCLOUD_SECRETKEY" not in done.stderr
