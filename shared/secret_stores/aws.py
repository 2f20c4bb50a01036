"""AWS Secrets Manager and SSM Parameter Store, read through Powertools ``parameters``
(boto3 under it, with the function role's credentials); SSM ``SecureString`` values are
decrypted. Courier keeps values for its own TTL (:mod:`.resolve`), so Powertools' cache is
off. Vendor errors become a ``ConfigError`` naming the setting, the store and the error code.
"""

from __future__ import annotations

from typing import Any

from shared.secret_stores.references import Reference, as_text, need_sdk, refused


def aws_value(ref: Reference, clients: dict[str, Any], endpoint: str | None,
              region: str | None) -> str:
    """The value of a ``secretsmanager:`` or ``ssm:`` reference; ``clients`` keeps the
    Powertools providers (one per store) for the container."""
    need_sdk(ref, "boto3")
    from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    provider = clients.get(ref.store)
    if provider is None:
        from shared.clouds import aws

        service = "secretsmanager" if ref.store == "secretsmanager" else "ssm"
        client = aws.client(service, endpoint=endpoint, region=region)
        provider = SecretsProvider(boto3_client=client) if service == "secretsmanager" \
            else SSMProvider(boto3_client=client)
        clients[ref.store] = provider
    options: dict[str, Any] = {"decrypt": True} if ref.store == "ssm" else {}
    try:
        value = provider.get(ref.name, max_age=0, force_fetch=True, **options)
    except GetParameterError as exc:
        raise refused(ref, _aws_code(exc)) from None
    if not isinstance(value, (str, bytes)):
        raise refused(ref, "no value")
    return as_text(ref, value)


def _aws_code(exc: BaseException) -> str:
    """The AWS error code behind Powertools' GetParameterError (it wraps the ClientError)."""
    cause = exc.__cause__ or exc.__context__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code") or "unknown error")
    return "the store did not answer" if cause is not None else "unknown error"
