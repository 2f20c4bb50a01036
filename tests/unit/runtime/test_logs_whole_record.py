"""The log redactor covers the whole record under the functions' real logging setup: the
message, the traceback of ``log.exception`` (its causes included), and every string of the
``extra`` fields, at any depth. Read back as the platform does: JSON lines on stdout."""

from __future__ import annotations

import json
import logging

import pytest

from shared.config import Settings
from shared.redact import MASK
from shared.runtime import logs
from shared.vendor_settings import TencentSettings

SERVICE = "export-courier-redaction-test"
SECRET_KEY = "tc-secret-key-Xq81LmZp0w"  # a configured Tencent SecretKey
API_KEY = "api-key-of-the-redaction-test-0123456789"
SIGNATURE = "9f86d081884c7d659a2feaa0c55ad015"
LINK = ("https://exports-1250000000.cos.ap-guangzhou.myqcloud.com/app/f.csv?q-sign-algorithm="
        f"sha1&q-ak=AKIDlinkkey&q-sign-time=1;2&q-key-time=1;2&q-signature={SIGNATURE}")
SETTINGS = Settings(profile="sandbox", auth="none", api_keys=(API_KEY,),
                    tencent=TencentSettings(secret_id="AKIDtest", secret_key=SECRET_KEY))
FORBIDDEN = (SECRET_KEY, API_KEY, SIGNATURE, "AKIDlinkkey")

log = logging.getLogger("shared.redaction_test")  # a library module's logger, as in shared/


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def fail() -> None:
    try:
        raise KeyError(f"credential {SECRET_KEY} refused")
    except KeyError as cause:
        raise RuntimeError(f"download of {LINK} failed") from cause


def assert_clean(out: str) -> None:
    for secret in FORBIDDEN:
        assert secret not in out


def test_a_traceback_and_extra_fields_carry_no_secret(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    logger = logs.setup(SERVICE, SETTINGS)
    extra = {"request": {"url": LINK, "headers": [f"Authorization: key={API_KEY}"],
                         "nested": [{"deeper": (SECRET_KEY, 3)}]},
             "vendor_error": RuntimeError(f"refused {SECRET_KEY}"), "attempt": 2}
    try:
        fail()
    except RuntimeError:
        log.exception("copy of %s failed", "f.csv", extra=extra)  # a library module
        logger.exception("complete failed", extra={"reason": f"key {SECRET_KEY}"})  # handler

    out = capsys.readouterr().out
    assert_clean(out)
    library, handler = json_lines(out)
    # what is not secret is all still there
    assert library["message"] == "copy of f.csv failed" and library["attempt"] == 2
    assert library["exception_name"] == "RuntimeError"
    trace = library["exception"]
    assert "Traceback" in trace and "in fail" in trace and "KeyError" in trace
    assert f"credential {MASK} refused" in trace and "/app/f.csv?" + MASK in trace
    assert library["request"]["url"].endswith("/app/f.csv?" + MASK)
    assert library["request"]["nested"] == [{"deeper": [MASK, 3]}]
    assert library["vendor_error"] == f"refused {MASK}"
    assert handler["service"] == SERVICE and handler["reason"] == f"key {MASK}"
    assert handler["exception_name"] == "RuntimeError" and MASK in handler["exception"]


def test_a_traceback_without_secrets_keeps_the_structured_stack(
        capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup(SERVICE, SETTINGS)
    try:
        raise ValueError("an ordinary failure")
    except ValueError:
        log.exception("ordinary")
    [line] = json_lines(capsys.readouterr().out)
    assert line["exception_name"] == "ValueError" and "an ordinary failure" in line["exception"]
    assert line["stack_trace"]["frames"]  # the formatter's own rendering, untouched


def test_stack_info_and_a_cached_traceback_are_scrubbed_for_plain_formatters() -> None:
    redactor = logs.LogRedactor()
    logs.setup(SERVICE, SETTINGS)  # the process's redactor learns the settings' secrets
    record = logging.LogRecord("shared.x", logging.WARNING, __file__, 1, "stack", (), None)
    record.stack_info = f'Stack (most recent call last):\n  get("{LINK}")'
    record.exc_text = f"Traceback …\nOSError: {SECRET_KEY}"
    assert redactor.filter(record)
    text = logging.Formatter().format(record)
    assert_clean(text)
    assert "Stack (most recent call last)" in text and f"OSError: {MASK}" in text
