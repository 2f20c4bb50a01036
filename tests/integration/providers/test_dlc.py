"""DlcProvider through the real tencentcloud-sdk-python-dlc against the sandbox, and the
result object read with the temporary credentials through cos-python-sdk-v5."""

from __future__ import annotations

from typing import Any

import pytest
from qcloud_cos import CosConfig, CosS3Client
from qcloud_cos.cos_exception import CosServiceError

from sandbox import Sandbox
from sandbox.dlc import APPID
from shared.clouds.tencent import cos_endpoint_kwargs
from shared.errors import ProviderError
from shared.model import CosObjectSource, ExportTask, Source, SourceSet
from shared.pacing import RateLimiter
from shared.providers.base import PollResult, Provider, RemoteStatus
from shared.providers.dlc import DlcProvider, parse_cos_path
from shared.vendor_settings import TencentSettings
from tests.integration.providers.contract import ProviderContract
from tests.integration.providers.drive import step, submit

SQL = {"SQL": "SELECT * FROM orders WHERE day = '2026-11-21'", "DatabaseName": "sales"}


def finish(dlc: DlcProvider, sb: Sandbox, task: ExportTask) -> PollResult:
    sb.clock.advance(5)
    assert step(dlc, task).stage == "download"
    sb.clock.advance(5)
    return step(dlc, task)


def cos_client(source: CosObjectSource, token: str | None = None) -> CosS3Client:
    conf = CosConfig(Region=source.region, SecretId=source.secret_id,
                     SecretKey=source.secret_key, Token=token or source.token,
                     **cos_endpoint_kwargs(source.endpoint))
    return CosS3Client(conf, retry=0)


def calls(sb: Sandbox) -> int:
    return sum(sb.calls.values())


class TestDlcContract(ProviderContract):
    service = "dlc"
    status_action = "DescribeTasks"
    cancel_action = "CancelTask"
    params = SQL
    bad_params = [
        ({"SQL": "SELECT 1"}, "params.DatabaseName"),
        ({"SQL": "SELECT 1", "DatabaseName": "db", "TaskId": "abc"}, "params.TaskId"),
        ({}, "params.SQL"),
        ({**SQL, "Format": "xml"}, "params.Format"),
        ({"TaskId": "abc", "DatabaseName": "db"}, "params.DatabaseName"),
        ({**SQL, "Limit": 5}, "params.Limit"),
    ]

    @pytest.fixture
    def provider(self, dlc: DlcProvider) -> DlcProvider:
        return dlc

    def finish(self, provider: Provider, sandbox: Any, task: ExportTask) -> PollResult:
        assert isinstance(provider, DlcProvider)
        return finish(provider, sandbox, task)

    def forget(self, task: ExportTask) -> None:
        task.remote["TaskId"] = "0b2f7c1e-0000-4000-8000-00000000dead"

    def read(self, source: Source | SourceSet) -> bytes:
        assert isinstance(source, CosObjectSource)
        answer = cos_client(source).get_object(Bucket=source.bucket, Key=source.key)
        data: bytes = answer["Body"].get_raw_stream().read()
        return data


def test_sql_export_runs_then_downloads_and_reads_with_temporary_credentials(
        dlc: DlcProvider, sb: Sandbox) -> None:
    before = calls(sb)
    task = submit(dlc, SQL)
    assert sb.calls[("dlc", "CreateTasks")] == 1
    assert task.stage == "sql" and task.remote["own_task"] is True
    first = step(dlc, task)
    assert first.status is RemoteStatus.PENDING and task.stage == "sql"

    sb.clock.advance(5)
    moved = step(dlc, task)
    assert moved.status is RemoteStatus.PENDING and task.stage == "download"
    assert task.remote["DownloadId"]
    assert step(dlc, task).status is RemoteStatus.PENDING  # queue/format
    sb.clock.advance(5)
    ready = step(dlc, task)
    assert ready.status is RemoteStatus.READY
    assert ready.result["path"].startswith("cosn://")
    assert ready.result["file_name"] == "result.csv"
    # create to ready: CreateTasks, DescribeTasks ×2, CreateResultDownload,
    # DescribeResultDownload ×2 (one poll each found it still running)
    assert calls(sb) - before == 6

    source = dlc.result(task)
    assert isinstance(source, CosObjectSource)
    assert source.endpoint == sb.url and source.token
    assert source.secret_key not in repr(source) and source.token not in repr(source)
    client = cos_client(source)
    body = client.get_object(Bucket=source.bucket, Key=source.key)["Body"].get_raw_stream()
    data = body.read()
    assert len(data) == sb.file_size
    part = client.get_object(Bucket=source.bucket, Key=source.key, Range="bytes=10-19")
    assert part["Body"].get_raw_stream().read() == data[10:20]
    head = client.head_object(Bucket=source.bucket, Key=source.key)
    assert int(head["Content-Length"]) == sb.file_size


