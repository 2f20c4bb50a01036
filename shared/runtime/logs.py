"""Structured JSON logs (Powertools Logger) with secrets scrubbed on the way out.

Library modules log through ``logging.getLogger(__name__)``; :func:`setup` gives them the
handler's JSON format and adds :class:`LogRedactor`, which masks in every record what the
process's redactor masks in error texts (:mod:`shared.redact`: configured secrets, URL
passwords, signature parameters) and, in logs, the whole query string of URLs (presigned
links carry their signature there) — a second line of defence behind code that never logs
them. It covers the whole record, not only its message: the traceback of ``log.exception``
(an exception's text often quotes the request that failed), the stack of ``stack_info``, and
every string, at any depth, of the ``extra`` fields.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from shared import redact
from shared.clouds import hold_sdk_loggers
from shared.config import Settings
from shared.redact import MASK
from shared.runtime.context import ExportTagger

# A URL or request path followed by a query string: presigned links carry their signature
# and temporary token there.
URL_QUERY = re.compile(r"((?:https?://[^\s\"'?#/]+)?/[^\s\"'?#]*)\?[^\s\"']*")
# What every record has; anything else on a record came in through ``extra`` (or a filter).
RECORD_FIELDS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime"}
MAX_DEPTH = 20  # extra fields nested deeper than this are shown as a mask, not walked


class LogRedactor(logging.Filter):
    """A filter scrubbing records with ``redactor`` (the process's, unless given), and the
    query strings of URLs: the message, the traceback, the stack and the extra fields."""

    def __init__(self, redactor: redact.Redactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or redact.REDACTOR

    def scrub(self, text: str) -> str:
        return URL_QUERY.sub(lambda m: f"{m.group(1)}?{MASK}", self.redactor.scrub(text))

    def scrub_value(self, value: Any, depth: int = 0) -> Any:
        """``value`` with every string in it scrubbed: dicts (keys too), lists and tuples
        walked; any other object that the JSON formatter would show as its text is replaced
        by that text scrubbed, if it needed scrubbing."""
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if depth > MAX_DEPTH:
            return MASK
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, dict):
            return {self.scrub_value(k, depth + 1): self.scrub_value(v, depth + 1)
                    for k, v in value.items()}
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.scrub_value(v, depth + 1) for v in value]
        text = str(value)
        clean = self.scrub(text)
        return value if clean == text else clean

    def filter(self, record: logging.LogRecord) -> bool:
        self._message(record)
        self._exception(record)
        if record.stack_info:
            record.stack_info = self.scrub(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in RECORD_FIELDS:
                setattr(record, name, self.scrub_value(value))
        return True

    def _message(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, dict) and not record.args:  # a structured message
            record.msg = self.scrub_value(record.msg)
            return
        message = record.getMessage()
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None

    def _exception(self, record: logging.LogRecord) -> None:
        """A traceback that quotes a secret is replaced by its scrubbed text: ``exc_text``
        (what the standard formatter prints) and the JSON formatter's ``exception`` and
        ``exception_name`` fields; the exception itself is dropped from the record, since
        a formatter would render it again from the raw exception (its text, its causes)."""
        info = record.exc_info
        if isinstance(info, tuple) and info[0] is not None:
            text = "".join(traceback.format_exception(*info)).rstrip("\n")
            clean = self.scrub(text)
            if clean != text:
                record.exc_text = clean
                record.exception = clean  # type: ignore[attr-defined]
                record.exception_name = info[0].__name__  # type: ignore[attr-defined]
                record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.scrub(record.exc_text)


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
    shared = logging.getLogger("shared")  # Powertools configures registered loggers only
    copy_config_to_registered_loggers(source_logger=logger, include={"shared"})
    targets: list[logging.Filterer] = [logging.getLogger(service), *logger.handlers,
                                       *shared.handlers]
    for target in targets:
        for kind in (ExportTagger, LogRedactor):  # tagged first: the tags are scrubbed too
            if not any(isinstance(f, kind) for f in target.filters):
                target.addFilter(kind())
    return logger
