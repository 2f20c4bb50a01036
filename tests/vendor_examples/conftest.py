"""Providers pointed at a fresh sandbox through their vendors' real SDKs."""

from __future__ import annotations

from typing import Any

import pytest

from shared.pacing import RateLimiter
from shared.vendor_settings import TencentSettings


@pytest.fixture
def tencent(sandbox: Any) -> TencentSettings:
    secret_id, secret_key = sandbox.credentials
    return TencentSettings(secret_id, secret_key, endpoint=sandbox.url)


@pytest.fixture
def limiter() -> RateLimiter:
    return RateLimiter(rate=1000)
