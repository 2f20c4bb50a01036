"""How poll hands a ready export to complete: inline, Lambda async invoke, or SCF async invoke.

The payload is always the same small JSON object, ``{"export_id": "exp_…"}``: everything else
the complete function needs is in the state table. Async invocations are at-least-once and a
lost one is re-dispatched by the poller later; completion is idempotent (compare-and-set), so a
duplicate is harmless.

``COURIER_DISPATCH`` picks the mode. ``COURIER_COMPLETE_FUNCTION`` names the target:

* Lambda: a function name, ``name:alias`` or a full ARN (passed through as ``FunctionName``);
* SCF: ``[namespace/]name[:qualifier]`` (namespace ``default``, qualifier ``$LATEST``
  unless given), in the region of ``TENCENTCLOUD_REGION``.

Failures become :class:`DispatchError` (a ``CourierError``) with ``retryable`` set from the
vendor's error code; the SDK exception is chained, never leaked.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from shared.config import Settings
from shared.errors import ConfigError, CourierError
from shared.setting_names import (
    ENV_COMPLETE_FUNCTION,
    ENV_DISPATCH,
    ENV_TC_SECRET_ID,
    ENV_TC_SECRET_KEY,
)

log = logging.getLogger(__name__)

# Lambda Invoke error codes that can succeed when tried again (throttling, service trouble,
# a function that is still being created or updated).
LAMBDA_RETRYABLE_CODES = frozenset({
    "TooManyRequestsException",
    "ServiceException",
    "ResourceNotReadyException",
    "ResourceConflictException",
    "EC2ThrottledException",
    "EC2UnexpectedException",
    "ENILimitReachedException",
    "SubnetIPAddressLimitReachedException",
    "SnapStartNotReadyException",
    "Throttling",
    "ThrottlingException",
    "RequestTimeout",
    "RequestTimeoutException",
})


class DispatchError(CourierError):
    """Handing an export to the complete function failed; ``retryable`` says if retry helps."""

    def __init__(self, target: str, code: str, message: str, *, retryable: bool,
                 request_id: str | None = None) -> None:
        super().__init__(f"dispatch to {target}: {code}: {message}")
        self.target = target
        self.code = code
        self.detail = message
        self.retryable = retryable
        self.request_id = request_id


class Dispatcher(Protocol):
    def dispatch(self, export_id: str) -> None: ...


def payload(export_id: str) -> str:
    """The complete function's event, as JSON text."""
    return json.dumps({"export_id": export_id}, separators=(",", ":"))


class InlineDispatcher:
    """Complete in the poller's own invocation (local runs, the sandbox, small deployments)."""

    def __init__(self, inline: Callable[[str], None]) -> None:
        self.inline = inline

    def dispatch(self, export_id: str) -> None:
        self.inline(export_id)


class LambdaClientProtocol(Protocol):
    def invoke(self, **kwargs: Any) -> dict[str, Any]: ...


class LambdaDispatcher:
    """``lambda:Invoke`` with ``InvocationType="Event"``: Lambda queues it and answers 202."""

    def __init__(self, function_name: str, client: LambdaClientProtocol | None = None) -> None:
        self.function_name = function_name
        self._client = client

    @property
    def client(self) -> LambdaClientProtocol:
        if self._client is None:
            from shared.clouds import aws

            # Standard retry mode already retries throttling and 5xx a few times; a duplicate
            # event after a lost answer is harmless (completion is idempotent).
            self._client = aws.client("lambda", connect_s=5, read_s=15,
                                      retries={"mode": "standard", "max_attempts": 3})
        return self._client

    def dispatch(self, export_id: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.invoke(FunctionName=self.function_name,
                                          InvocationType="Event", Payload=payload(export_id))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "Unknown")
            meta = exc.response.get("ResponseMetadata", {})
            status = int(meta.get("HTTPStatusCode") or 0)
            raise DispatchError(self.function_name, code, str(error.get("Message") or ""),
                                retryable=code in LAMBDA_RETRYABLE_CODES or status >= 500,
                                request_id=meta.get("RequestId")) from exc
        except BotoCoreError as exc:  # connection refused, timeouts, bad endpoint
            raise DispatchError(self.function_name, "NoAnswer", str(exc),
                                retryable=True) from exc
        status = int(response.get("StatusCode") or 0)
        request_id = response.get("ResponseMetadata", {}).get("RequestId")
        if status != 202:
            raise DispatchError(self.function_name, f"HTTP{status}",
                                "an Event invocation must be answered with 202",
                                retryable=True, request_id=request_id)
        log.info("export %s handed to %s (request %s)", export_id, self.function_name,
                 request_id)


