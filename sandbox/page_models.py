"""The fields of vendor actions whose SDK package is not installed here, as their API pages
give them (sources in SOURCES.md): ``(vendor, action) -> (request fields, answer fields)``,
in :mod:`sandbox.conformance`'s types. Imports nothing of the sandbox."""

from __future__ import annotations

from typing import Any

PAGE_MODELS: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {
    # Tencent STS AssumeRole (cloud.tencent.com/document/api/1312/48197)
    ("tencent", "AssumeRole"): (
        {"RoleArn": "str", "RoleSessionName": "str", "DurationSeconds": "int",
         "Policy": "str", "ExternalId": "str", "Tags": ("list", "any"),
         "SourceIdentity": "str", "SerialNumber": "str", "TokenCode": "str"},
        {"Credentials": {"Token": "str", "TmpSecretId": "str", "TmpSecretKey": "str"},
         "ExpiredTime": "int", "Expiration": "str", "RequestId": "str"}),
    # Alibaba STS AssumeRole (alibabacloud.com/help/en/ram/developer-reference/
    # api-sts-2015-04-01-assumerole)
    ("alibaba", "AssumeRole"): (
        {"RoleArn": "str", "RoleSessionName": "str", "DurationSeconds": "int",
         "Policy": "str", "ExternalId": "str", "SourceIdentity": "str"},
        {"RequestId": "str", "SourceIdentity": "str",
         "AssumedRoleUser": {"Arn": "str", "AssumedRoleId": "str"},
         "Credentials": {"AccessKeyId": "str", "AccessKeySecret": "str",
                         "SecurityToken": "str", "Expiration": "str"}}),
}
