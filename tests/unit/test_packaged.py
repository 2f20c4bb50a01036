"""A package built without the Parquet converter (no ``--with-parquet``: no DuckDB) says so,
naming the setting or field, wherever ``format: parquet`` is asked for: at the cold start
(``COURIER_FORMAT``, a schedule's ``format``) and in a request (a 400 naming ``format``)."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest

from shared import export_request, schedules
from shared.bundle import Bundle
from shared.config import Settings
from shared.errors import ConfigError, ValidationError
from shared.packaged import PARQUET_MISSING, converter_missing

BASE = {"COURIER_API_KEYS": "k" * 32, "COURIER_STATE_URL": "sqlite:///:memory:"}
HINT = "make package PACKAGE_ARGS=--with-parquet"


@pytest.fixture
def without_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "duckdb" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_the_converter_is_here_in_the_development_tree() -> None:
    assert converter_missing() is None


@pytest.mark.usefixtures("without_duckdb")
def test_a_package_without_the_converter_says_how_to_build_one() -> None:
    assert converter_missing() == PARQUET_MISSING
    assert PARQUET_MISSING == ("this package was built without the Parquet converter "
                               f"({HINT})")


@pytest.mark.usefixtures("without_duckdb")
def test_courier_format_parquet_stops_the_cold_start_of_such_a_package() -> None:
    with pytest.raises(ConfigError) as caught:
        Bundle(Settings.from_env({**BASE, "COURIER_FORMAT": "parquet"})).startup_checks()
    assert str(caught.value) == f"COURIER_FORMAT=parquet: {PARQUET_MISSING}"
    Bundle(Settings.from_env(BASE)).startup_checks()  # gzip needs no converter


def _schedule_problems(**schedule: Any) -> list[str | None]:
    item = {"name": "hourly", "provider": "cls", "every_s": 3600, "params": {}, **schedule}
    settings = Settings.from_env({**BASE, "COURIER_SCHEDULES": json.dumps([item]),
                                  "TENCENTCLOUD_SECRETID": "AKIDx",
                                  "TENCENTCLOUD_SECRETKEY": "sk"})
    return [why for _, why in schedules.problems(settings, Bundle(settings).providers,
                                                 params=False)]


@pytest.mark.usefixtures("without_duckdb")
def test_a_schedule_asking_for_parquet_names_its_field() -> None:
    assert _schedule_problems(unpack=True, format="parquet") == [
        f"COURIER_SCHEDULES[0].format: {PARQUET_MISSING}"]
    assert _schedule_problems(unpack=True) == [None]


def test_a_schedule_asking_for_parquet_without_unpacking_names_its_field() -> None:
    [why] = _schedule_problems(unpack=False, format="parquet")
    assert why is not None and why.startswith("COURIER_SCHEDULES[0].format: parquet converts")
    assert _schedule_problems(unpack=True, format="parquet") == [None]
    with pytest.raises(ConfigError, match=r"COURIER_SCHEDULES\[0\].format: must be 'gzip'"):
        _schedule_problems(format="csv")


@pytest.mark.usefixtures("without_duckdb")
def test_a_request_for_parquet_is_a_400_naming_format() -> None:
    settings = Settings.from_env({**BASE, "COURIER_UNPACK": "on"})
    with pytest.raises(ValidationError) as caught:
        export_request.parquet_possible(settings, None)
    assert caught.value.field == "format" and HINT in str(caught.value)


@pytest.mark.usefixtures("without_duckdb")
def test_a_named_destination_asking_for_parquet_stops_the_cold_start_naming_it() -> None:
    named = {"lake": {"url": "s3://lake", "unpack": True, "format": "parquet"}}
    with pytest.raises(ConfigError) as caught:
        Bundle(Settings.from_env({**BASE, "COURIER_DESTINATIONS": json.dumps(named)})
               ).startup_checks()
    assert str(caught.value) == ("COURIER_DESTINATIONS[lake].format=parquet: "
                                 f"{PARQUET_MISSING}")
    named["lake"]["format"] = "gzip"
    Bundle(Settings.from_env({**BASE, "COURIER_DESTINATIONS": json.dumps(named)})
           ).startup_checks()
