"""Every way a copy can end, ends the export: a vendor file name too long for a folder
destination is shortened by rule and delivered; a destination that cannot take the file at
all fails the export and announces it; names that collide in a several-file result are all
kept, each under its own key, and the manifest says which name went where."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.bundle import Bundle
from shared.config import Settings
from shared.keys import MAX_NAME_BYTES
from shared.model import SourceSet, TaskState, UrlSource
from shared.storage.local import LocalObjectStore
from shared.storage.manifest import copy_set
from tests.integration.storage.copy_support import md5
from tests.integration.storage.source_server import SourceServer
from tests.integration.test_completion_lease import ready_export


def events_of(bundle: Bundle, export_id: str) -> list[str]:
    page = bundle.store().list_deliveries(task_id=export_id, limit=20)
    return [d.event_type for d in page.items]


@pytest.mark.parametrize("name", ["r" * 240 + ".csv", "日志" * 60 + ".csv"],
                         ids=["240-bytes", "120-cjk-characters"])
def test_an_export_with_a_very_long_file_name_is_delivered(bundle: Bundle, sandbox: Any,
                                                           name: str) -> None:
    # GIVEN a ready export whose file name is too long for a file system
    export_id = ready_export(bundle, sandbox)
    store = bundle.store()
    task = store.get_task(export_id)
    task.result["file_name"] = name
    store.update_task(task)
    # WHEN it is completed into a folder
    task = bundle.completer.complete(export_id, owner="complete:test")
    # THEN it is delivered under a shortened key that keeps the extension, and announced
    assert task.state is TaskState.DELIVERED, task.error
    stored_name = task.destination["key"].rsplit("/", 1)[-1]
    assert len(stored_name.encode()) <= MAX_NAME_BYTES and stored_name.endswith(".csv")
    assert task.result["file_name"] == name
    assert "export.delivered" in events_of(bundle, export_id)


def test_an_export_the_destination_cannot_take_fails_and_is_announced(
        courier_env: dict[str, str], sandbox: Any, tmp_path: Path) -> None:
    # GIVEN a destination folder that is a file
    (tmp_path / "not-a-folder").write_bytes(b"")
    bundle = Bundle(Settings.from_env(courier_env),
                    destination=LocalObjectStore(tmp_path / "not-a-folder"))
    try:
        export_id = ready_export(bundle, sandbox)
        # WHEN the export is completed
        task = bundle.completer.complete(export_id, owner="complete:test")
        # THEN it failed for good, with a reason in words, and the failure is announced
        assert task.state is TaskState.FAILED and task.error is not None
        assert not task.error["retryable"] and "folder" in task.error["reason"]
        assert "Error" not in task.error["reason"].split(":", 1)[-1]
        assert events_of(bundle, export_id) == ["export.failed"]
    finally:
        bundle.store().close()


class BrokenFolder(LocalObjectStore):
    """A destination that fails in a way nobody foresaw (a bug, a library's own error)."""

    def put_object(self, key: str, data: bytes, metadata: dict[str, str] | None = None
                   ) -> Any:
        raise RuntimeError("unforeseen")


def test_an_unforeseen_error_during_the_copy_ends_the_attempt(
        courier_env: dict[str, str], sandbox: Any, tmp_path: Path) -> None:
    # GIVEN a destination that raises an error no code path expects
    bundle = Bundle(Settings.from_env(courier_env), destination=BrokenFolder(tmp_path / "b"))
    try:
        export_id = ready_export(bundle, sandbox)
        # WHEN the export is completed
        task = bundle.completer.complete(export_id, owner="complete:test")
        # THEN the export is not left copying: it is ready again with a retry due, its
        # reason in words (no exception name), and its lease released
        assert task.state is TaskState.READY and task.lease_owner is None
        assert task.error is not None and task.error["retryable"]
        assert "unexpected error" in task.error["reason"]
        assert "RuntimeError" not in task.error["reason"]
    finally:
        bundle.store().close()


NAMES = ["app/../x", "app/./x", "app/_/x", "manifest.json"]


@pytest.fixture
def files() -> Iterator[list[SourceServer]]:
    servers = [SourceServer(f"file {i}: {name}\n".encode() * 50).start()
               for i, name in enumerate(NAMES)]
    try:
        yield servers
    finally:
        for srv in servers:
            srv.stop()


def test_files_whose_keys_would_collide_are_all_kept(files: list[SourceServer],
                                                     store: LocalObjectStore) -> None:
    # GIVEN a result whose file names make the same key, one of them the manifest's
    sources = SourceSet(tuple(UrlSource(srv.url(), file_name=name, size=len(srv.data))
                              for srv, name in zip(files, NAMES)))
    # WHEN it is copied
    result = copy_set(sources, store, "exp/manifest.json")
    # THEN every file is stored under its own key, the manifest lists each name with its
    # key, and every listed object holds that file's bytes
    manifest = json.loads(store.read("exp/manifest.json"))
    listed = manifest["objects"]
    assert [o["name"] for o in listed] == NAMES
    assert [o["key"] for o in listed] == ["exp/app/_/x", "exp/app/_/x-2", "exp/app/_/x-3",
                                          "exp/manifest-2.json"]
    for obj, srv in zip(listed, files):
        assert store.read(obj["key"]) == srv.data and obj["md5"] == md5(srv.data)
    assert result.parts == 4 and result.key == "exp/manifest.json"
