"""Fixtures for the sandbox's own tests: a fresh sandbox and real-SDK clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import pytest
from tencentcloud.cls.v20201016 import cls_client

from sandbox import Sandbox
from tests.integration.sandbox.sandbox_support import create, find, make_cls


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    box = Sandbox(port=0, queue_s=1.0, process_s=2.0, file_size=4096)
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture
def cls(sb: Sandbox) -> cls_client.ClsClient:
    return make_cls(sb)


@pytest.fixture
def completed(sb: Sandbox, cls: cls_client.ClsClient) -> Callable[..., Any]:
    """Create an export, move sandbox time past processing, return its ExportInfo."""
    def make(topic: str = "topic-a", **overrides: Any) -> Any:
        export_id = create(cls, topic, **overrides)
        sb.clock.advance(sb.queue_s + sb.process_s + 1)
        info = find(cls, export_id, topic)
        assert info.Status == "Completed"
        return info
    return make
