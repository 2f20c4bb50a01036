"""A named destination's ``format`` (COURIER_DESTINATIONS[<name>].format): read and checked at
cold start like COURIER_FORMAT, Parquet only where the destination unpacks, and the format an
export into it gets when it gives none of its own."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared import export_request, schedules
from shared.bundle import Bundle
from shared.config import Settings
from shared.errors import ConfigError, ValidationError
from shared.fleet import destinations

BASE = {"COURIER_API_KEYS": "k" * 32, "COURIER_DESTINATION": "file:///tmp/courier-bucket",
        "COURIER_STATE_URL": "sqlite:///:memory:"}
SETTING = "COURIER_DESTINATIONS"


def settings(named: dict[str, Any], **env: str) -> Settings:
    return Settings.from_env({**BASE, SETTING: json.dumps(named), **env})


def test_the_format_is_read_with_the_destination() -> None:
    lake, plain = destinations(SETTING, json.dumps({
        "lake": {"url": "s3://lake", "unpack": True, "format": "parquet"},
        "plain": {"url": "s3://plain"}}))
    assert (lake.format, plain.format) == ("parquet", None)


@pytest.mark.parametrize("value", ["orc", "Parquet", 1, None, ""],
                         ids=["unknown", "capitalised", "number", "null", "empty"])
def test_a_format_other_than_gzip_or_parquet_names_the_field(value: Any) -> None:
    with pytest.raises(ConfigError) as caught:
        settings({"lake": {"url": "s3://lake", "unpack": True, "format": value}})
    assert str(caught.value) == f"{SETTING}[lake].format: must be 'gzip' or 'parquet'"


def test_an_export_into_the_destination_gets_its_format_unless_it_gives_one() -> None:
    s = settings({"lake": {"url": "s3://lake", "unpack": True, "format": "parquet"},
                  "plain": {"url": "s3://plain", "unpack": True},
                  "zipped": {"url": "s3://zipped", "unpack": True, "format": "gzip"}},
                 COURIER_FORMAT="parquet")
    assert s.delivery("lake").format == "parquet"
    assert s.delivery("plain").format == "parquet"  # none of its own: COURIER_FORMAT
    assert s.delivery("zipped").format == "gzip"  # its own beats COURIER_FORMAT
    assert s.delivery(None).format == "parquet"
    assert settings({}).delivery(None).format == "gzip"


def test_parquet_where_the_destination_does_not_unpack_stops_the_cold_start() -> None:
    with pytest.raises(ConfigError) as caught:
        settings({"lake": {"url": "s3://lake", "format": "parquet"}})
    assert str(caught.value) == (f"{SETTING}[lake].format: parquet converts the members of an "
                                 'unpacked archive; set "unpack": true (COURIER_UNPACK is off)')
    with pytest.raises(ConfigError, match=r"\(its unpack is false\)$"):
        settings({"lake": {"url": "s3://lake", "unpack": False, "format": "parquet"}},
                 COURIER_UNPACK="on")
    # unpacking by its own setting or by the deployment's
    settings({"lake": {"url": "s3://lake", "format": "parquet"}}, COURIER_UNPACK="on")
    settings({"lake": {"url": "s3://lake", "unpack": True, "format": "parquet"}})
    settings({"lake": {"url": "s3://lake", "format": "gzip"}})  # gzip needs nothing


def test_a_request_or_schedule_for_parquet_counts_its_destinations_unpacking() -> None:
    """COURIER_UNPACK is off, but destination ``lake`` unpacks: Parquet into it is possible."""
    s = settings({"lake": {"url": "s3://lake", "unpack": True}},
                 TENCENTCLOUD_SECRETID="AKIDx", TENCENTCLOUD_SECRETKEY="sk",
                 COURIER_SCHEDULES=json.dumps([
                     {"name": "into-lake", "provider": "cls", "every_s": 3600, "params": {},
                      "format": "parquet", "destination": "lake"},
                     {"name": "own", "provider": "cls", "every_s": 3600, "params": {},
                      "format": "parquet"}]))
    export_request.parquet_possible(s, None, "lake")
    with pytest.raises(ValidationError) as caught:
        export_request.parquet_possible(s, None)
    assert caught.value.field == "format" and "(COURIER_UNPACK is off)" in caught.value.detail
    found = dict(schedules.problems(s, Bundle(s).providers, params=False))
    assert found["into-lake"] is None
    assert found["own"] is not None and found["own"].startswith(
        "COURIER_SCHEDULES[1].format: parquet converts")
