"""Secrets Manager: the published GetSecretValue and ListSecretVersionIds answers, through
tencentcloud-sdk-python-ssm, to a ``tencent-ssm:`` setting reference."""

from __future__ import annotations

from typing import Any

from shared.secret_stores.references import Reference
from shared.secret_stores.tencent import tencent_secret
from shared.vendor_settings import TencentSettings
from tests.vendor_examples.support import record

EXAMPLES: dict[str, dict[str, Any]] = {
    "tencent-GetSecretValue-1.json": {"value": "凭据value3"},
    # the newest version by CreateTime is v1 (v3, listed last, is the oldest)
    "tencent-ListSecretVersionIds-1.json": {"version": "v1"},
}


def reference(version: str | None = None) -> Reference:
    return Reference("COURIER_API_KEYS", "tencent-ssm", "test3-secret", version=version)


def test_get_secret_value(sandbox: Any, tencent: TencentSettings) -> None:
    name = "tencent-GetSecretValue-1.json"
    record(sandbox, name)
    assert tencent_secret(reference("v3"), tencent) == EXAMPLES[name]["value"]


def test_list_secret_version_ids_picks_the_newest(sandbox: Any,
                                                   tencent: TencentSettings) -> None:
    # GIVEN three versions stored, each with its own value
    for version in ("v1", "v2", "v3"):
        sandbox.ssm.put("test3-secret", f"value of {version}", version=version)
    name = "tencent-ListSecretVersionIds-1.json"
    record(sandbox, name)
    # WHEN the reference names no version THEN the newest by the listed CreateTime is read
    assert tencent_secret(reference(), tencent) == f"value of {EXAMPLES[name]['version']}"
