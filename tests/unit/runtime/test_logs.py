from __future__ import annotations

import logging

from shared.redact import MASK, Redactor
from shared.runtime.logs import LogRedactor


def test_redacts_configured_secrets_and_url_queries() -> None:
    redactor = LogRedactor(Redactor(["super-secret-key", "whsec_abcdefgh"]))
    record = logging.LogRecord("shared.x", logging.INFO, __file__, 1,
                               "key=%s url=%s hook=%s", ("super-secret-key",
                               "https://b.cos.ap-guangzhou.myqcloud.com/f.json?sign=abc&t=1",
                               "whsec_abcdefgh"), None)
    assert redactor.filter(record)
    text = record.getMessage()
    assert "super-secret-key" not in text
    assert "sign=abc" not in text
    assert "whsec_abcdefgh" not in text
    assert "https://b.cos.ap-guangzhou.myqcloud.com/f.json?" + MASK in text


def test_short_values_are_not_treated_as_secrets() -> None:
    redactor = LogRedactor(Redactor(["abc"]))
    assert redactor.scrub("abc def") == "abc def"
