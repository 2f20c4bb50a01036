"""The base of the vendor API clients: one call path for every vendor SDK.

:class:`VendorApi` does what every vendor client needs around one SDK call, once:

* draw the call from the rate budget (:class:`~shared.providers.base.RateBudget`: a
  per-process :class:`~shared.providers.base.RateLimiter` or the
  :class:`~shared.state.budget.SharedBudget` every invocation shares);
* start the call only if it can finish before the call deadline, with the SDK's timeout
  capped by the time left (:func:`~shared.providers.base.call_deadline`);
* count it (``calls`` per action, and the ``ProviderCalls`` metric);
* turn every vendor failure into :class:`~shared.errors.ProviderError` through the
  subclass's error table, and report a throttling answer to the budget, which slows that
  action for every caller (and the ``ProviderThrottles`` metric).

A subclass fills in the SDK: :meth:`VendorApi.request` (the request model),
:meth:`VendorApi.send` (the call, raising ``ProviderError`` from the vendor's exceptions),
:meth:`VendorApi.throttle` (which codes are the vendor's "too many requests") and, where
the SDK's timeout can be changed per call, :attr:`VendorApi.timeout_s`.

:class:`VendorProvider` is the provider over one such client: it keeps the settings and
builds its client from them (:meth:`VendorProvider.build_api`) unless given one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

from shared.errors import ProviderError
from shared.pacing import MIN_CALL_S, RateBudget, RateLimiter, deadline_error, time_left
from shared.providers.base import Provider
from shared.runtime import metrics


class VendorApi(ABC):
    """One vendor SDK client, called by action name with plain dicts."""

    def __init__(self, provider: str, client: Any, limiter: RateBudget | None = None) -> None:
        self.provider = provider
        self.client = client
        self.limiter: RateBudget = limiter or RateLimiter()
        self.calls: dict[str, int] = {}

    def call(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """The vendor's answer to ``action`` as a dict; a ``ProviderError`` otherwise."""
        request = self.request(action, params)
        self.limiter.acquire(action)
        timeout = self.capped_timeout(action)
        self.calls[action] = self.calls.get(action, 0) + 1
        metrics.add(metrics.PROVIDER_CALLS, provider=self.provider, action=action)
        try:
            return self.send(action, request, timeout)
        except ProviderError as exc:
            if self.throttle(exc.code):
                self.limiter.throttled(action)
                metrics.add(metrics.PROVIDER_THROTTLES, provider=self.provider, action=action)
            raise

    def capped_timeout(self, action: str) -> float | None:
        """The SDK's timeout for this call (:attr:`timeout_s`), capped by the time left
        before the call deadline; no call at all with less than ``MIN_CALL_S`` left."""
        left = time_left()
        if left is not None and left < MIN_CALL_S:
            raise deadline_error(self.provider, action)
        full = self.timeout_s
        if full is None or left is None:
            return full
        return min(full, left)

    @property
    def timeout_s(self) -> float | None:
        """The SDK's own timeout in seconds; None where it cannot be changed per call."""
        return None

    @abstractmethod
    def request(self, action: str, params: dict[str, Any]) -> Any:
        """The SDK's request for ``action`` built from ``params``."""

    @abstractmethod
    def send(self, action: str, request: Any, timeout_s: float | None) -> dict[str, Any]:
        """Make the call within ``timeout_s`` (None: the SDK's own); every vendor failure
        is raised as ``ProviderError`` (``raise ... from exc``)."""

    @abstractmethod
    def throttle(self, code: str) -> bool:
        """Whether an error ``code`` is the vendor refusing a call as over its rate."""


SettingsT = TypeVar("SettingsT")
ApiT = TypeVar("ApiT", bound=VendorApi)


class VendorProvider(Provider, Generic[SettingsT, ApiT]):
    """A provider that calls its vendor through one :class:`VendorApi` (``self.api``).

    ``api`` replaces the client built from the settings (a test's own); ``limiter`` is the
    rate budget the built client draws from; ``credentials`` what the built client signs
    with instead of keys made from the settings (a named account's role keys, shared by
    every client of the account: :class:`shared.clouds.roles.AssumedRoles`)."""

    def __init__(self, settings: SettingsT, *, api: ApiT | None = None,
                 limiter: RateBudget | None = None, credentials: Any = None) -> None:
        self.settings = settings
        self.api: ApiT = api or self.build_api(settings, limiter, credentials)

    @classmethod
    @abstractmethod
    def build_api(cls, settings: SettingsT, limiter: RateBudget | None,
                  credentials: Any = None) -> ApiT:
        """The provider's vendor client, built from its settings (signing with
        ``credentials`` when given)."""


def short(message: Any, limit: int = 300) -> str:
    """A vendor's message, cut to a length fit for an error and a log line."""
    text = str(message or "")
    return text if len(text) <= limit else text[:limit] + "…"
