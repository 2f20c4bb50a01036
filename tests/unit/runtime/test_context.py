"""The export keys of log lines (shared/runtime/context.py) under the functions' real logging
setup: the open context's keys, a line's own keys winning over them, never a collision."""

from __future__ import annotations

import json
import logging

import pytest

from shared.config import Settings
from shared.runtime import logs
from shared.runtime.context import CURRENT_EXPORT, export_context, export_keys, note_provider

log = logging.getLogger("shared.context_test")


def keys_of(text: str) -> list[tuple[str, str | None, str | None]]:
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return [(line["message"], line.get("export_id"), line.get("provider")) for line in lines]


def test_lines_carry_the_context_keys_and_their_own_win(
        capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("export-courier-context-test", Settings(profile="sandbox", auth="none"))
    with export_context("exp_1", "cls"):
        log.info("inside")
        log.info("about another", extra=export_keys("exp_2", "dms"))  # no KeyError
        with export_context("exp_1"):  # the same export, provider not repeated: kept
            log.info("nested")
    with export_context(None, "tcss"):  # a group poll
        log.info("group")
    with export_context("exp_3"):
        log.info("before the provider is known")
        note_provider("mongodb")
        log.info("after")
    note_provider("dlc")  # outside any context: nothing to note, nothing changed
    log.info("outside")
    assert CURRENT_EXPORT.get() == {}
    assert keys_of(capsys.readouterr().out) == [
        ("inside", "exp_1", "cls"), ("about another", "exp_2", "dms"),
        ("nested", "exp_1", "cls"), ("group", None, "tcss"),
        ("before the provider is known", "exp_3", None), ("after", "exp_3", "mongodb"),
        ("outside", None, None)]
