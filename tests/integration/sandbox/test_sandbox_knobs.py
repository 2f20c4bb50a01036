"""Scenario knobs: accepted keys, which topics exist, failing the next export, time scale."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from sandbox import SECRET_ID, Sandbox
from tests.integration.sandbox.sandbox_support import create, describe, find, make_cls


def test_configured_key_pairs() -> None:
    with Sandbox(port=0, keys=[("AKIDfirst", "key-one"), ("AKIDsecond", "key-two")]) as box:
        assert box.credentials == ("AKIDfirst", "key-one") == (box.secret_id, box.secret_key)
        assert describe(make_cls(box, "AKIDsecond", "key-two")).TotalCount == 0
        with pytest.raises(TencentCloudSDKException) as err:
            describe(make_cls(box, SECRET_ID, "sandbox-secret-key"))
        assert err.value.code == "AuthFailure.SecretIdNotFound"
    with pytest.raises(ValueError, match="at least one"):
        Sandbox(keys=[])


def test_topic_pattern_decides_which_topics_exist() -> None:
    with Sandbox(port=0, topic_pattern=r"[0-9a-f]{8}-[0-9a-f-]+") as box:
        cls = make_cls(box)
        assert describe(cls, "8a3c2d1e-0000-4000-8000-000000000001").TotalCount == 0
        with pytest.raises(TencentCloudSDKException) as err:
            create(cls, "topic-a")
        assert err.value.code == "ResourceNotFound.TopicNotExist"


def test_fail_next_export_hits_exactly_one(sb: Sandbox, cls: Any) -> None:
    sb.fail_next_export()
    doomed = create(cls, "topic-x")
    fine = create(cls, "topic-x")
    assert requests.post(sb.url + "/_sandbox/fail_next_export", json={},
                         timeout=5).status_code == 200
    doomed_too = create(cls, "topic-y")
    sb.clock.advance(sb.queue_s + sb.process_s + 1)
    assert find(cls, doomed, "topic-x").Status == "Failed"
    assert find(cls, fine, "topic-x").Status == "Completed"
    assert find(cls, doomed_too, "topic-y").Status == "Failed"


def test_time_scale_moves_exports_without_advance() -> None:
    with Sandbox(port=0, queue_s=60, process_s=60, time_scale=1000) as box:
        client = make_cls(box)
        export_id = create(client)
        deadline = time.monotonic() + 5
        while find(client, export_id).Status != "Completed":  # ~0.12 s real at this scale
            assert time.monotonic() < deadline, "export never completed under time_scale"
            time.sleep(0.02)
        assert box.clock.offset == 0
        box.clock.time_scale = 1.0
        assert box.clock.time_scale == 1.0
    with pytest.raises(ValueError):
        Sandbox(time_scale=0)
