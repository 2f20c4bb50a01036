"""Fixtures: a real local webhook receiver and a SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.config import Settings
from shared.model import ExportTask, TaskState
from shared.state import open_store
from shared.state.base import TaskStore
from tests.integration.webhooks.webhook_support import Receiver, make_secret


@pytest.fixture
def hook_receiver() -> Iterator[Receiver]:
    rx = Receiver().start()
    try:
        yield rx
    finally:
        rx.stop()


@pytest.fixture
def secret() -> str:
    return make_secret()


@pytest.fixture
def settings(secret: str) -> Settings:
    return Settings(profile="sandbox", auth="none", webhook_secrets=(secret,),
                    allow_private_hosts=("127.0.0.1",))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[TaskStore]:
    st = open_store(f"sqlite:///{tmp_path}/s.db")
    try:
        yield st
    finally:
        st.close()


@pytest.fixture
def task(store: TaskStore) -> ExportTask:
    t = ExportTask(provider="cls", params={"topic": "t"}, state=TaskState.DELIVERED,
                   destination={"uri": "file:///b/k.csv", "key": "k.csv", "size": 12,
                                "md5": "0" * 32})
    stored, _ = store.insert_task(t)
    return stored
