"""AWS: how every boto3 client Courier makes is built.

The providers' clients (CloudWatch Logs, the staging bucket's S3), the Lambda client that
dispatches completions and the Secrets Manager / SSM clients that read ``secretsmanager:`` and
``ssm:`` references all come from :func:`client`: credentials from boto3's own chain (the
function's role), timeouts and the retry policy said by the caller, path-style addressing for
an S3 endpoint of our own (the sandbox, or an S3-compatible server).
"""

from __future__ import annotations

from typing import Any

from shared.errors import ProviderError


def client(service: str, *, endpoint: str | None = None, region: str | None = None,
           connect_s: float | None = None, read_s: float | None = None,
           retries: dict[str, Any] | None = None,
           keys: tuple[str, str, str | None] | None = None, session: Any = None,
           **config: Any) -> Any:
    """A boto3 client for ``service``. ``retries`` is botocore's retry setting (``None``: its
    default); ``connect_s`` / ``read_s`` its timeouts (``None``: botocore's); ``keys`` the
    access key id, secret key and session token to sign with, or ``session`` a named
    account's (:func:`session`); neither: boto3's own chain; ``config`` more botocore
    ``Config`` arguments."""
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = dict(config)
    if connect_s is not None:
        options["connect_timeout"] = connect_s
    if read_s is not None:
        options["read_timeout"] = read_s
    if retries is not None:
        options["retries"] = retries
    if endpoint and service == "s3":
        options.setdefault("s3", {"addressing_style": "path"})
    signing = {} if keys is None else {"aws_access_key_id": keys[0],
                                       "aws_secret_access_key": keys[1],
                                       "aws_session_token": keys[2] or None}
    return (session or boto3).client(service, endpoint_url=endpoint, region_name=region,
                                     config=Config(**options) if options else None,
                                     **signing)


REFRESH_BEFORE_S = 300  # a role's temporary keys are read again this long before they expire
MUST_REFRESH_S = 60  # … and every call waits for new ones this long before


def session(*, keys: tuple[str, str, str | None] | None = None, assume: Any = None,
            region: str | None = None, sts_endpoint: str | None = None,
            account: str | None = None) -> Any:
    """A boto3 Session for a named account: its own ``keys`` (access key, secret, token), or
    the temporary keys of the role ``assume`` (a :class:`shared.fleet.RoleToAssume`) got by
    STS ``AssumeRole`` with its external id — signed with ``keys`` or boto3's own chain —
    kept, and read again :data:`REFRESH_BEFORE_S` before they expire. None when neither
    (boto3's own chain). A refusal is a :class:`~shared.errors.ProviderError` with STS's code
    naming the account and the role, raised from the call that needed the keys."""
    import boto3
    import botocore.session
    from botocore.credentials import DeferredRefreshableCredentials

    if keys is None and assume is None:
        return None
    base = boto3.Session(aws_access_key_id=keys[0], aws_secret_access_key=keys[1],
                         aws_session_token=keys[2], region_name=region) if keys else None
    if assume is None:
        return base
    sts = client("sts", endpoint=sts_endpoint, region=region, connect_s=2, read_s=10,
                 retries={"total_max_attempts": 1}, session=base)

    def fetch() -> dict[str, Any]:
        return assume_role(sts, assume, account)

    credentials = DeferredRefreshableCredentials(fetch, "assume-role")
    credentials._advisory_refresh_timeout = REFRESH_BEFORE_S
    credentials._mandatory_refresh_timeout = MUST_REFRESH_S
    core = botocore.session.get_session()
    core._credentials = credentials
    return boto3.Session(botocore_session=core, region_name=region)


RETRYABLE_STS = frozenset({"Throttling", "ThrottlingException", "ServiceUnavailable",
                           "InternalFailure", "RequestTimeout"})


def assume_role(sts: Any, role: Any, account: str | None) -> dict[str, Any]:
    """The role's temporary keys in botocore's refresh form, from ``sts`` (a client)."""
    from botocore.exceptions import BotoCoreError, ClientError

    params: dict[str, Any] = {"RoleArn": role.role, "RoleSessionName": role.session_name,
                              "DurationSeconds": role.session_s}
    if role.external_id:
        params["ExternalId"] = role.external_id
    try:
        keys = sts.assume_role(**params)["Credentials"]
    except ClientError as exc:
        error = exc.response.get("Error") or {}
        code = str(error.get("Code") or "Unknown")
        status = int((exc.response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)
        raise ProviderError("sts", code, f"account {account}: cannot assume role {role.role}: "
                            f"{str(error.get('Message') or code)[:200]}",
                            retryable=code in RETRYABLE_STS or status >= 500) from exc
    except BotoCoreError as exc:
        raise ProviderError("sts", "NoAnswer", f"account {account}: AssumeRole for "
                            f"{role.role}: no answer ({str(exc)[:200]})", retryable=True
                            ) from exc
    return {"access_key": keys["AccessKeyId"], "secret_key": keys["SecretAccessKey"],
            "token": keys["SessionToken"], "expiry_time": keys["Expiration"].isoformat()}