def test_wrong_or_lapsed_credentials_are_refused_and_refresh_gets_new_ones(
        dlc: DlcProvider, sb: Sandbox) -> None:
    task = submit(dlc, SQL)
    assert finish(dlc, sb, task).status is RemoteStatus.READY
    source = dlc.result(task)

    with pytest.raises(CosServiceError) as wrong:
        cos_client(source, token="not-the-token").get_object(Bucket=source.bucket,
                                                             Key=source.key)
    assert wrong.value.get_status_code() == 403

    sb.clock.advance(sb.dlc.creds_ttl_s + 1)
    with pytest.raises(CosServiceError) as lapsed:
        cos_client(source).get_object(Bucket=source.bucket, Key=source.key)
    assert lapsed.value.get_status_code() == 403
    assert lapsed.value.get_error_code() == "ExpiredToken"

    before = sb.calls[("dlc", "DescribeResultDownload")]
    fresh = dlc.result(task, refresh=True)
    assert sb.calls[("dlc", "DescribeResultDownload")] == before + 1
    assert fresh.secret_id != source.secret_id
    got = cos_client(fresh).get_object(Bucket=fresh.bucket, Key=fresh.key)
    assert len(got["Body"].get_raw_stream().read()) == sb.file_size


def test_stored_credentials_are_reused_without_a_call(dlc: DlcProvider, sb: Sandbox) -> None:
    task = submit(dlc, SQL)
    assert finish(dlc, sb, task).status is RemoteStatus.READY
    before = calls(sb)
    dlc.result(task)
    assert calls(sb) == before


def test_broken_download_is_regenerated_once_with_force(dlc: DlcProvider,
                                                         sb: Sandbox) -> None:
    sb.dlc.broken_downloads = 1
    task = submit(dlc, SQL)
    sb.clock.advance(5)
    step(dlc, task)
    first_download = task.remote["DownloadId"]
    sb.clock.advance(5)
    again = step(dlc, task)  # status "error": regenerate with Force
    assert again.status is RemoteStatus.PENDING
    assert task.remote["forced"] is True
    assert task.remote["DownloadId"] != first_download
    assert sb.calls[("dlc", "CreateResultDownload")] == 2
    sb.clock.advance(5)
    assert step(dlc, task).status is RemoteStatus.READY


def test_download_broken_twice_fails(dlc: DlcProvider, sb: Sandbox) -> None:
    sb.dlc.broken_downloads = 2
    task = submit(dlc, SQL)
    sb.clock.advance(5)
    step(dlc, task)
    sb.clock.advance(5)
    step(dlc, task)
    sb.clock.advance(5)
    failed = step(dlc, task)
    assert failed.status is RemoteStatus.FAILED
    assert "error" in (failed.reason or "")
    assert sb.calls[("dlc", "CreateResultDownload")] == 2


def test_failed_query_is_a_permanent_failure(dlc: DlcProvider, sb: Sandbox) -> None:
    task = submit(dlc, {"SQL": "SELECT * FROM sandbox_fail", "DatabaseName": "sales"})
    sb.clock.advance(5)
    failed = step(dlc, task)
    assert failed.status is RemoteStatus.FAILED and not failed.retryable
    assert "query failed" in (failed.reason or "")
    assert ("dlc", "CreateResultDownload") not in sb.calls


def test_one_describe_settles_many_sql_tasks(dlc: DlcProvider, sb: Sandbox) -> None:
    tasks = [submit(dlc, SQL) for _ in range(3)]
    assert len({dlc.group_key(t) for t in tasks}) == 1
    outcome = dlc.poll(tasks)
    assert sb.calls[("dlc", "DescribeTasks")] == 1
    assert all(isinstance(o, PollResult) and o.status is RemoteStatus.PENDING
               for o in outcome.values())


def test_a_throttled_create_makes_no_task(dlc: DlcProvider, sb: Sandbox) -> None:
    sb.faults.add(service="dlc", action="CreateTasks", kind="error",
                  code="RequestLimitExceeded")
    with pytest.raises(ProviderError) as exc:
        submit(dlc, SQL)
    assert exc.value.retryable and exc.value.code == "RequestLimitExceeded"
    assert not sb.dlc.tasks


def test_existing_task_id_skips_the_query(dlc: DlcProvider, sb: Sandbox) -> None:
    original = submit(dlc, SQL)
    task = submit(dlc, {"TaskId": original.remote["TaskId"]})
    assert sb.calls[("dlc", "CreateTasks")] == 1
    assert task.remote["own_task"] is False
    assert finish(dlc, sb, task).status is RemoteStatus.READY

    with pytest.raises(ProviderError) as missing:
        submit(dlc, {"TaskId": "0b2f7c1e-0000-4000-8000-000000000000"})
    assert not missing.value.retryable


def test_cancel_stops_a_running_query(dlc: DlcProvider, sb: Sandbox) -> None:
    task = submit(dlc, SQL)
    dlc.cancel(task)
    sb.clock.advance(5)
    assert step(dlc, task).status is RemoteStatus.FAILED


