"""The functions' logging setup leaves later tests (and later invocations) able to read the
logs: it is idempotent, its handlers follow sys.stdout, and the tests put the ``shared``
logger back. The tests run in this order on purpose: the second failed only after the first
had run (the first test's handler kept writing to its closed capture); the third found a
handler with a filter for each setup."""

from __future__ import annotations

import json
import logging

import pytest

from shared.config import Settings
from shared.runtime import logs

log = logging.getLogger("shared.setup_test")  # a library module's logger, as in shared/
SERVICE = "export-courier-setup-test"
SETTINGS = Settings(profile="sandbox", auth="none", api_keys=("key-of-the-setup-test",))


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_setup_gives_the_shared_loggers_the_functions_json_and_redactor(
        capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup(SERVICE, SETTINGS)
    log.warning("key %s", "key-of-the-setup-test")
    [line] = lines(capsys.readouterr().out)
    assert line["service"] == SERVICE and line["message"] == "key [redacted]"


def test_a_later_test_without_setup_finds_the_shared_logger_as_it_was(
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    log.warning("between the setups")
    captured = capsys.readouterr()
    # no JSON line from the earlier test's handler, no "Logging error" from a closed stream
    assert (captured.out, captured.err) == ("", "")
    assert [r.getMessage() for r in caplog.records] == ["between the setups"]


def test_a_second_setup_writes_to_the_stdout_of_now_with_one_handler_and_one_filter(
        capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup(SERVICE, SETTINGS)  # a warm refresh: the Logger exists already
    logs.setup(SERVICE, SETTINGS)
    log.warning("after the second setup")
    assert [line["message"] for line in lines(capsys.readouterr().out)] == [
        "after the second setup"]
    [handler] = logging.getLogger("shared").handlers
    assert sorted(type(f).__name__ for f in handler.filters) == ["ExportTagger", "LogRedactor"]
