"""AWS: how every boto3 client Courier makes is built.

The providers' clients (CloudWatch Logs, the staging bucket's S3), the Lambda client that
dispatches completions and the Secrets Manager / SSM clients that read ``secretsmanager:`` and
``ssm:`` references all come from :func:`client`: credentials from boto3's own chain (the
function's role), timeouts and the retry policy said by the caller, path-style addressing for
an S3 endpoint of our own (the sandbox, or an S3-compatible server).
"""

from __future__ import annotations

from typing import Any


def client(service: str, *, endpoint: str | None = None, region: str | None = None,
           connect_s: float | None = None, read_s: float | None = None,
           retries: dict[str, Any] | None = None,
           keys: tuple[str, str, str | None] | None = None, **config: Any) -> Any:
    """A boto3 client for ``service``. ``retries`` is botocore's retry setting (``None``: its
    default); ``connect_s`` / ``read_s`` its timeouts (``None``: botocore's); ``keys`` the
    access key id, secret key and session token to sign with (``None``: boto3's chain);
    ``config`` more botocore ``Config`` arguments."""
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
    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        config=Config(**options) if options else None, **signing)
