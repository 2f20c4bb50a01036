"""MongoDB log download tasks and TCSS export jobs through the real SDK clients."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.mongodb.v20190725 import models as mongo_models
from tencentcloud.mongodb.v20190725 import mongodb_client
from tencentcloud.tcss.v20201101 import models as tcss_models
from tencentcloud.tcss.v20201101 import tcss_client

from sandbox import Sandbox
from sandbox.tcss import CREATE_ACTIONS
from tests.integration.sandbox.sandbox_support import profile, request

WINDOW = {"StartTime": "2024-05-01 00:00:00", "EndTime": "2024-05-01 06:00:00"}


@pytest.fixture
def mongo(sb: Sandbox) -> mongodb_client.MongodbClient:
    return mongodb_client.MongodbClient(credential.Credential(*sb.credentials),
                                        "ap-guangzhou", profile(sb))


@pytest.fixture
def tcss(sb: Sandbox) -> tcss_client.TcssClient:
    return tcss_client.TcssClient(credential.Credential(*sb.credentials), "ap-guangzhou",
                                  profile(sb))


def tasks(mongo: Any, instance: str = "cmgo-abc", **page: Any) -> Any:
    return mongo.DescribeLogDownloadTasks(request(
        mongo_models.DescribeLogDownloadTasksRequest, InstanceId=instance, **page))


def test_log_download_task_lifecycle(sb: Sandbox, mongo: Any) -> None:
    created = mongo.CreateLogDownloadTask(request(
        mongo_models.CreateLogDownloadTaskRequest, InstanceId="cmgo-abc",
        LogLevels=["W"], **WINDOW))
    assert json.loads(created.to_json_string()).keys() == {"Status", "RequestId"}
    listing = tasks(mongo)
    assert listing.TotalCount == 1
    task = listing.Tasks[0]
    assert task.Status == 0 and task.Url == "" and task.TaskId
    sb.clock.advance(2)
    assert tasks(mongo).Tasks[0].Status == 1
    assert 0 < tasks(mongo).Tasks[0].Percent < 100
    sb.clock.advance(5)
    done = tasks(mongo).Tasks[0]
    assert (done.Status, done.Percent, done.FileSize) == (2, 100, 4096)
    assert len(requests.get(done.Url, timeout=5).content) == 4096
    mongo.DeleteLogDownloadTask(request(mongo_models.DeleteLogDownloadTaskRequest,
                                        InstanceId="cmgo-abc", TaskId=done.TaskId))
    assert tasks(mongo).TotalCount == 0


def test_log_download_failure_and_errors(sb: Sandbox, mongo: Any) -> None:
    sb.fail_log_downloads("cmgo-bad")
    mongo.CreateLogDownloadTask(request(mongo_models.CreateLogDownloadTaskRequest,
                                        InstanceId="cmgo-bad", **WINDOW))
    sb.clock.advance(10)
    assert tasks(mongo, "cmgo-bad").Tasks[0].Status == 3
    for params, code in [
        ({"InstanceId": "mysql-1", **WINDOW}, "InvalidParameterValue.NotFoundInstance"),
        ({"InstanceId": "cmgo-abc", "StartTime": "yesterday", "EndTime": WINDOW["EndTime"]},
         "InvalidParameterValue.TimeFormatErr"),
        ({"InstanceId": "cmgo-abc", "StartTime": WINDOW["EndTime"],
          "EndTime": WINDOW["StartTime"]},
         "InvalidParameterValue.StartTimeNotBeforeThanEndTime"),
        ({"InstanceId": "cmgo-abc"}, "MissingParameter"),
    ]:
        with pytest.raises(TencentCloudSDKException) as err:
            mongo.CreateLogDownloadTask(request(mongo_models.CreateLogDownloadTaskRequest,
                                                **params))
        assert err.value.code == code


@pytest.mark.parametrize("action", ["CreateHostExportJob",
                                    "CreateExportComplianceStatusListJob"])
def test_export_job_lifecycle(sb: Sandbox, tcss: Any, action: str) -> None:
    job_id = getattr(tcss, action)(request(getattr(tcss_models, action + "Request"))).JobId
    result = tcss.DescribeExportJobResult(request(
        tcss_models.DescribeExportJobResultRequest, JobId=job_id))
    assert (result.ExportStatus, result.DownloadURL) == ("RUNNING", "")
    with pytest.raises(TencentCloudSDKException):
        tcss.DescribeExportJobDownloadURL(request(
            tcss_models.DescribeExportJobDownloadURLRequest, JobID=job_id))
    sb.clock.advance(10)
    result = tcss.DescribeExportJobResult(request(
        tcss_models.DescribeExportJobResultRequest, JobId=job_id))
    assert (result.ExportStatus, result.ExportProgress) == ("SUCCESS", 100)
    again = tcss.DescribeExportJobDownloadURL(request(
        tcss_models.DescribeExportJobDownloadURLRequest, JobID=job_id))
    assert len(requests.get(again.DownloadURL, timeout=5).content) == 4096
    listed = tcss.DescribeExportJobManageList(request(
        tcss_models.DescribeExportJobManageListRequest))
    assert [j.JobID for j in listed.List] == [job_id]


def test_every_sdk_export_job_action_is_served(sb: Sandbox, tcss: Any) -> None:
    sb.rate_limit = 1000
    sdk_actions = {name for name in dir(tcss)
                   if name.startswith("Create") and name.endswith("Job") and "Export" in name}
    assert sdk_actions == set(CREATE_ACTIONS)
    for action in sorted(sdk_actions):
        assert getattr(tcss, action)(request(getattr(tcss_models, action + "Request"))).JobId


def test_failed_export_job(sb: Sandbox, tcss: Any) -> None:
    sb.fail_export_jobs("CreateVulExportJob")
    job_id = tcss.CreateVulExportJob(request(tcss_models.CreateVulExportJobRequest)).JobId
    sb.clock.advance(10)
    result = tcss.DescribeExportJobResult(request(
        tcss_models.DescribeExportJobResultRequest, JobId=job_id))
    assert result.ExportStatus == "FAILURE" and result.FailureMsg
    with pytest.raises(TencentCloudSDKException) as err:
        tcss.DescribeExportJobResult(request(tcss_models.DescribeExportJobResultRequest,
                                             JobId="export-nope"))
    assert err.value.code == "ResourceNotFound"
