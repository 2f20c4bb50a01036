"""CLS export lifecycle through the real tencentcloud-sdk-python-cls."""

from __future__ import annotations

import io
import re
import tarfile
from typing import Any, Callable

import pytest
import requests
from tencentcloud.cls.v20201016 import models
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from sandbox import Sandbox
from tests.integration.sandbox.sandbox_support import NOW_MS, create, describe, find, request

EXPORT_INFO_FIELDS = {"TopicId", "ExportId", "Query", "FileName", "FileSize", "Order", "Format",
                      "Count", "Status", "From", "To", "CosPath", "CreateTime", "SyntaxRule",
                      "DerivedFields", "CreateTimestamp"}


def test_export_queues_processes_completes_and_downloads(sb: Sandbox, cls: Any) -> None:
    export_id = create(cls, Order="asc", Format="csv", SyntaxRule=0)
    info = find(cls, export_id)
    assert info.Status == "Queuing" and info.CosPath == "" and info.FileSize == 0
    sb.clock.advance(1.5)
    assert find(cls, export_id).Status == "Processing"
    sb.clock.advance(2)
    done = find(cls, export_id)
    assert done.Status == "Completed"
    assert (done.TopicId, done.Order, done.Format, done.SyntaxRule, done.Count) == (
        "topic-a", "asc", "csv", 0, 1000)
    assert (done.From, done.To) == (NOW_MS - 60_000, NOW_MS)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", done.CreateTime)
    assert done.CosPath.startswith(f"{sb.url}/files/") and "sign=" in done.CosPath
    body = requests.get(done.CosPath, timeout=5).content
    assert len(body) == done.FileSize and body[:2] == b"\x1f\x8b"  # gzip, as CLS ships it
    assert re.fullmatch(r"log_\w+_topic-a_\d{8}_\w+_\d+\.tar\.gz", done.FileName)
    member = unpack(body)
    assert len(member) == 4096 and member.count(b"\n") == 4096 // 200


def unpack(body: bytes) -> bytes:
    """The one member of a CLS export's tar.gz."""
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as tar:
        (member,) = tar.getmembers()
        extracted = tar.extractfile(member)
        assert extracted is not None
        return extracted.read()


def test_export_info_carries_every_sdk_field(sb: Sandbox, cls: Any) -> None:
    create(cls)
    payload = describe(cls)
    info = payload.Exports[0]
    assert {name.lstrip("_") for name in vars(info)} == EXPORT_INFO_FIELDS
    assert all(getattr(info, f) is not None for f in EXPORT_INFO_FIELDS - {"DerivedFields"})
    assert payload.TotalCount == 1


def test_failed_topic_and_three_day_expiry(sb: Sandbox, cls: Any) -> None:
    sb.fail_exports("topic-bad")
    bad = create(cls, "topic-bad")
    good = create(cls)
    sb.clock.advance(10)
    assert find(cls, bad, "topic-bad").Status == "Failed"
    assert find(cls, bad, "topic-bad").CosPath == ""
    url = find(cls, good).CosPath
    sb.clock.advance(3 * 24 * 3600)
    expired = find(cls, good)
    assert expired.Status == "Expired" and expired.CosPath == ""
    assert requests.get(url, timeout=5).status_code == 403


def test_file_size_per_topic(sb: Sandbox, cls: Any, completed: Callable[..., Any]) -> None:
    sb.set_file_size("topic-big", 123_457)
    info = completed("topic-big")
    body = requests.get(info.CosPath, timeout=5).content
    assert info.FileSize == len(body) != 123_457  # the archive's size, not the member's
    assert len(unpack(body)) == 123_457


def test_listing_is_newest_first_and_pages(sb: Sandbox, cls: Any) -> None:
    ids = [create(cls, "topic-many") for _ in range(15)]
    sb.rate_limit = 1000
    ids += [create(cls, "topic-many") for _ in range(110)]
    first = describe(cls, "topic-many")
    assert first.TotalCount == 125 and len(first.Exports) == 20  # default Limit
    seen = []
    for offset in range(0, 125, 100):
        seen += [e.ExportId for e in describe(cls, "topic-many", Offset=offset,
                                              Limit=100).Exports]
    assert seen == ids[::-1]
    assert describe(cls, "topic-many", Offset=125, Limit=5).Exports == []
    assert describe(cls, "topic-other").TotalCount == 0


@pytest.mark.parametrize(("page", "code"), [
    ({"Limit": 101}, "InvalidParameter"),
    ({"Limit": 0}, "InvalidParameter"),
    ({"Offset": -1}, "InvalidParameter"),
], ids=["limit-over-100", "limit-zero", "negative-offset"])
def test_bad_paging_is_rejected(cls: Any, page: dict[str, int], code: str) -> None:
    with pytest.raises(TencentCloudSDKException) as err:
        describe(cls, "topic-a", **page)
    assert err.value.code == code


@pytest.mark.parametrize(("overrides", "code"), [
    ({"TopicId": None}, "MissingParameter"),
    ({"Query": None}, "MissingParameter"),
    ({"Count": 50_000_001}, "InvalidParameterValue"),
    ({"Count": "10"}, "InvalidParameter"),
    ({"From": NOW_MS, "To": NOW_MS}, "InvalidParameterValue"),
    ({"Order": "sideways"}, "InvalidParameterValue"),
    ({"Format": "xml"}, "InvalidParameterValue"),
    ({"SyntaxRule": 2}, "InvalidParameterValue"),
    ({"TopicId": "nope-123"}, "ResourceNotFound.TopicNotExist"),
], ids=["no-topic", "no-query", "count-too-big", "count-as-string", "from-not-before-to",
        "bad-order", "bad-format", "bad-syntax-rule", "unknown-topic"])
def test_create_validates_parameters(cls: Any, overrides: dict[str, Any], code: str) -> None:
    params = {"TopicId": "topic-a", "Count": 10, "Query": "*", "From": NOW_MS - 1, "To": NOW_MS}
    params.update(overrides)
    params = {k: v for k, v in params.items() if v is not None}
    # Build the model by hand: the SDK's own from_json_string would coerce nothing anyway.
    req = models.CreateExportRequest()
    for key, value in params.items():
        setattr(req, key, value)
    with pytest.raises(TencentCloudSDKException) as err:
        cls.CreateExport(req)
    assert err.value.code == code


def test_declared_missing_topic(sb: Sandbox, cls: Any) -> None:
    sb.missing_topics.add("topic-gone")
    with pytest.raises(TencentCloudSDKException) as err:
        describe(cls, "topic-gone")
    assert err.value.code == "ResourceNotFound.TopicNotExist"


def test_delete_export(sb: Sandbox, cls: Any, completed: Callable[..., Any]) -> None:
    info = completed()
    assert cls.DeleteExport(request(models.DeleteExportRequest, ExportId=info.ExportId))
    assert describe(cls).TotalCount == 0
    assert requests.get(info.CosPath, timeout=5).status_code == 404
    with pytest.raises(TencentCloudSDKException) as err:
        cls.DeleteExport(request(models.DeleteExportRequest, ExportId=info.ExportId))
    assert err.value.code == "ResourceNotFound.ExportNotExist"
    assert sb.calls[("cls", "DeleteExport")] == 2