@pytest.mark.parametrize(("path", "expected"), [
    ("cosn://bkt-125/a/b.csv", ("bkt-125", "ap-guangzhou", "a/b.csv")),
    ("https://bkt-125.cos.ap-shanghai.myqcloud.com/a/b.csv",
     ("bkt-125", "ap-shanghai", "a/b.csv")),
])
def test_result_path_formats(path: str, expected: tuple[str, str, str]) -> None:
    assert parse_cos_path(path, "ap-guangzhou") == expected


def test_unreadable_result_path_is_refused() -> None:
    with pytest.raises(ValueError):
        parse_cos_path("/tmp/result.csv", "ap-guangzhou")


EXAMPLE_PATH = "cosn://geoli-test/dlc/DLCQueryResults/2024/12/29/*/*/download/download-daace.csv"


def test_the_documented_example_path_is_read_with_the_account_appid() -> None:
    # DescribeResultDownload's example names the bucket without -<appid>, with * segments
    assert parse_cos_path(EXAMPLE_PATH, "ap-guangzhou", "1250000000") == (
        "geoli-test-1250000000", "ap-guangzhou",
        "dlc/DLCQueryResults/2024/12/29/*/*/download/download-daace.csv")
    with pytest.raises(ValueError, match="TENCENTCLOUD_APPID"):
        parse_cos_path(EXAMPLE_PATH, "ap-guangzhou")


def test_a_result_in_the_example_form_is_read_and_copied(sb: Sandbox, tmp_path: Any) -> None:
    from shared.storage.copy import copy_source
    from shared.storage.local import LocalObjectStore

    # GIVEN DLC answering Paths as its documented example does
    sb.dlc.path_form = "example"
    secret_id, secret_key = sb.credentials
    dlc = DlcProvider(TencentSettings(secret_id, secret_key, endpoint=sb.url,
                                      appid=APPID), limiter=RateLimiter(rate=1000))
    task = submit(dlc, SQL)
    assert finish(dlc, sb, task).status is RemoteStatus.READY
    assert task.result["path"].startswith("cosn://dlc-results/dlc/DLCQueryResults/")
    # WHEN the result is read
    source = dlc.result(task)
    store = LocalObjectStore(tmp_path)
    copy_source(source, store, "out.csv", part_size=5 * 1024 * 1024)
    # THEN it came from the bucket with the APPID, under the key with its * segments
    assert source.bucket == f"dlc-results-{APPID}" and "/*/*/download/" in source.key
    assert len(store.read("out.csv")) == sb.file_size
    assert task.result["file_name"].startswith("download-")


def test_a_result_in_the_example_form_without_an_appid_fails_saying_so(sb: Sandbox) -> None:
    sb.dlc.path_form = "example"
    secret_id, secret_key = sb.credentials
    dlc = DlcProvider(TencentSettings(secret_id, secret_key, endpoint=sb.url),
                      limiter=RateLimiter(rate=1000))
    task = submit(dlc, SQL)
    sb.clock.advance(5)
    step(dlc, task)
    sb.clock.advance(5)
    outcome = dlc.poll([task])[task.id]
    assert isinstance(outcome, ProviderError) and not outcome.retryable
    assert "TENCENTCLOUD_APPID" in outcome.detail


@pytest.mark.parametrize("sse", [None, "cos/kms", "AES256"], ids=["plain", "kms", "sse-cos"])
def test_result_copies_with_its_md5_checked_only_where_the_etag_is_one(
        dlc: DlcProvider, sb: Sandbox, tmp_path: Any, sse: str | None) -> None:
    import hashlib

    from shared.storage.copy import copy_source
    from shared.storage.local import LocalObjectStore

    sb.cos_objects.sse = sse  # an encrypted result (KMS or SSE-COS): its ETag is no MD5
    task = submit(dlc, SQL)
    finish(dlc, sb, task)
    source = dlc.result(task)
    head = cos_client(source).head_object(Bucket=source.bucket, Key=source.key)
    store = LocalObjectStore(tmp_path)
    result = copy_source(source, store, "out.csv", part_size=5 * 1024 * 1024)
    data = store.read("out.csv")
    assert result.md5 == hashlib.md5(data).hexdigest() and len(data) == sb.file_size
    etag_is_md5 = head["ETag"].strip('"') == result.md5
    assert etag_is_md5 is (sse is None)  # encrypted ones copy although their ETag differs


@pytest.mark.parametrize("taken", [("CSV",), ("csv",)], ids=["upper", "lower"])
@pytest.mark.parametrize("given", ["csv", "CSV"])
def test_format_in_either_case(dlc: DlcProvider, sb: Sandbox, taken: tuple[str, ...],
                               given: str) -> None:
    # GIVEN a service that takes only one spelling of Format (the docs leave it open)
    sb.dlc.formats = taken
    task = submit(dlc, {**SQL, "Format": given})
    ready = finish(dlc, sb, task)
    sb.clock.advance(5)
    ready = step(dlc, task) if ready.status is not RemoteStatus.READY else ready
    # THEN the download is made in the spelling it takes, and remembered
    assert ready.status is RemoteStatus.READY
    assert task.remote["format_sent"] == taken[0]
    assert sb.calls[("dlc", "CreateResultDownload")] == (1 if taken == ("CSV",) else 2)
