"""Alibaba DMS: the published GetDataExportDownloadURL answer, through
alibabacloud-dms-enterprise20181101, to :class:`DmsProvider`."""

from __future__ import annotations

from typing import Any

import pytest

from shared.model import ExportTask, UrlSource
from shared.pacing import RateLimiter
from shared.providers.dms import DmsProvider
from shared.vendor_settings import AlibabaSettings
from tests.vendor_examples.support import record

EXAMPLES: dict[str, dict[str, Any]] = {
    # Success true with ErrorCode/ErrorMessage "UnknownError" filled in (the page's example
    # column): a success, the URL is used
    "alibaba-GetDataExportDownloadURL-1.json": {
        "url": "https://dms-idb-hangzhou.oss-cn-hangzhou.aliyuncs.com/xxx.zip"},
}


@pytest.fixture
def dms(sandbox: Any, limiter: RateLimiter) -> DmsProvider:
    ak, secret = sandbox.dms.credentials
    return DmsProvider(AlibabaSettings(ak, secret, endpoint=sandbox.url), limiter=limiter)


def test_get_data_export_download_url(dms: DmsProvider, sandbox: Any) -> None:
    name = "alibaba-GetDataExportDownloadURL-1.json"
    record(sandbox, name)
    task = ExportTask(provider="dms", params=dms.validate({"Tid": 1, "OrderId": 4000001}))
    task.remote["OrderId"] = 4000001
    source = dms.result(task)
    assert isinstance(source, UrlSource) and source.url == EXAMPLES[name]["url"]
