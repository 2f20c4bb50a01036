"""Schedules too big for the 4 KB environment, read from a JSON file at cold start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from courier.local import LocalContext
from shared.errors import ConfigError
from tests.events import load_event


def schedules(n: int) -> list[dict[str, Any]]:
    return [{"name": f"cls-{i:03d}", "provider": "cls", "every_s": 3600,
             "params": {"TopicId": f"topic-app-{i}", "From": "${window_start_ms}",
                        "To": "${window_end_ms}"}} for i in range(n)]


def test_schedules_from_a_file_fire(handlers_env: dict[str, str], tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch, sandbox: Any) -> None:
    from functions import common, create_export

    many = schedules(40)
    assert len(json.dumps(many)) > 4096  # more than SCF or Lambda would take in the environment
    (tmp_path / "schedules.json").write_text(json.dumps(many))
    monkeypatch.setenv("COURIER_SCHEDULES", f"file:{tmp_path / 'schedules.json'}")
    common.reset()
    fired = create_export.handler(load_event("scf_timer", Message="cls-039",
                                             Time="2026-11-22T10:17:00Z"), LocalContext())
    [made] = fired["created"]
    assert made["state"] == "submitted"
    assert len(common.bundle().settings.schedules) == 40
    assert sandbox.calls[("cls", "CreateExport")] == 1


@pytest.mark.parametrize(("content", "problem"), [
    (None, "not found"), ("[", "is not valid JSON"), ("[{\"every_s\": 3600}]", ".name: required"),
], ids=["missing", "not-json", "invalid"])
def test_a_bad_schedules_file_stops_the_function_at_cold_start(
        handlers_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        content: str | None, problem: str) -> None:
    from functions import common, poll_tasks

    path = tmp_path / "schedules.json"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv("COURIER_SCHEDULES", f"file:{path}")
    common.reset()
    with pytest.raises(ConfigError) as caught:
        poll_tasks.handler(load_event("scf_timer"), LocalContext(30))
    assert caught.value.message.startswith("COURIER_SCHEDULES")
    assert str(path) in caught.value.message and problem in caught.value.message
