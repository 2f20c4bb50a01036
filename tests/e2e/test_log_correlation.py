"""Every log line about one export carries its id, through create, poll and complete."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.helpers import cls_body, post, until_terminal


@pytest.mark.usefixtures("handlers_env")
def test_every_line_about_an_export_carries_its_id(sandbox: Any, api_key: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    status, created = post(api_key, cls_body())
    assert status == 202
    export_id = created["id"]
    assert until_terminal(export_id, api_key, sandbox)["state"] == "delivered"
    lines = []
    for raw in capsys.readouterr().out.splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    about = [line for line in lines
             if export_id in str(line.get("message", "")) and line.get("level") != "METRIC"]
    # accepted and submitted (create), delivered (complete), its webhook queued: all tagged
    assert len(about) >= 4, [line.get("message") for line in lines][:40]
    untagged = [line["message"] for line in about if line.get("export_id") != export_id]
    assert not untagged
