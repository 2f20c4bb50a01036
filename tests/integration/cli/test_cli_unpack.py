"""``courier exports create --unpack/--no-unpack --format gzip|parquet``: the request's
``unpack`` and ``format``, through the real command against this machine's state and the
sandbox."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.integration.cli.test_cli import courier


def window() -> list[str]:
    now = int(time.time() * 1000)
    return ["-p", "TopicId=topic-app", "-p", f"From={now - 60_000}", "-p", f"To={now}",
            "-p", "Format=json"]


def delivered(env: dict[str, str], *args: str) -> dict:
    created = courier(env, "exports", "create", "cls", *window(), *args, "--watch", "--tick",
                      "--json", timeout=60)
    assert created.returncode == 0, created.stdout + created.stderr
    done = json.loads(created.stdout.splitlines()[-1])
    assert done["state"] == "delivered", done
    return done


def test_unpack_and_format_are_the_requests_own(handlers_env: dict[str, str],
                                                 tmp_path: Path) -> None:
    # GIVEN COURIER_UNPACK off and COURIER_FORMAT gzip (unset), and a destination that unpacks
    lake = tmp_path / "lake"
    env = {**handlers_env, "COURIER_DESTINATIONS": json.dumps(
        {"lake": {"url": f"file://{lake}", "unpack": True}})}

    # WHEN an export asks for unpacking into Parquet, THEN its member lands as Parquet
    done = delivered(env, "--unpack", "--format", "parquet")
    manifest = json.loads(Path(done["destination"]["uri"].removeprefix("file://")).read_text())
    assert manifest["format"] == "parquet"
    assert [o["key"].rsplit(".", 1)[-1] for o in manifest["objects"]] == ["parquet"]

    # WHEN an export into the unpacking destination says --no-unpack, THEN the archive lands
    # as CLS ships it, with no manifest
    done = delivered(env, "--destination", "lake", "--no-unpack")
    assert done["destination"]["uri"].endswith(".tar.gz")
    assert not list(lake.rglob("manifest.json")) and not (lake / "raw").exists()


def test_a_format_the_api_refuses_or_does_not_know_is_an_error(
        handlers_env: dict[str, str]) -> None:
    refused = courier(handlers_env, "exports", "create", "cls", *window(), "--no-unpack",
                      "--format", "parquet")
    assert refused.returncode == 1
    assert 'parquet needs "unpack": true' in refused.stdout + refused.stderr
    unknown = courier(handlers_env, "exports", "create", "cls", *window(), "--format", "orc")
    assert unknown.returncode == 2 and "'orc' is not one of" in unknown.stderr
