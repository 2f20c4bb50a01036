"""Structured JSON logs (Powertools Logger) with secrets scrubbed on the way out.

Library modules log through ``logging.getLogger(__name__)``; :func:`setup` gives them the
handler's JSON format and adds :class:`Redactor`, which masks configured secrets (API keys,
webhook secrets, cloud keys, every value read from a secret store) and the query strings of
URLs (presigned links carry their signature there) in every record — a second line of
defence behind code that never logs them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from shared.config import Settings
from shared.runtime.context import tag_records

# A URL or request path followed by a query string: presigned links carry their signature
# and temporary token there.
URL_QUERY = re.compile(r"((?:https?://[^\s\"'?#/]+)?/[^\s\"'?#]*)\?[^\s\"']*")
# Vendor SDK and HTTP client loggers print whole requests and answers (presigned URLs,
# signatures) at DEBUG; they are held at WARNING whatever the function's log level.
CHATTY_LOGGERS = ("tencentcloud_sdk_common", "urllib3", "botocore", "boto3", "s3transfer",
                  "qcloud_cos", "alibabacloud_tea_openapi", "darabonba")
MASK = "[redacted]"


class Redactor(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return URL_QUERY.sub(lambda m: f"{m.group(1)}?{MASK}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def secrets_of(settings: Settings) -> list[str]:
    values = [*settings.api_keys, *settings.webhook_secrets, *settings.resolved_secrets]
    if settings.tencent:
        values += [settings.tencent.secret_key, settings.tencent.token or ""]
    if settings.alibaba:
        values += [settings.alibaba.access_key_secret, settings.alibaba.security_token or ""]
    return values


def hold_sdk_loggers() -> None:
    """Keep the vendor SDKs' request/answer dumps out of the logs: before :func:`setup` too,
    as when settings are read from a secret store at cold start (the answer is the secret)."""
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def setup(service: str, settings: Settings) -> Logger:
    hold_sdk_loggers()
    logger = Logger(service=service)
    redactor = Redactor(secrets_of(settings))
    tag_records()
    logger.addFilter(redactor)
    for handler in logger.handlers:
        handler.addFilter(redactor)
    copy_config_to_registered_loggers(source_logger=logger, include={"shared"})
    shared_logger = logging.getLogger("shared")
    for handler in shared_logger.handlers:
        handler.addFilter(redactor)
    return logger
