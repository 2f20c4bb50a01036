"""Every log line about one export carries its id, through create, poll and complete."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.e2e.helpers import cls_body, post, until_terminal


@pytest.mark.usefixtures("handlers_env")
def test_every_line_about_an_export_carries_its_id(sandbox: Any, api_key: str) -> None:
    from shared.runtime.context import tag_records

    tag_records()  # as the handlers' log setup does; the capture below wraps it
    # every record the bundle makes, whichever logger and handler it goes to
    records: list[logging.LogRecord] = []
    previous = logging.getLogRecordFactory()

    def keep(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        records.append(record)
        return record

    logging.setLogRecordFactory(keep)
    try:
        status, created = post(api_key, cls_body())
        assert status == 202
        export_id = created["id"]
        assert until_terminal(export_id, api_key, sandbox)["state"] == "delivered"
    finally:
        logging.setLogRecordFactory(previous)
    about = [r for r in records if export_id in r.getMessage()]
    # accepted and submitted (create), delivered (complete), its webhook queued: all tagged
    assert len(about) >= 4, [r.getMessage() for r in records][:40]
    untagged = [r.getMessage() for r in about if getattr(r, "export_id", None) != export_id]
    assert not untagged
    # and the JSON log line a function writes has it as a key
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    line = LambdaPowertoolsFormatter().format(about[0])
    assert f'"export_id":"{export_id}"' in line.replace(" ", "")
