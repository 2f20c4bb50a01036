"""Helpers for the sandbox's own tests: real-SDK clients pointed at a sandbox, CLS shortcuts."""

from __future__ import annotations

import json
from typing import Any, Optional

from tencentcloud.cls.v20201016 import cls_client, models
from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from sandbox import Sandbox

NOW_MS = 1_700_000_000_000



def profile(sb: Sandbox, timeout: int = 5) -> ClientProfile:
    return ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=sb.endpoint,
                                                 reqMethod="POST", reqTimeout=timeout))


def make_cls(sb: Sandbox, secret_id: Optional[str] = None, secret_key: Optional[str] = None,
             token: Optional[str] = None, timeout: int = 5) -> cls_client.ClsClient:
    sid, skey = sb.credentials
    cred = credential.Credential(secret_id or sid, secret_key or skey, token)
    return cls_client.ClsClient(cred, "ap-guangzhou", profile(sb, timeout))


def make_common(sb: Sandbox, service: str, version: str) -> CommonClient:
    return CommonClient(service, version, credential.Credential(*sb.credentials),
                        "ap-guangzhou", profile(sb))



def request(model: type, **params: Any) -> Any:
    req = model()
    req.from_json_string(json.dumps(params))
    return req


def create(client: cls_client.ClsClient, topic: str = "topic-a", **overrides: Any) -> str:
    params: dict[str, Any] = {"TopicId": topic, "Count": 1000, "Query": "*",
                              "From": NOW_MS - 60_000, "To": NOW_MS}
    params.update(overrides)
    return client.CreateExport(request(models.CreateExportRequest, **params)).ExportId


def describe(client: cls_client.ClsClient, topic: str = "topic-a", **page: Any) -> Any:
    return client.DescribeExports(request(models.DescribeExportsRequest, TopicId=topic, **page))


def find(client: cls_client.ClsClient, export_id: str, topic: str = "topic-a") -> Any:
    for info in describe(client, topic, Limit=100).Exports:
        if info.ExportId == export_id:
            return info
    raise AssertionError(f"export {export_id} not listed")
