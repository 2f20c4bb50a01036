"""The model checks of sandbox/conformance.py on plain answers, one vendor each."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import conformance


@pytest.mark.parametrize(("answer", "problems"), [
    ({"Response": {"TotalCount": 1, "Exports": [], "RequestId": "r"}}, []),
    ({"Response": {"TotalCount": None, "RequestId": "r"}}, []),  # null fits any type
    ({"Response": {"Exports": [{"Count": "5"}], "RequestId": "r"}},
     ["DescribeExports: Response.Exports[0].Count: a string where the SDK model has int"]),
    ({"Response": {"Exports": {"Count": 5}, "RequestId": "r"}},
     ["DescribeExports: Response.Exports: an object where the SDK model has a list"]),
    ({"Response": {"Exports": [{"Foo": 1}], "RequestId": "r"}},
     ["DescribeExports: Response.Exports[0].Foo: not in the SDK model (ExportInfo)"]),
], ids=["fits", "null", "wrong-type", "object-for-list", "unknown-field"])
def test_tencent_answers(answer: dict[str, Any], problems: list[str]) -> None:
    assert conformance.check_tencent("cls", "2020-10-16", "DescribeExports", answer) == problems


def test_tencent_floats_take_integers_and_bools_are_no_numbers() -> None:
    ok = {"Response": {"SamplingRate": 1, "RequestId": "r"}}
    assert conformance.check_tencent("cls", "2020-10-16", "SearchLog", ok) == []
    bad = {"Response": {"SamplingRate": True, "RequestId": "r"}}
    assert conformance.check_tencent("cls", "2020-10-16", "SearchLog", bad) == [
        "SearchLog: Response.SamplingRate: a boolean where the SDK model has float"]


def test_tencent_requests_and_query_text() -> None:
    assert conformance.check_tencent_request(
        "cls", "2020-10-16", "DescribeExports", {"TopicId": "t", "Limit": "x"}, text=True) == [
        "DescribeExports: Request.Limit: 'x' is not the int the SDK model has"]
    assert conformance.check_tencent_request(
        "cls", "2020-10-16", "DescribeExports", {"TopicId": "t", "Limit": "20"}, text=True) == []


def test_dms_bodies_and_requests() -> None:
    body = {"RequestId": "r", "Success": True, "DataExportOrderDetail": {
        "KeyInfo": {"JobStatus": "ENABLE_EXPORT", "JobId": "7"}}}
    assert conformance.check_dms("GetDataExportOrderDetail", body) == [
        "GetDataExportOrderDetail: Body.DataExportOrderDetail.KeyInfo.JobId: a string where "
        "the SDK model has int"]
    listed = {"Orders": {"Order": [{"OrderId": 1, "Extra": 2}]}}
    assert conformance.check_dms("ListOrders", listed) == [
        "ListOrders: Body.Orders.Order[0].Extra: not in the SDK model "
        "(ListOrdersResponseBodyOrdersOrder)"]
    assert conformance.check_dms_request("CloseOrder", {"OrderId": "12", "Tid": "1",
                                                         "CloseReason": "done"}) == []
    assert conformance.check_dms_request("CloseOrder", {"OrderId": "x", "Why": "1"}) == [
        "CloseOrder: Request.OrderId: 'x' is not the int the SDK model has",
        "CloseOrder: Request.Why: not in the SDK model (CloseOrderRequest)"]


def test_aws_json_bodies() -> None:
    body = {"exportTasks": [{"taskId": "t", "from": 1, "status": {"code": "RUNNING"},
                             "colour": "red"}]}
    assert conformance.check_aws("logs", "DescribeExportTasks", body) == [
        "DescribeExportTasks: Body.exportTasks[0].colour: not in the SDK model (ExportTask)"]
    assert conformance.check_aws("logs", "CreateExportTask", {"logGroupName": 5},
                                 request=True) == [
        "CreateExportTask: Request.logGroupName: an integer where the SDK model has str"]


def test_an_action_the_sdk_lacks_is_named() -> None:
    assert conformance.check_tencent("cls", "2020-10-16", "Nope", {"Response": {}}) == [
        "Nope: the SDK has no model NopeResponse (cls 2020-10-16)"]
