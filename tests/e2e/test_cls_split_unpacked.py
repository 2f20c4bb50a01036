"""A CLS export split into parts (a window over CLS's 50,000,000-log cap) lands unpacked: every
part's ``.tar.gz`` is kept under ``raw/`` and unpacked, the members of all parts listed in the
one ``manifest.json``, each with the part it came from, a name used twice numbered."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import cls_body, post, until_terminal


@pytest.fixture
def unpacking_env(handlers_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
                  ) -> dict[str, str]:
    from functions import common

    monkeypatch.setenv("COURIER_UNPACK", "on")
    common.reset()
    return handlers_env


def members_of(archive: bytes) -> list[tuple[str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        return [(m.name, tar.extractfile(m).read())  # type: ignore[union-attr]
                for m in tar.getmembers() if m.isfile()]


@pytest.mark.usefixtures("unpacking_env")
def test_a_split_cls_export_lands_every_part_unpacked_in_one_manifest(
        sandbox: Any, api_key: str, tmp_path: Path) -> None:
    # GIVEN a topic holding 72,000,000 logs in the hour asked for: two CLS exports
    sandbox.cls.log_rates["topic-busy"] = 20_000.0
    status, created = post(api_key, cls_body("topic-busy"))
    assert status == 202 and len(created["parts"]) == 2

    # WHEN it is delivered with unpacking on
    task = until_terminal(created["id"], api_key, sandbox)

    # THEN one manifest lists the members of both parts, each from its own archive
    assert task["state"] == "delivered", task.get("error")
    bucket = tmp_path / "bucket"
    manifest = json.loads((bucket / task["destination"]["key"]).read_bytes())
    archives = manifest["raw"]["archives"]
    assert len(archives) == 2 and all(a["key"].startswith("raw/") for a in archives)
    assert [a["name"][:9] for a in archives] == ["part-001-", "part-002-"]
    expected: list[tuple[str, str, bytes]] = []
    for archive in archives:
        data = (bucket / archive["key"]).read_bytes()  # the raw copies stay, verified
        assert hashlib.md5(data).hexdigest() == archive["md5"]  # noqa: S324
        expected += [(archive["name"], name, content) for name, content in members_of(data)]
    objects = manifest["objects"]
    assert [(o["archive"], o["name"]) for o in objects] == [(a, n) for a, n, _ in expected]
    for entry, (_, _, content) in zip(objects, expected):
        stored = (bucket / entry["key"]).read_bytes()
        assert gzip.decompress(stored) == content
        assert entry["content_md5"] == hashlib.md5(content).hexdigest()  # noqa: S324
    keys = [o["key"] for o in objects]
    assert len(set(keys)) == len(keys)  # a member name both parts use is numbered, not lost
    assert task["destination"]["objects"] == len(objects) == manifest["totals"]["objects"]
