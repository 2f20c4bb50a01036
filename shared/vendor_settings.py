"""The vendor settings a provider or an object store is built from (plain values; parsed by
:class:`shared.config.Settings`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.fleet import RoleToAssume
from shared.setting_names import (
    ENV_ALI_AK,
    ENV_ALI_REGION,
    ENV_ALI_SK,
    ENV_ALI_TOKEN,
    ENV_COS_ENDPOINT,
    ENV_OSS_ENDPOINT,
    ENV_S3_ENDPOINT,
    ENV_S3_REGION,
    ENV_TC_REGION,
    ENV_TC_SECRET_ID,
    ENV_TC_SECRET_KEY,
    ENV_TC_TOKEN,
    env_text,
)


@dataclass(frozen=True)
class TencentSettings:
    secret_id: str = field(repr=False)
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    region: str = "ap-guangzhou"
    endpoint: str | None = None  # "http://127.0.0.1:PORT" points every service at one host
    site: str = "china"  # which API domain an account belongs to: TENCENT_SITES
    cls_max_parts: int = 100  # a CLS window needing more exports than this is refused
    appid: str | None = None  # the account's APPID: DLC may name a result bucket without it
    account: str | None = None  # a named account's (COURIER_ACCOUNTS); None: the deployment's
    assume: RoleToAssume | None = None  # sign with this role's temporary keys
    owner: str | None = None  # the real account a named one is, where known: fleet.owner_of


@dataclass(frozen=True)
class AlibabaSettings:
    access_key_id: str = field(repr=False)
    access_key_secret: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    region: str = "cn-hangzhou"
    endpoint: str | None = None  # "http://127.0.0.1:PORT" for the sandbox
    account: str | None = None  # a named account's (COURIER_ACCOUNTS); None: the deployment's
    assume: RoleToAssume | None = None  # sign with this RAM role's temporary keys
    owner: str | None = None  # the real account a named one is, where known: fleet.owner_of
    # where DMS's result URLs point when not at OSS's own hosts (the sandbox's OSS gateway)
    oss_endpoint: str | None = None


@dataclass(frozen=True)
class AwsSettings:
    """The cloudwatch provider. Credentials come from boto3's own chain (the Lambda role);
    the staging bucket is where CloudWatch Logs writes, the S3 endpoint the one destinations
    use (:class:`StorageSettings`)."""

    staging_bucket: str
    staging_prefix: str = "courier-staging"
    region: str = "us-east-1"
    endpoint: str | None = None  # CloudWatch Logs; None: the region's own
    s3_endpoint: str | None = None  # the staging bucket's S3; None: AWS
    delete_staged: bool = True  # delete an export's staged objects once it is delivered
    account: str | None = None  # a named account's (COURIER_ACCOUNTS); None: the deployment's
    keys: tuple[str, str, str | None] | None = field(default=None, repr=False)  # None: boto3's
    assume: RoleToAssume | None = None  # sign with this IAM role's temporary keys
    owner: str | None = None  # the real account a named one is, where known: fleet.owner_of


@dataclass(frozen=True)
class StorageSettings:
    """Where destination buckets are reached, the COS keys (the function role's) and the
    OSS keys (the deployment's Alibaba Cloud keys, as DMS uses them)."""

    s3_endpoint: str | None = None
    s3_region: str | None = None
    cos_endpoint: str | None = None
    cos_region: str | None = None  # for cos:// URIs without ?region=
    cos_secret_id: str | None = field(default=None, repr=False)
    cos_secret_key: str | None = field(default=None, repr=False)
    cos_token: str | None = field(default=None, repr=False)
    oss_endpoint: str | None = None
    oss_region: str | None = None  # for oss:// URIs without ?region=
    oss_access_key_id: str | None = field(default=None, repr=False)
    oss_access_key_secret: str | None = field(default=None, repr=False)
    oss_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StorageSettings:
        env = os.environ if env is None else env

        def text(name: str) -> str | None:
            return env_text(env, name)

        return cls(s3_endpoint=text(ENV_S3_ENDPOINT), s3_region=text(ENV_S3_REGION),
                   cos_endpoint=text(ENV_COS_ENDPOINT), cos_region=text(ENV_TC_REGION),
                   cos_secret_id=text(ENV_TC_SECRET_ID), cos_secret_key=text(ENV_TC_SECRET_KEY),
                   cos_token=text(ENV_TC_TOKEN), oss_endpoint=text(ENV_OSS_ENDPOINT),
                   oss_region=text(ENV_ALI_REGION), oss_access_key_id=text(ENV_ALI_AK),
                   oss_access_key_secret=text(ENV_ALI_SK), oss_token=text(ENV_ALI_TOKEN))
