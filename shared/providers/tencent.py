"""Plumbing shared by the Tencent Cloud providers: calls and error classification.

Every call goes through the vendor's SDK client (``ClsClient``, ``DlcClient``, …, built by
:func:`shared.clouds.tencent.client`) with the action's request model built from a plain dict
(the model decides which fields are sent, as the typed methods do), through the rate budget
and the call deadline of :class:`~shared.providers.api.VendorApi`. It is made the way the SDK's own
``call_json`` makes it (the client's ``_call``: the same endpoint, headers, TC3 signing and
HTTP session as the typed ``ClsClient.DescribeExports`` & co.; then its status check) and
comes back as the JSON the service answered, decoded once: the typed method would build the
response model only for it to be serialised back to a dict (more than half of a call's CPU),
and ``call_json`` decodes the answer twice (once to look for an error, once to return it),
each a quarter of a listing page's CPU. The error check is the SDK's ``_check_error`` on
that one decoded answer. The answer is read with ``.get`` (a field the service left out is absent,
where the model gave None); that it matches the vendor's model is the sandbox's strict
conformance check. ``TencentCloudSDKException`` never leaves this module: it becomes a
``ProviderError`` whose ``retryable`` flag comes from the cloud's code table
(:mod:`shared.clouds.tencent`).
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from shared.clouds import tencent as cloud
from shared.errors import ProviderError
from shared.pacing import RateBudget
from shared.providers.api import VendorApi, VendorProvider, short
from shared.vendor_settings import TencentSettings

log = logging.getLogger(__name__)

class TencentApi(VendorApi):
    """One vendor client plus its request models, called by action name with dicts."""

    def __init__(
        self,
        provider: str,
        client: Any,
        models: Any,
        limiter: RateBudget | None = None,
    ) -> None:
        super().__init__(provider, client, limiter)
        self.models = models
        self._timeout_s: float | None = None  # the SDK's own, read on the first call
        self._deprecated: set[str] = set()  # actions whose deprecation was logged

    @classmethod
    def build(cls, provider: str, service: str, client_cls: Any, models: Any,
              settings: TencentSettings, limiter: RateBudget | None = None,
              credentials: Any = None) -> TencentApi:
        return cls(provider, cloud.client(settings, service, client_cls,
                                          credentials=credentials), models, limiter)

    def request(self, action: str, params: dict[str, Any]) -> Any:
        request = getattr(self.models, f"{action}Request")()
        request._deserialize(params)  # what from_json_string does, without a JSON round trip
        return request

    @property
    def timeout_s(self) -> float | None:
        # The SDK keeps its timeout on the connection of ``client.request``; a client
        # without one keeps its own.
        conn = self._conn()
        if conn is None:
            return None
        if self._timeout_s is None:
            self._timeout_s = float(conn.timeout)
        return self._timeout_s

    def send(self, action: str, request: Any, timeout_s: float | None) -> dict[str, Any]:
        conn = self._conn()
        if conn is not None and timeout_s is not None:
            conn.timeout = timeout_s
        try:
            return self._answer(action, request)
        except TencentCloudSDKException as exc:
            if isinstance(exc.__context__, ProviderError):  # a named account's role refused
                raise exc.__context__ from exc  # (the SDK wraps what its credential raised)
            code = str(exc.code or "Unknown")
            log.info("%s %s failed: %s (request %s)", self.provider, action, code, exc.requestId)
            raise ProviderError(
                self.provider,
                code,
                short(exc.message),
                retryable=cloud.is_retryable(code),
                request_id=exc.requestId,
                retry_after=1.0 if code in cloud.THROTTLED_CODES else None,
            ) from exc

    def _answer(self, action: str, request: Any) -> dict[str, Any]:
        """The call ``call_json`` makes (the SDK's retryer stays off: :mod:`shared.clouds.
        tencent`), its answer decoded once. The service's ``Error`` is raised as the SDK's
        own exception, with its code, message and request id, read as ``_check_error`` reads
        them (an ``Error`` without them is a ``KeyError``/``TypeError``, as there); a failure
        the SDK does not raise as its own becomes one named after it, as the typed methods
        do (``JSONDecodeError``, ``KeyError``, …). A ``DeprecatedWarning`` is logged once
        per action (the SDK turns it into a Python warning)."""
        client = self.client
        try:
            resp = client._call(action, request._serialize(), None, request.headers)
            client._check_status(resp)
            answer = json.loads(resp.content)["Response"]
            if not isinstance(answer, dict):
                raise TypeError(f"Response is {type(answer).__name__}, not an object")
            if "Error" in answer:
                error = answer["Error"]
                raise TencentCloudSDKException(error["Code"], error["Message"],
                                               answer["RequestId"])
        except TencentCloudSDKException:
            raise
        except Exception as exc:  # noqa: BLE001 - as the SDK's typed methods wrap it
            raise TencentCloudSDKException(type(exc).__name__, str(exc)) from exc
        if "DeprecatedWarning" in answer and action not in self._deprecated:
            self._deprecated.add(action)
            log.warning("%s %s is deprecated by the vendor: %s", self.provider, action,
                        short(answer["DeprecatedWarning"]))
        return answer

    def throttle(self, code: str) -> bool:
        return code in cloud.THROTTLED_CODES

    def _conn(self) -> Any:
        conn = getattr(getattr(self.client, "request", None), "conn", None)
        return conn if conn is not None and hasattr(conn, "timeout") else None


class TencentProvider(VendorProvider[TencentSettings, TencentApi]):
    """A provider over one Tencent Cloud service."""

    service: ClassVar[str]  # the API's service name (its host, its CAM prefix)
    sdk: ClassVar[tuple[Any, Any]]  # the service's SDK client class and its models module

    def ambiguous(self, code: str | None) -> bool:
        return cloud.is_ambiguous(code)

    @classmethod
    def build_api(cls, settings: TencentSettings, limiter: RateBudget | None,
                  credentials: Any = None) -> TencentApi:
        client_cls, models = cls.sdk
        return TencentApi.build(cls.name, cls.service, client_cls, models, settings, limiter,
                                credentials)
