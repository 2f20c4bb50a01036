"""TCSS export jobs through the real tencentcloud-sdk-python-tcss against the sandbox: the
provider contract (:mod:`tests.integration.providers.contract`) and what is TCSS's own."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from shared.errors import ProviderError
from shared.model import ExportTask
from shared.pacing import RateLimiter
from shared.providers.base import PollResult, RemoteStatus
from shared.providers.tcss import TcssProvider
from shared.vendor_settings import TencentSettings
from tests.integration.providers.contract import ProviderContract


def settings(sandbox: Any) -> TencentSettings:
    secret_id, secret_key = sandbox.credentials
    return TencentSettings(secret_id, secret_key, endpoint=sandbox.url)


@pytest.fixture
def tcss(sandbox: Any) -> TcssProvider:
    return TcssProvider(settings(sandbox), limiter=RateLimiter(rate=1000))


class TestTcssContract(ProviderContract):
    service = "tcss"
    status_action = "DescribeExportJobManageList"
    params = {"Action": "CreateHostExportJob"}
    bad_params = [
        ({"Action": "DeleteHost"}, "params.Action"),
        ({"Action": "CreateHostExportJob", "Params": {"Bogus": 1}}, "params.Params.Bogus"),
        ({"Action": "CreateHostExportJob", "Params": []}, "params.Params"),
    ]

    @pytest.fixture
    def provider(self, tcss: TcssProvider) -> TcssProvider:
        return tcss

    def forget(self, task: ExportTask) -> None:
        task.remote["JobId"] = "export-never-made"


def test_tcss_progress_is_a_float(tcss: TcssProvider, sandbox: Any) -> None:
    task = ExportTask(provider="tcss", params=tcss.validate({"Action": "CreateHostExportJob"}))
    task.remote.update(tcss.create(task).remote)
    sandbox.clock.advance(sandbox.queue_s + sandbox.process_s / 2)
    running = tcss.poll([task])[task.id]
    assert isinstance(running, PollResult) and running.status is RemoteStatus.PENDING
    assert running.progress is not None and 0 < running.progress < 100


def test_tcss_job_progress_then_url(tcss: TcssProvider, sandbox: Any) -> None:
    params = tcss.validate({"Action": "CreateHostExportJob",
                            "Params": {"ExportField": ["HostName"], "Limit": 100}})
    task = ExportTask(provider="tcss", params=params)
    task.remote.update(tcss.create(task).remote)
    running = tcss.poll([task])[task.id]
    assert not isinstance(running, ProviderError)
    assert running.status is RemoteStatus.PENDING
    sandbox.clock.advance(60)
    done = tcss.poll([task])[task.id]
    assert not isinstance(done, ProviderError) and done.status is RemoteStatus.READY
    task.result.update(done.result)
    before = sandbox.calls.get(("tcss", "DescribeExportJobDownloadURL"), 0)
    fresh = tcss.result(task, refresh=True)
    assert sandbox.calls[("tcss", "DescribeExportJobDownloadURL")] == before + 1
    assert requests.get(fresh.url, timeout=5).status_code == 200


def test_tcss_failure_reason(tcss: TcssProvider, sandbox: Any) -> None:
    sandbox.fail_export_jobs("CreateVulExportJob")
    task = ExportTask(provider="tcss", params=tcss.validate({"Action": "CreateVulExportJob"}))
    task.remote.update(tcss.create(task).remote)
    sandbox.clock.advance(60)
    outcome = tcss.poll([task])[task.id]
    assert not isinstance(outcome, ProviderError)
    assert outcome.status is RemoteStatus.FAILED and outcome.reason
