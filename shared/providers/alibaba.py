"""Plumbing for the Alibaba Cloud DMS provider: the SDK client, calls, error classification.

Calls go through the vendor's typed client (``alibabacloud_dms_enterprise20181101.Client``)
and its ``*_with_options`` methods, with request models built from plain dicts and a
``RuntimeOptions`` that turns the SDK's own retrying off (a retried ``Create*`` could open a
second ticket) and keeps timeouts short, capped by the call deadline
(:class:`~shared.providers.api.VendorApi`). Answers come back as plain dicts; a throttling
answer slows the rate budget of its action for every caller.

Failures become :class:`~shared.errors.ProviderError` and nothing else:

* HTTP 200 with ``Success: false`` — DMS's business errors; classified by ``ErrorCode``;
* HTTP 4xx (``ClientException``) / 5xx (``ServerException``) — classified by code, every
  5xx retryable;
* no answer at all (connection refused, timeout) — ``NetworkError``, retryable.
"""

from __future__ import annotations

import logging
from typing import Any

from alibabacloud_dms_enterprise20181101 import models as dms_models
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException
from darabonba.runtime import RuntimeOptions
from Tea.exceptions import TeaException

from shared.clouds import alibaba as cloud
from shared.clouds.alibaba import CONNECT_TIMEOUT_MS, READ_TIMEOUT_MS
from shared.errors import ProviderError
from shared.pacing import RateBudget
from shared.providers.api import VendorApi, short
from shared.vendor_settings import AlibabaSettings

log = logging.getLogger(__name__)


# action -> (client method, request model)
ACTIONS: dict[str, tuple[str, Any]] = {
    "CreateDataExportOrder": ("create_data_export_order_with_options",
                              dms_models.CreateDataExportOrderRequest),
    "SubmitOrderApproval": ("submit_order_approval_with_options",
                            dms_models.SubmitOrderApprovalRequest),
    "GetDataExportOrderDetail": ("get_data_export_order_detail_with_options",
                                 dms_models.GetDataExportOrderDetailRequest),
    "GetOrderBaseInfo": ("get_order_base_info_with_options", dms_models.GetOrderBaseInfoRequest),
    "ExecuteDataExport": ("execute_data_export_with_options",
                          dms_models.ExecuteDataExportRequest),
    # (sic: the SDK names this one without an underscore before "with")
    "GetDataExportDownloadURL": ("get_data_export_download_urlwith_options",
                                 dms_models.GetDataExportDownloadURLRequest),
    "CloseOrder": ("close_order_with_options", dms_models.CloseOrderRequest),
    "ListOrders": ("list_orders_with_options", dms_models.ListOrdersRequest),
    "GetUserActiveTenant": ("get_user_active_tenant_with_options",
                            dms_models.GetUserActiveTenantRequest),
}

# Codes that can succeed later. Exact names, prefixes ending in ".", and suffixes.
RETRYABLE_CODES = frozenset({
    "Throttling", "Throttling.", "ServiceUnavailable", "ServiceUnavailable.",
    "InternalError", "InternalError.", "UnknownError", "SystemBusy", "ServerBusy",
    "NetworkError", "RequestTimeout",
})
RETRYABLE_SUFFIXES = (".Busy", ".Throttling", "Throttling")


def is_retryable(code: str, status: int | None = None) -> bool:
    if status is not None and status >= 500:
        return True
    if code in RETRYABLE_CODES or code.endswith(RETRYABLE_SUFFIXES):
        return True
    return any(code.startswith(p) for p in RETRYABLE_CODES if p.endswith("."))


class DmsApi(VendorApi):
    """The DMS client, called by action name with dicts."""

    def __init__(self, provider: str, client: Any, limiter: RateBudget | None = None) -> None:
        super().__init__(provider, client, limiter)

    @classmethod
    def build(cls, settings: AlibabaSettings, limiter: RateBudget | None = None,
              credentials: Any = None) -> DmsApi:
        return cls("dms", cloud.dms_client(settings, credentials), limiter)

    @staticmethod
    def runtime(timeout_s: float | None = None) -> RuntimeOptions:
        """No SDK retries; the timeouts, capped by ``timeout_s`` when given."""
        read_ms = READ_TIMEOUT_MS if timeout_s is None else max(1, int(timeout_s * 1000))
        return RuntimeOptions(autoretry=False, max_attempts=0,
                              connect_timeout=min(CONNECT_TIMEOUT_MS, read_ms),
                              read_timeout=min(READ_TIMEOUT_MS, read_ms))

    @property
    def timeout_s(self) -> float | None:
        return READ_TIMEOUT_MS / 1000

    def request(self, action: str, params: dict[str, Any]) -> Any:
        return ACTIONS[action][1]().from_map(params)

    def send(self, action: str, request: Any, timeout_s: float | None) -> dict[str, Any]:
        method = ACTIONS[action][0]
        try:
            response = getattr(self.client, method)(request, self.runtime(timeout_s))
        except AlibabaCloudException as exc:  # an HTTP 4xx / 5xx answer
            status = int(getattr(exc, "status_code", 0) or 0)
            code = str(exc.code or f"HTTP{status}")
            request_id = getattr(exc, "request_id", None)
            data = exc.data if isinstance(exc.data, dict) else {}
            log.info("%s %s failed: HTTP %s %s (request %s)", self.provider, action, status,
                     code, request_id)
            retry_after = getattr(exc, "retry_after", None)
            raise ProviderError(
                self.provider, code, short(data.get("Message") or exc.message),
                retryable=is_retryable(code, status), request_id=request_id,
                retry_after=(float(retry_after) / 1000 if retry_after
                             else 1.0 if code.startswith("Throttling") else None),
            ) from exc
        except TeaException as exc:  # no answer: the SDK wraps the transport error
            inner = getattr(exc, "inner_exception", None)
            if isinstance(inner, ProviderError):  # a named account's role was refused
                raise inner from exc
            kind = type(inner or exc).__name__
            log.info("%s %s failed: no answer (%s)", self.provider, action, kind)
            raise ProviderError(self.provider, "NetworkError", f"no answer from DMS ({kind})",
                                retryable=True) from exc
        body: dict[str, Any] = response.body.to_map() if response.body is not None else {}
        if body.get("Success") is False:
            code = str(body.get("ErrorCode") or "UnknownError")
            log.info("%s %s refused: %s (request %s)", self.provider, action, code,
                     body.get("RequestId"))
            raise ProviderError(self.provider, code, short(body.get("ErrorMessage")),
                                retryable=is_retryable(code),
                                request_id=body.get("RequestId"),
                                retry_after=1.0 if "Throttling" in code else None)
        return body

    def throttle(self, code: str) -> bool:
        """DMS's flow control answers ``Throttling.User`` (and other ``Throttling.*``)."""
        return "Throttling" in code
