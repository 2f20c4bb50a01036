"""Provider registry: one line per provider; modules are imported when first used."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.config import Settings
from shared.errors import ConfigError, ValidationError
from shared.pacing import RateBudget
from shared.providers.base import Provider

# A rate budget for one provider's calls: (provider name, the key id of its vendor account)
# -> the budget its client draws from. The bundle makes one over the state store
# (:class:`shared.state.budget.SharedBudget`); without one each process limits itself.
BudgetFactory = Callable[[str, str], RateBudget]


@dataclass(frozen=True)
class Entry:
    """What the registry knows of a provider before its module is imported."""

    module: str  # holds the provider class
    cls: str
    credentials: str  # which Settings attribute holds its keys: "tencent", "alibaba", "aws"
    sdk: tuple[str, ...]  # vendor SDK distributions (as in pyproject.toml) the package needs


# provider key -> its entry: the one list a new provider is added to
REGISTRY: dict[str, Entry] = {
    "cls": Entry("shared.providers.cls", "ClsProvider", "tencent",
                 ("tencentcloud-sdk-python-cls",)),
    "mongodb": Entry("shared.providers.mongodb", "MongodbProvider", "tencent",
                     ("tencentcloud-sdk-python-mongodb",)),
    "tcss": Entry("shared.providers.tcss", "TcssProvider", "tencent",
                  ("tencentcloud-sdk-python-tcss",)),
    "dlc": Entry("shared.providers.dlc", "DlcProvider", "tencent",
                 ("tencentcloud-sdk-python-dlc",)),
    "dms": Entry("shared.providers.dms", "DmsProvider", "alibaba",
                 ("alibabacloud-dms-enterprise20181101",)),
    "cloudwatch": Entry("shared.providers.cloudwatch", "CloudwatchProvider", "aws", ("boto3",)),
}
# top-level modules of the vendor SDKs (a missing one means a trimmed package)
VENDOR_SDKS = ("tencentcloud", "alibabacloud", "boto3", "botocore")


def provider_class(name: str) -> type[Provider]:
    """The class of a registered provider (its module imported, no client built)."""
    entry = REGISTRY[name]
    cls: type[Provider] = getattr(importlib.import_module(entry.module), entry.cls)
    return cls


def params_schemas() -> dict[str, dict[str, Any]]:
    """Every registered provider's parameter schema, by provider key: what the OpenAPI
    document, the CLI, the status page and the docs' tables describe."""
    return {name: provider_class(name).params_schema for name in sorted(REGISTRY)}


class Providers:
    """Builds each provider once (warm invocations reuse clients) from the settings.

    With ``budget``, every provider draws its calls from the budget it makes (the bundle's
    is shared in the state store: one bucket per vendor account, service and action);
    without, each process limits itself."""

    def __init__(self, settings: Settings, *,
                 budget: BudgetFactory | None = None,
                 **overrides: Provider) -> None:
        self.settings = settings
        self.budget = budget
        self._built: dict[str, Provider] = dict(overrides)

    @property
    def names(self) -> list[str]:
        return sorted(REGISTRY)

    def get(self, name: Any) -> Provider:
        if not isinstance(name, str) or name not in REGISTRY:
            raise ValidationError("provider", f"unknown provider {str(name)[:40]!r} "
                                  f"(expected one of: {', '.join(self.names)})")
        if name not in self._built:
            entry = REGISTRY[name]
            try:
                loaded = importlib.import_module(entry.module)
            except ModuleNotFoundError as exc:
                if not (exc.name or "").startswith(VENDOR_SDKS):
                    raise
                # a package built with ``--providers`` that leaves this one out
                raise ValidationError("provider", f"provider {name!r} is not in this "
                                      "deployment: the package was built without its SDK "
                                      f"({exc.name})") from None
            settings = getattr(self.settings, entry.credentials)
            if settings is None:
                raise ConfigError(f"provider {name!r} needs {entry.credentials} credentials, "
                                  "which are not configured")
            cls = getattr(loaded, entry.cls)
            if self.budget is None:
                self._built[name] = cls(settings)
            else:
                key_id = str(getattr(settings, "secret_id", None)
                             or getattr(settings, "access_key_id", None)
                             or getattr(settings, "staging_bucket", ""))
                self._built[name] = cls(settings, limiter=self.budget(name, key_id))
        return self._built[name]
