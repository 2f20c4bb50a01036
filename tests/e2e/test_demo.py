"""``make demo`` as a user runs it: one export per provider, every one delivered."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = ("cls", "dlc", "mongodb", "tcss", "dms", "cloudwatch")
CW_STREAMS = 3  # the demo's log group: one gzip object per stream, and the manifest


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
        # CloudWatch Logs through moto: every object and the manifest listing them verified
        cw = re.search(r"^exp_\w+\s+cloudwatch\s+delivered\s+(\S+) \((\d+) objects\)\s+\d+\s+"
                       r"[0-9a-f]{32} ok\s+export\.delivered verified", out, re.MULTILINE)
        assert cw is not None, out
        assert cw.group(1).endswith("/manifest.json") and int(cw.group(2)) == CW_STREAMS
        manifest = json.loads((ROOT / ".courier" / "bucket" / cw.group(1)).read_text())
        assert manifest["totals"]["objects"] == CW_STREAMS
        chat = re.search(r"^chat: the sandbox WeCom bot received (\d+) message\(s\) covering "
                         r"(\d+)/(\d+) exports, 0 refused; first: \*\*(Export delivered|\d+ "
                         r"exports delivered in the last minute:)\*\*$",
                         out, re.MULTILINE)
        assert chat is not None, out
        assert chat.group(2) == chat.group(3) == total.group(2)
        assert 1 <= int(chat.group(1)) < int(total.group(2))  # the later ones as a digest
        # CLS and DMS land unpacked under their data's partitions; DuckDB reads one back
        assert re.search(r"^exp_\w+\s+cls\s+delivered\s+cls/topic-app-logs/dt=\d{4}-\d\d-\d\d/"
                         r"hour=\d\d/exp_\w+/manifest\.json \(1 objects\)", out, re.MULTILINE)
        assert re.search(r"^exp_\w+\s+dms\s+delivered\s+dms/tid-1/dt=[-\d]+/hour=\d\d/exp_\w+/"
                         r"manifest\.json \(1 objects\)", out, re.MULTILINE)
        # one CLS export into the second destination, with its own key template, kept whole
        archive = re.search(r"^exp_\w+\s+cls\s+delivered\s+archive: (cls/\d{8}/exp_\w+/"
                            r"\S+\.tar\.gz)\s+\d+\s+[0-9a-f]{32} ok\s+export\.delivered "
                            r"verified", out, re.MULTILINE)
        assert archive is not None, out
        assert (ROOT / ".courier" / "archive" / archive.group(1)).is_file()
        assert "into destination archive" in out
        assert re.search(r"^query: SELECT count\(\*\), sum\(seq\) FROM read_json_auto\('.+"
                         r"\.json\.gz', hive_partitioning = true\) WHERE dt = '[-\d]+' AND "
                         r"hour = '\d\d'$", out, re.MULTILINE), out
        answer = re.search(r"^answer: (\d+) rows, sum\(seq\) = (\d+); the sandbox exported "
                           r"(\d+) rows, sum (\d+) ok$", out, re.MULTILINE)
        assert answer is not None, out
        assert answer.group(1, 2) == answer.group(3, 4) and int(answer.group(1)) > 0
        # one CLS export in a second account and region, through its assumed role
        assert re.search(r"^exp_\w+\s+cls\s+delivered\s+cls/topic-shanghai-orders/\S+ .*"
                         r"export\.delivered verified\s+shanghai$", out, re.MULTILINE), out
        assert "Traceback" not in out + done.stderr
