"""The secret stores a reference can name, each read through its vendor's SDK.

* AWS Secrets Manager and SSM Parameter Store through Powertools ``parameters`` (boto3 under
  it, with the Lambda execution role's credentials); SSM ``SecureString`` values decrypted.
  Courier keeps values for its own TTL (:mod:`shared.secrets`), so Powertools' cache is off.
* Tencent Cloud Secrets Manager through tencentcloud-sdk-python-ssm: ``GetSecretValue`` for
  the version the reference names, else the newest one (``ListSecretVersionIds``), with the
  function role's temporary keys and their ``X-TC-Token``.

Vendor errors become a ``ConfigError`` naming the setting, the store and the error code.
Imported only when a setting names a store.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from shared.config import TencentSettings
from shared.errors import ConfigError
from shared.secrets import STORES, Reference, as_text, from_base64

# the permission each store needs from the function's role (deploy/aws/serverless.yml; on
# SCF the CAM role's policy): Powertools calls GetSecretValue / GetParameter; a tencent-ssm
# reference without @VERSION lists the versions first
ROLE_ACTIONS = {"secretsmanager": ("secretsmanager:GetSecretValue",),
                "ssm": ("ssm:GetParameter",),
                "tencent-ssm": ("ssm:GetSecretValue", "ssm:ListSecretVersionIds")}


def _sdk(ref: Reference, module: str) -> None:
    from shared.runtime.logs import hold_sdk_loggers

    hold_sdk_loggers()  # their DEBUG dumps of the answer would log the secret
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing too
        found = False
    if not found:
        raise ConfigError(f"{ref.setting}: {ref.store}: needs the {module} package, which this "
                          "deployment was built without (see deploy/package.py --secrets)")


def _refused(ref: Reference, code: str) -> ConfigError:
    return ConfigError(f"{ref.setting}: {ref} cannot be read from {STORES[ref.store]} ({code})")


def aws_value(ref: Reference, clients: dict[str, Any], endpoint: str | None,
              region: str | None) -> str:
    """The value of a ``secretsmanager:`` or ``ssm:`` reference; ``clients`` keeps the
    Powertools providers (one per store) for the container."""
    _sdk(ref, "boto3")
    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    provider = clients.get(ref.store)
    if provider is None:
        import boto3

        service = "secretsmanager" if ref.store == "secretsmanager" else "ssm"
        client = boto3.client(service, endpoint_url=endpoint, region_name=region)
        provider = SecretsProvider(boto3_client=client) if service == "secretsmanager" \
            else SSMProvider(boto3_client=client)
        clients[ref.store] = provider
    options: dict[str, Any] = {"decrypt": True} if ref.store == "ssm" else {}
    try:
        value = provider.get(ref.name, max_age=0, force_fetch=True, **options)
    except GetParameterError as exc:
        raise _refused(ref, _aws_code(exc)) from None
    if not isinstance(value, (str, bytes)):
        raise _refused(ref, "no value")
    return as_text(ref, value)


def _aws_code(exc: BaseException) -> str:
    """The AWS error code behind Powertools' GetParameterError (it wraps the ClientError)."""
    cause = exc.__cause__ or exc.__context__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or "unknown error")
    return "the store did not answer" if cause is not None else "unknown error"


def tencent_secret(ref: Reference, settings: TencentSettings) -> str:
    """The value of a ``tencent-ssm:`` reference."""
    _sdk(ref, "tencentcloud.ssm")
    from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
        TencentCloudSDKException,
    )
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.ssm.v20190923 import models
    from tencentcloud.ssm.v20190923.ssm_client import SsmClient

    from shared.providers.tencent import credential, http_profile

    profile = ClientProfile(httpProfile=http_profile(settings, "ssm", timeout_s=10))
    client = SsmClient(credential(settings), settings.region, profile)
    try:
        version = ref.version or _newest_version(ref, client, models)
        request = models.GetSecretValueRequest()
        request.SecretName, request.VersionId = ref.name, version
        answer = client.GetSecretValue(request)
    except TencentCloudSDKException as exc:
        raise _refused(ref, str(exc.code or "unknown error")) from None
    if answer.SecretString:
        return str(answer.SecretString)
    if answer.SecretBinary:
        return from_base64(ref, str(answer.SecretBinary))
    return ""


def _newest_version(ref: Reference, client: Any, models: Any) -> str:
    request = models.ListSecretVersionIdsRequest()
    request.SecretName = ref.name
    versions = client.ListSecretVersionIds(request).Versions or []
    if not versions:
        raise ConfigError(f"{ref.setting}: {ref} has no version in {STORES[ref.store]}")
    # Listed newest first (the documented example): the latest CreateTime wins, and of
    # versions made in the same second the one listed first.
    newest = max(versions, key=lambda v: v.CreateTime or 0)
    return str(newest.VersionId)
