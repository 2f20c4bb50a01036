"""The sandbox holds its answers against the vendor SDKs' models (sandbox/conformance.py):
an emulator answering a field the model lacks, or a value of another type, or accepting a
request parameter the SDK cannot send, is recorded and fails the test it happened in."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from tencentcloud.cls.v20201016 import models

import tests.conftest
from sandbox import Sandbox, conformance
from shared.vendor_settings import AlibabaSettings
from tests.integration.sandbox.sandbox_support import create, describe, make_cls, make_common


def _answer_changed(sb: Sandbox, action: str, change: Callable[[dict[str, Any]], None]
                    ) -> None:
    """The CLS emulator's ``action`` answers, then ``change`` alters the answer."""
    handler = sb.cls.actions[action]

    def changed(params: Any) -> dict[str, Any]:
        answer = handler(params)
        change(answer)
        return answer
    sb.cls.actions[action] = changed


def test_an_answer_field_the_model_lacks_is_named(sb: Sandbox) -> None:
    # GIVEN a CLS emulator whose exports carry a field ExportInfo does not have
    client = make_cls(sb)
    create(client)
    _answer_changed(sb, "DescribeExports",
                    lambda a: [e.update(Foo=1) for e in a["Exports"]])
    # WHEN the real SDK lists them
    describe(client)
    # THEN the action and the field path are recorded, for the sandbox and for the fixture
    problem = "DescribeExports: Response.Exports[0].Foo: not in the SDK model (ExportInfo)"
    assert sb.conformance.problems == [problem]
    assert conformance.drain() == [problem]


def test_a_value_of_another_type_is_named(sb: Sandbox) -> None:
    client = make_cls(sb)
    _answer_changed(sb, "DescribeExports", lambda a: a.update(TotalCount="0"))
    describe(client)
    assert conformance.drain() == [
        "DescribeExports: Response.TotalCount: a string where the SDK model has int"]


def test_a_nested_value_of_another_type_is_named(sb: Sandbox) -> None:
    client = make_cls(sb)
    create(client)
    _answer_changed(sb, "DescribeExports",
                    lambda a: [e.update(DerivedFields=[1]) for e in a["Exports"]])
    describe(client)
    assert conformance.drain() == [
        "DescribeExports: Response.Exports[0].DerivedFields[0]: an integer where the SDK "
        "model has str"]


def test_an_accepted_request_parameter_the_model_lacks_is_named(sb: Sandbox) -> None:
    # the emulator takes what it reads and ignores the rest, as a lenient server might
    client = make_common(sb, "cls", "2020-10-16")
    client.call_json("DescribeExports", {"TopicId": "topic-a", "Bogus": 1})
    assert conformance.drain() == [
        "DescribeExports: Request.Bogus: not in the SDK model (DescribeExportsRequest)"]


def test_a_refused_request_is_no_violation(sb: Sandbox) -> None:
    client = make_common(sb, "cls", "2020-10-16")
    with pytest.raises(Exception, match="Limit"):
        client.call_json("DescribeExports", {"TopicId": "topic-a", "Limit": 0, "Bogus": 1})
    assert sb.conformance.problems == []


def test_a_dms_answer_field_the_model_lacks_is_named(sb: Sandbox) -> None:
    from shared.providers.alibaba import DmsApi

    api = DmsApi.build(AlibabaSettings(*sb.dms.credentials, endpoint=sb.url))
    handler = sb.dms.actions["ListOrders"]
    sb.dms.actions["ListOrders"] = lambda p: {**handler(p), "Pages": 1}
    api.call("ListOrders", {"Tid": 1})
    assert conformance.drain() == [
        "ListOrders: Body.Pages: not in the SDK model (ListOrdersResponseBody)"]


def test_off_records_nothing() -> None:
    with Sandbox(conformance="off") as sb:
        client = make_cls(sb)
        _answer_changed(sb, "DescribeExports", lambda a: a.update(Foo=1))
        req = models.DescribeExportsRequest()
        req.TopicId = "topic-a"
        client.DescribeExports(req)
        assert sb.conformance.problems == []
    assert conformance.drain() == []


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="SANDBOX_CONFORMANCE"):
        Sandbox(conformance="loose")


def _request(*meant: str) -> Any:
    """A test's request as the fixture reads it: its ``off_model`` marker, if any."""
    marker = SimpleNamespace(args=meant) if meant else None
    return SimpleNamespace(node=SimpleNamespace(get_closest_marker=lambda name: marker))


def test_the_suite_fixture_fails_the_test_naming_action_and_field() -> None:
    fixture = tests.conftest.sandbox_conformance.__wrapped__  # type: ignore[attr-defined]
    steps = fixture(_request())
    next(steps)
    conformance.Conformance("strict").record(["SearchLog: Response.Foo: not in the SDK model"])
    with pytest.raises(pytest.fail.Exception, match=r"SearchLog: Response\.Foo"):
        next(steps)


def test_a_test_marked_off_model_is_failed_only_for_what_it_did_not_mean() -> None:
    fixture = tests.conftest.sandbox_conformance.__wrapped__  # type: ignore[attr-defined]
    meant = "DescribeTasks: Response.TaskList[0].State: a string"
    steps = fixture(_request(meant))
    next(steps)
    conformance.Conformance("strict").record([meant + " where the SDK model has int"])
    with pytest.raises(StopIteration):  # what the test meant passes
        next(steps)
    steps = fixture(_request(meant))
    next(steps)
    conformance.Conformance("strict").record(["SearchLog: Response.Foo: not in the SDK model"])
    with pytest.raises(pytest.fail.Exception, match=r"SearchLog: Response\.Foo"):
        next(steps)
