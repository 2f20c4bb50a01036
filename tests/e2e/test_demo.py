"""``make demo`` as a user runs it: one export per provider, every one delivered."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = ("cls", "dlc", "mongodb", "tcss", "dms")


@pytest.mark.timeout(300)
def test_demo_delivers_one_export_per_provider() -> None:
    # run twice, as a user does: the second run keeps the first one's state and bucket
    command = "import sys; from courier.cli import main; sys.exit(main(['demo']))"
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", command], cwd=ROOT, capture_output=True,
                              text=True, timeout=120, check=False)
        out = done.stdout
        assert done.returncode == 0, out + done.stderr
        total = re.search(r"^demo: (\d+)/(\d+) exports delivered$", out, re.MULTILINE)
        assert total is not None and total.group(1) == total.group(2)
        rows = re.findall(r"^exp_\w+\s+(\w+)\s+(\w+)\s", out, re.MULTILINE)
        assert int(total.group(2)) == len(rows) >= len(PROVIDERS)
        assert {p for p, _ in rows} == set(PROVIDERS)
        assert all(state == "delivered" for _, state in rows)
        assert "export.waiting, export.delivered verified" in out  # the DMS approval wait
        assert "Traceback" not in out + done.stderr
