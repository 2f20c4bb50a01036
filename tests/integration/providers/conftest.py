"""A fresh sandbox per test, and the DLC / DMS providers pointed at it through their SDKs."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox import Sandbox
from shared.pacing import RateLimiter
from shared.vendor_settings import AlibabaSettings, TencentSettings


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    """The shared ``sandbox`` fixture (tests/conftest.py) under this suite's short name."""
    return sandbox


@pytest.fixture
def tencent(sb: Sandbox) -> TencentSettings:
    secret_id, secret_key = sb.credentials
    return TencentSettings(secret_id, secret_key, endpoint=sb.url)


@pytest.fixture
def alibaba(sb: Sandbox) -> AlibabaSettings:
    ak, secret = sb.dms.credentials
    return AlibabaSettings(ak, secret, endpoint=sb.url)


@pytest.fixture
def dlc(tencent: TencentSettings) -> Any:
    from shared.providers.dlc import DlcProvider

    return DlcProvider(tencent, limiter=RateLimiter(rate=1000))


@pytest.fixture
def dms(alibaba: AlibabaSettings) -> Any:
    from shared.providers.dms import DmsProvider

    return DmsProvider(alibaba, limiter=RateLimiter(rate=1000))

