"""Fixtures for the sandbox's own tests: a fresh sandbox and real-SDK clients pointed at it."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from tencentcloud.cls.v20201016 import cls_client

from sandbox import Sandbox
from tests.integration.sandbox.sandbox_support import create, find, make_cls


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    """The shared ``sandbox`` fixture (tests/conftest.py) under this suite's short name."""
    return sandbox


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
