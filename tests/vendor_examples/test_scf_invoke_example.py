"""SCF Invoke: the published answer, through tencentcloud-sdk-python-scf, to the completion
dispatch (:class:`shared.runtime.dispatch.ScfDispatcher`)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from shared.config import Settings
from shared.runtime.dispatch import ScfDispatcher
from shared.vendor_settings import TencentSettings
from tests.vendor_examples.support import record

EXAMPLES: dict[str, dict[str, Any]] = {
    # handed over; the log names the function's own request id
    "tencent-Invoke-1.json": {"target": "default/function-demo",
                              "function_request": "6add56fa-58f1-11e8-89a9-5254005d5fdb"},
}


def test_invoke(sandbox: Any, tencent: TencentSettings,
                caplog: pytest.LogCaptureFixture) -> None:
    name = "tencent-Invoke-1.json"
    record(sandbox, name)
    dispatcher = ScfDispatcher.build(Settings(
        profile="sandbox", auth="none", dispatch="scf", complete_function="function-demo",
        tencent=tencent))
    with caplog.at_level(logging.INFO, logger="shared.runtime.dispatch"):
        dispatcher.dispatch("exp_0123456789abcdef01234567")
    want = EXAMPLES[name]
    line = next(r.getMessage() for r in caplog.records if "handed to" in r.getMessage())
    assert want["target"] in line and want["function_request"] in line
