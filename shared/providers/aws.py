"""Plumbing for the AWS providers: boto3 clients behind :class:`~shared.providers.api.VendorApi`.

Calls go through a boto3 client (``logs``, ``s3``, ``sts``) by action name with plain dicts
(``DescribeExportTasks`` calls ``describe_export_tasks``), drawn from the rate budget, counted,
and ended by the call deadline: no call starts with less than ``MIN_CALL_S`` left, and its
read timeout is the client's own capped by the time left (botocore's per-request
``read_timeout``, set in a ``before-call`` hook), as the Tencent clients cap theirs; a
connection takes at most ``CONNECT_S`` more. The SDK's own retries are off: a retried
``CreateExportTask`` could make a second task.

Failures become :class:`~shared.errors.ProviderError` and nothing else:

* an error answer (``ClientError``) — by its code: retryable from :data:`RETRYABLE_CODES` or
  any HTTP 5xx; ``LimitExceededException`` (one active export task per account) is looked at
  again after :data:`BUSY_RETRY_S`; a throttling code slows that action for every caller;
* no answer at all (``BotoCoreError``: the connection broke or timed out) — ``NoAnswer``,
  retryable (and, for a create, a call that may have gone through).
"""

from __future__ import annotations

import logging
import re
from contextvars import ContextVar
from typing import Any

from shared.clouds import aws as cloud
from shared.errors import ProviderError
from shared.pacing import RateBudget
from shared.providers.api import VendorApi, short

log = logging.getLogger(__name__)

# Codes that can succeed later. LimitExceededException on create: another export task of the
# account is active (maybe not ours); wait it out.
RETRYABLE_CODES = frozenset({"LimitExceededException", "ThrottlingException", "Throttling",
                             "ServiceUnavailableException", "ServiceUnavailable",
                             "InternalFailure", "InternalServerError", "RequestTimeout",
                             "OperationAbortedException"})
THROTTLED_CODES = frozenset({"ThrottlingException", "Throttling"})
NO_ANSWER = "NoAnswer"
BUSY_RETRY_S = 30.0  # after LimitExceededException, look again no sooner than this
CONNECT_S, READ_S = 2.0, 20.0  # the clients' own timeouts (read: capped by the time left)

_read_timeout: ContextVar[float | None] = ContextVar("courier_aws_read_timeout", default=None)


class AwsApi(VendorApi):
    """One boto3 client, called by action name with dicts."""

    def __init__(self, provider: str, client: Any, limiter: RateBudget | None = None) -> None:
        super().__init__(provider, _capped(client), limiter)

    @classmethod
    def build(cls, provider: str, service: str, endpoint: str | None, region: str,
              limiter: RateBudget | None = None, session: Any = None) -> AwsApi:
        return cls(provider, client(service, endpoint, region, session), limiter)

    @property
    def timeout_s(self) -> float | None:
        return READ_S

    def request(self, action: str, params: dict[str, Any]) -> Any:
        return dict(params)

    def send(self, action: str, request: Any, timeout_s: float | None) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        method = getattr(self.client, re.sub(r"(?<!^)(?=[A-Z])", "_", action).lower())
        token = _read_timeout.set(timeout_s)
        try:
            return dict(method(**request))
        except ClientError as exc:
            error = exc.response.get("Error") or {}
            code = str(error.get("Code") or "Unknown")
            meta = exc.response.get("ResponseMetadata") or {}
            status = int(meta.get("HTTPStatusCode") or 0)
            log.info("%s %s failed: HTTP %s %s (request %s)", self.provider, action, status,
                     code, meta.get("RequestId"))
            raise ProviderError(self.provider, code,
                                f"{action}: {short(error.get('Message') or code)}",
                                retryable=code in RETRYABLE_CODES or status >= 500,
                                request_id=meta.get("RequestId"),
                                retry_after=BUSY_RETRY_S if code == "LimitExceededException"
                                else None) from exc
        except BotoCoreError as exc:  # no answer: the connection broke or timed out
            raise ProviderError(self.provider, NO_ANSWER,
                                f"{action}: no answer ({short(str(exc))})",
                                retryable=True) from exc
        finally:
            _read_timeout.reset(token)

    def throttle(self, code: str) -> bool:
        return code in THROTTLED_CODES


def client(service: str, endpoint: str | None, region: str, session: Any = None) -> Any:
    """A boto3 client with short timeouts and no SDK retries (``session``: a named
    account's, :func:`shared.clouds.aws.session`; None: boto3's own chain)."""
    return cloud.client(service, endpoint=endpoint, region=region, connect_s=CONNECT_S,
                        read_s=READ_S, retries={"total_max_attempts": 1}, session=session)


def _cap_read_timeout(context: dict[str, Any], **_: Any) -> None:
    """botocore ``before-call`` hook: this request's read timeout is the one
    :meth:`AwsApi.send` was given (the client's own outside a call deadline)."""
    timeout = _read_timeout.get()
    if timeout is not None:
        context["read_timeout"] = max(0.1, min(READ_S, timeout))


def _capped(sdk_client: Any) -> Any:
    """``sdk_client`` with its calls' read timeouts capped as :meth:`AwsApi.send` says."""
    events = getattr(getattr(sdk_client, "meta", None), "events", None)
    if events is not None:
        events.register("before-call", _cap_read_timeout, unique_id="courier-call-deadline")
    return sdk_client