@dataclass(frozen=True)
class ScfTarget:
    name: str
    namespace: str = "default"
    qualifier: str | None = None

    @classmethod
    def parse(cls, text: str) -> ScfTarget:
        namespace, _, rest = text.rpartition("/")
        name, _, qualifier = rest.partition(":")
        if not name:
            raise ConfigError(f"{ENV_COMPLETE_FUNCTION}: expected [namespace/]name[:qualifier]")
        return cls(name=name, namespace=namespace or "default", qualifier=qualifier or None)

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}" + (f":{self.qualifier}" if self.qualifier else "")


class ScfDispatcher:
    """SCF ``Invoke`` with ``InvocationType="Event"``; the payload travels as ``ClientContext``
    and arrives as the function's ``event``."""

    def __init__(self, target: ScfTarget, client: Any) -> None:
        self.target = target
        self.client = client

    @classmethod
    def build(cls, settings: Settings) -> ScfDispatcher:
        if settings.tencent is None:
            raise ConfigError(f"{ENV_DISPATCH}=scf needs Tencent credentials ({ENV_TC_SECRET_ID} "
                              f"and {ENV_TC_SECRET_KEY}; SCF sets them for the function role)")
        from tencentcloud.scf.v20180416.scf_client import ScfClient

        from shared.clouds import tencent as cloud

        client = cloud.client(settings.tencent, "scf", ScfClient)
        return cls(ScfTarget.parse(settings.complete_function or ""), client)

    def dispatch(self, export_id: str) -> None:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )
        from tencentcloud.scf.v20180416.models import InvokeRequest

        from shared.clouds.tencent import is_retryable

        request = InvokeRequest()
        request.FunctionName = self.target.name
        request.Namespace = self.target.namespace
        request.InvocationType = "Event"
        request.ClientContext = payload(export_id)
        if self.target.qualifier:
            request.Qualifier = self.target.qualifier
        try:
            response = self.client.Invoke(request)
        except TencentCloudSDKException as exc:
            code = str(exc.code or "Unknown")
            raise DispatchError(str(self.target), code, str(exc.message or "")[:300],
                                retryable=is_retryable(code),
                                request_id=exc.requestId) from exc
        result = getattr(response, "Result", None)
        log.info("export %s handed to %s (request %s, function request %s)", export_id,
                 self.target, response.RequestId, getattr(result, "FunctionRequestId", None))


def make_dispatcher(settings: Settings, inline: Callable[[str], None], *,
                    client: Any = None) -> Dispatcher:
    """The dispatcher ``settings.dispatch`` asks for. ``client`` replaces the SDK client
    (a boto3 Lambda client or a tencentcloud ``ScfClient``), e.g. to point it elsewhere."""
    mode = settings.dispatch
    if mode == "inline":
        return InlineDispatcher(inline)
    if not settings.complete_function:
        raise ConfigError(f"{ENV_COMPLETE_FUNCTION}: required with {ENV_DISPATCH}={mode}")
    if mode == "lambda":
        return LambdaDispatcher(settings.complete_function, client)
    if mode == "scf":
        if client is not None:
            return ScfDispatcher(ScfTarget.parse(settings.complete_function), client)
        return ScfDispatcher.build(settings)
    raise ConfigError(f"{ENV_DISPATCH}: must be 'inline', 'lambda' or 'scf', not {mode!r}")
