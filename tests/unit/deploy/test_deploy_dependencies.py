"""Which SDKs a package carries for the destinations it is built for (deploy/dependencies.py)."""

from __future__ import annotations

import pytest

from deploy.dependencies import dist_name, select


def test_an_oss_destination_brings_the_oss_sdk_and_only_then() -> None:
    with_oss = select(destinations=("oss",))
    assert "alibabacloud-oss-v2" in {dist_name(r) for r in with_oss.requirements(())}
    without = select(destinations=("file", "cos"))
    assert "alibabacloud-oss-v2" in without.left_out
    assert "alibabacloud-oss-v2" not in {dist_name(r) for r in without.requirements(())}
    assert "alibabacloud-oss-v2" not in select().left_out  # the default carries every one


def test_an_unknown_destination_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(SystemExit, match="file, cos, s3, oss"):
        select(destinations=("gcs",))
