"""The metrics of a full round trip, read from what the handlers print: CloudWatch EMF on
Lambda, metric log lines on SCF."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from tests.e2e.helpers import cls_body, post, tick, until_terminal


def printed(out: str) -> list[dict[str, Any]]:
    docs = []
    for line in out.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict):
            docs.append(doc)
    return docs


def emf_values(docs: list[dict[str, Any]]) -> dict[tuple[str, tuple], list[float]]:
    """(metric, dimensions) -> values, from EMF blobs checked against the format."""
    out: dict[tuple[str, tuple], list[float]] = defaultdict(list)
    for doc in docs:
        if "_aws" not in doc:
            continue
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "ExportCourier"
        assert isinstance(doc["_aws"]["Timestamp"], int)
        [dims] = directive["Dimensions"]
        key = tuple(sorted((d, doc[d]) for d in dims if d != "service"))
        assert doc["service"].startswith("export-courier-")
        for metric in directive["Metrics"]:
            value = doc[metric["Name"]]
            out[(metric["Name"], key)] += value if isinstance(value, list) else [value]
    return out


def log_values(docs: list[dict[str, Any]]) -> dict[tuple[str, tuple], list[float]]:
    out: dict[tuple[str, tuple], list[float]] = defaultdict(list)
    for doc in docs:
        if doc.get("level") != "METRIC":
            continue
        assert doc["namespace"] == "ExportCourier" and doc["request_id"]
        key = tuple(sorted(doc["dimensions"].items()))
        for name, entry in doc["metrics"].items():
            out[(name, key)] += entry["values"]
    return out


def round_trip(api_key: str, sandbox: Any,
               capsys: pytest.CaptureFixture[str]) -> tuple[str, int]:
    """One export delivered and one failed; what was printed, and the bytes delivered."""
    sandbox.fail_next_export()
    status, failed = post(api_key, cls_body("topic-broken"))
    assert status == 202
    status, task = post(api_key, cls_body("topic-app"))
    assert status == 202
    done = until_terminal(task["id"], api_key, sandbox)
    assert done["state"] == "delivered"
    assert until_terminal(failed["id"], api_key, sandbox)["state"] == "failed"
    tick()  # the webhooks due
    return capsys.readouterr().out, done["destination"]["size"]


CLS = (("provider", "cls"),)


@pytest.mark.usefixtures("handlers_env")
def test_lambda_emits_cloudwatch_emf(api_key: str, sandbox: Any, monkeypatch: Any,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COURIER_METRICS", "emf")
    from functions import common

    common.reset()
    out, size = round_trip(api_key, sandbox, capsys)
    values = emf_values(printed(out))
    assert values[("ExportsCreated", CLS)] == [1, 1]
    assert values[("ExportsDelivered", CLS)] == [1]
    assert values[("ExportsFailed", CLS)] == [1]
    assert values[("BytesCopied", CLS)] == [size]
    assert len(values[("CopySeconds", CLS)]) == 1
    assert 0 < values[("AcceptToDeliveredSeconds", CLS)][0] < 60
    calls = (("action", "CreateExport"), ("provider", "cls"))
    assert sum(values[("ProviderCalls", calls)]) == 2
    assert sum(values[("ProviderCalls", (("action", "DescribeExports"), ("provider", "cls")))]) >= 1
    assert sum(values[("WebhookAttempts", ())]) >= 2  # export.delivered and export.failed


@pytest.mark.usefixtures("handlers_env")
def test_scf_writes_the_same_numbers_as_log_lines(api_key: str, sandbox: Any, monkeypatch: Any,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COURIER_METRICS", "log")
    from functions import common

    common.reset()
    out, size = round_trip(api_key, sandbox, capsys)
    values = log_values(printed(out))
    assert values[("ExportsCreated", CLS)] == [1, 1]
    assert values[("ExportsDelivered", CLS)] == [1] and values[("ExportsFailed", CLS)] == [1]
    assert values[("BytesCopied", CLS)] == [size]
    assert sum(values[("WebhookAttempts", ())]) >= 2


@pytest.mark.usefixtures("handlers_env")
def test_throttles_are_counted_per_action(api_key: str, sandbox: Any, monkeypatch: Any,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COURIER_METRICS", "log")
    from functions import common

    common.reset()
    sandbox.faults.add(service="cls", action="CreateExport", kind="error",
                       code="RequestLimitExceeded", times=1)
    status, task = post(api_key, cls_body("topic-app"))
    assert status == 202 and task["state"] == "accepted"  # retried by the timer
    values = log_values(printed(capsys.readouterr().out))
    assert values[("ProviderThrottles", (("action", "CreateExport"), ("provider", "cls")))] == [1]
