"""Structured JSON logs (Powertools Logger) with secrets scrubbed on the way out.

Library modules log through ``logging.getLogger(__name__)``; :func:`setup` gives them the
handler's JSON format and adds :class:`LogRedactor`, which masks in every record what the
process's redactor masks in error texts (:mod:`shared.redact`: configured secrets, URL
passwords, signature parameters) and, in logs, the whole query string of URLs (presigned
links carry their signature there) — a second line of defence behind code that never logs
them.
"""

from __future__ import annotations

import logging
import re
import sys

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from shared import redact
from shared.clouds import hold_sdk_loggers
from shared.config import Settings
from shared.redact import MASK
from shared.runtime.context import tag_records

# A URL or request path followed by a query string: presigned links carry their signature
# and temporary token there.
URL_QUERY = re.compile(r"((?:https?://[^\s\"'?#/]+)?/[^\s\"'?#]*)\?[^\s\"']*")
class LogRedactor(logging.Filter):
    """A filter scrubbing records with ``redactor`` (the process's, unless given), and the
    query strings of URLs."""

    def __init__(self, redactor: redact.Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or redact.REDACTOR

    def scrub(self, text: str) -> str:
        return URL_QUERY.sub(lambda m: f"{m.group(1)}?{MASK}", self.redactor.scrub(text))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


class StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is when a record is emitted — the platform's stdout
    on SCF and Lambda, stderr under ``courier invoke`` (which redirects stdout there) — not
    to the stream of the first :func:`setup`, which may be closed by then. Assigning
    ``stream`` pins another one."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)
        self._pinned: object = None

    @property  # type: ignore[override]
    def stream(self) -> object:
        return self._pinned if self._pinned is not None else sys.stdout

    @stream.setter
    def stream(self, value: object) -> None:
        self._pinned = value


def setup(service: str, settings: Settings) -> Logger:
    """The function's Logger, its format and redactor also given to the ``shared`` loggers.
    Idempotent: a second setup (a warm refresh, another function in the same process) adds
    no handler and no filter, and the handlers follow ``sys.stdout`` (:class:`StdoutHandler`)."""
    hold_sdk_loggers()
    redact.learn(settings.secret_values())
    configured = getattr(logging.getLogger(service), "init", False)  # Powertools' own mark
    logger = Logger(service=service) if configured else Logger(service=service,
                                                               logger_handler=StdoutHandler())
    tag_records()
    shared = logging.getLogger("shared")  # Powertools configures registered loggers only
    copy_config_to_registered_loggers(source_logger=logger, include={"shared"})
    targets: list[logging.Filterer] = [logging.getLogger(service), *logger.handlers,
                                       *shared.handlers]
    for target in targets:
        if not any(isinstance(f, LogRedactor) for f in target.filters):
            target.addFilter(LogRedactor())
    return logger
