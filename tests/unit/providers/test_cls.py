from __future__ import annotations

from typing import Any

import pytest

from shared.errors import ValidationError
from shared.providers.cls import ClsProvider
from shared.vendor_settings import TencentSettings

GOOD = {"TopicId": "topic-a", "From": 1_700_000_000_000, "To": 1_700_003_600_000}


@pytest.fixture(scope="module")
def cls() -> ClsProvider:
    return ClsProvider(TencentSettings("AKIDx", "key", endpoint="http://127.0.0.1:9"))


def test_defaults_filled(cls: ClsProvider) -> None:
    out = cls.validate(dict(GOOD))
    assert out == {**GOOD, "Query": "*", "Count": 50_000_000, "Order": "desc",
                   "Format": "json", "SyntaxRule": 1}


# (id, params, the field named): checked by the CLS provider contract
# (tests/integration/providers/test_cls.py), which also sees that nothing is sent
BAD: list[tuple[str, dict[str, Any], str]] = [
    ("missing-topic", {"From": 1_700_000_000_000, "To": 1_700_003_600_000}, "params.TopicId"),
    ("from-after-to", {**GOOD, "From": GOOD["To"] + 1}, "params.From"),
    ("from-equals-to", {**GOOD, "From": GOOD["To"]}, "params.From"),
    ("string-time", {**GOOD, "From": "yesterday"}, "params.From"),
    ("bool-count", {**GOOD, "Count": True}, "params.Count"),
    ("count-too-big", {**GOOD, "Count": 50_000_001}, "params.Count"),
    ("bad-format", {**GOOD, "Format": "xml"}, "params.Format"),
    ("sql-in-query", {**GOOD, "Query": "* | select count(*)"}, "params.Query"),
    ("seconds-not-ms", {**GOOD, "From": 1_700_000_000, "To": 1_700_003_600}, "params.To"),
    ("unknown-field", {**GOOD, "Topic": "x"}, "params.Topic"),
    ("empty-topic", {**GOOD, "TopicId": "  "}, "params.TopicId"),
    # SearchLog takes a query of at most 12 KB, the count appended included: 4,090
    # characters (within the 4,096 allowed) of three bytes each are more
    ("query-over-12kb", {**GOOD, "Query": "日" * 4090}, "params.Query"),
]


def test_params_must_be_an_object(cls: ClsProvider) -> None:
    with pytest.raises(ValidationError) as err:
        cls.validate(["TopicId"])  # type: ignore[arg-type]
    assert err.value.field == "params"


def test_a_query_of_exactly_12_kb_with_the_count_is_taken(cls: ClsProvider) -> None:
    from shared.providers.cls import MAX_QUERY_BYTES, count_query

    room = MAX_QUERY_BYTES - len(count_query("x").encode()) + 1  # bytes left for the search
    fits = "日" * (room // 3)  # three bytes each in UTF-8
    assert len(count_query(fits).encode()) <= MAX_QUERY_BYTES
    assert cls.validate({**GOOD, "Query": fits})["Query"] == fits
    with pytest.raises(ValidationError) as err:
        cls.validate({**GOOD, "Query": fits + "日"})
    assert err.value.field == "params.Query" and "12 KB" in str(err.value)
