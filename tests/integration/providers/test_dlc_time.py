"""DLC DescribeTasks lists only a window of CreateTime (issue 18 row 6): the sandbox honours
it as the SDK model describes it, and the provider sends windows that find older tasks."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.dlc.v20210125 import dlc_client, models

from sandbox import Sandbox
from shared.errors import ProviderError
from shared.providers.base import RemoteStatus
from shared.providers.dlc import DlcProvider
from shared.providers.dlc_time import windows
from tests.integration.providers.drive import step, submit
from tests.integration.sandbox.sandbox_support import profile

DAY = 86400.0
CHINA = timezone(timedelta(hours=8))


def sdk(sb: Sandbox) -> dlc_client.DlcClient:
    return dlc_client.DlcClient(credential.Credential(*sb.credentials), "ap-guangzhou",
                                profile(sb))


def listed(sb: Sandbox, task_id: str, **window: str) -> bool:
    req = models.DescribeTasksRequest()
    req.from_json_string(json.dumps({"Filters": [{"Name": "task-id", "Values": [task_id]}],
                                     **window}))
    return any(t.Id == task_id for t in sdk(sb).DescribeTasks(req).TaskList or [])


def ago(sb: Sandbox, days: float) -> str:
    when = datetime.fromtimestamp(sb.clock.now() - days * DAY, tz=CHINA)
    return when.strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize(("default_days", "seen"), [(7, False), (45, True)])
def test_without_start_time_the_default_window_decides(sb: Sandbox, default_days: int,
                                                        seen: bool) -> None:
    # 7 days back on the API page, 45 in the SDK model: sb.dlc.window_days switches
    sb.dlc.window_days = default_days
    old = sb.dlc.add_task("SELECT 1", age_s=20 * DAY)
    assert listed(sb, sb.dlc.add_task("SELECT 2"))
    assert listed(sb, old) is seen
    assert listed(sb, old, StartTime=ago(sb, 21))


@pytest.mark.parametrize(("window", "code"), [
    ({"StartTime": "2026/01/01"}, "InvalidParameter.InvalidTimeFormat"),
    ({"StartTime": "days-31"}, "InvalidParameter.InvalidTimeParameter"),  # span > 30 days
    ({"StartTime": "days-46", "EndTime": "days-40"}, "InvalidParameter.InvalidTimeParameter"),
    ({"StartTime": "days-2", "EndTime": "days-3"}, "InvalidParameter.InvalidTimeParameter"),
])
def test_windows_outside_the_limits_are_refused(sb: Sandbox, window: dict[str, str],
                                                code: str) -> None:
    sent = {k: ago(sb, float(v[5:])) if v.startswith("days-") else v
            for k, v in window.items()}
    with pytest.raises(TencentCloudSDKException) as err:
        listed(sb, "any", **sent)
    assert err.value.code == code


@pytest.mark.parametrize("age_days", [0.001, 10, 28, 40])
def test_an_existing_older_task_id_is_found_and_exported(dlc: DlcProvider, sb: Sandbox,
                                                         age_days: float) -> None:
    task_id = sb.dlc.add_task("SELECT * FROM orders", age_s=age_days * DAY)
    task = submit(dlc, {"TaskId": task_id})
    assert task.remote["own_task"] is False and task.remote["created"]
    moved = step(dlc, task)  # the poll finds it too (its window starts at its creation)
    assert moved.status is RemoteStatus.PENDING and task.stage == "download"
    sb.clock.advance(5)
    assert step(dlc, task).status is RemoteStatus.READY


def test_a_task_older_than_dlc_lists_is_not_found(dlc: DlcProvider, sb: Sandbox) -> None:
    task_id = sb.dlc.add_task("SELECT 1", age_s=50 * DAY)
    with pytest.raises(ProviderError) as err:
        submit(dlc, {"TaskId": task_id})
    assert err.value.retryable is False
    assert sb.calls[("dlc", "DescribeTasks")] == 2  # the last 29 days, then the 29 before


def test_every_window_keeps_inside_the_limits() -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
    for oldest in (None, now, now - timedelta(days=3), now - timedelta(days=29),
                   now - timedelta(days=40), now - timedelta(days=90)):
        for window in windows(oldest, now):
            start = datetime.strptime(window["StartTime"], "%Y-%m-%d %H:%M:%S")
            end = (datetime.strptime(window["EndTime"], "%Y-%m-%d %H:%M:%S")
                   if "EndTime" in window else now.astimezone(CHINA).replace(tzinfo=None))
            assert timedelta(0) < end - start <= timedelta(days=30), (oldest, window)
            assert now.astimezone(CHINA).replace(tzinfo=None) - start <= timedelta(days=45)


def test_own_tasks_are_polled_with_a_window_from_their_creation(dlc: DlcProvider,
                                                                 sb: Sandbox) -> None:
    sent: list[dict[str, Any]] = []
    call = dlc.api.call

    def spy(action: str, params: dict[str, Any]) -> dict[str, Any]:
        if action == "DescribeTasks":
            sent.append(params)
        return call(action, params)

    dlc.api.call = spy  # type: ignore[method-assign]
    task = submit(dlc, {"SQL": "SELECT 1", "DatabaseName": "sales"})
    step(dlc, task)
    assert sent and all("StartTime" in p for p in sent)


def test_not_found_codes_are_the_sdks(dlc: DlcProvider, sb: Sandbox) -> None:
    # issue 18 row 13: dlc/v20210125/errorcodes.py has InvalidParameter.TaskNotFound (and no
    # ResourceNotFound.TaskNotFound); an unknown download gets the generic ResourceNotFound
    req = models.CancelTaskRequest()
    req.TaskId = "0b2f7c1e-0000-4000-8000-000000000000"
    with pytest.raises(TencentCloudSDKException) as err:
        sdk(sb).CancelTask(req)
    assert err.value.code == "InvalidParameter.TaskNotFound"
    download = models.DescribeResultDownloadRequest()
    download.DownloadId = "no-such-download"
    with pytest.raises(TencentCloudSDKException) as err:
        sdk(sb).DescribeResultDownload(download)
    assert err.value.code == "ResourceNotFound"
    # cancelling an own task DLC no longer knows is no error
    task = submit(dlc, {"SQL": "SELECT 1", "DatabaseName": "sales"})
    sb.dlc.tasks.clear()
    dlc.cancel(task)
    with pytest.raises(ProviderError) as missing:
        submit(dlc, {"TaskId": req.TaskId})
    assert missing.value.code == "InvalidParameter.TaskNotFound"
