"""Provider registry: one line per provider; modules are imported when first used."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from shared.clouds.roles import AssumedRoles
from shared.config import Settings
from shared.errors import ConfigError, ProviderError, ValidationError
from shared.fleet import Account
from shared.pacing import RateBudget
from shared.providers.base import Provider
from shared.vendor_settings import AlibabaSettings, AwsSettings, TencentSettings

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
# what Providers.get answers for an account it cannot build a provider for: an export
# naming it fails (no retry helps until the settings change); a create answers 400
ACCOUNT_GONE = "AccountNotConfigured"
ACCOUNT_OF_ANOTHER_CLOUD = "AccountOfAnotherCloud"
ACCOUNT_CODES = frozenset({ACCOUNT_GONE, ACCOUNT_OF_ANOTHER_CLOUD})
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
    without, each process limits itself. ``roles`` keeps one holder of each named account's
    role keys, shared by all its providers (the bundle's is shared with its destinations
    too); without, the providers of these settings share one of their own."""

    def __init__(self, settings: Settings, *,
                 budget: BudgetFactory | None = None,
                 roles: AssumedRoles | None = None,
                 **overrides: Provider) -> None:
        self.settings = settings
        self.budget = budget
        self.roles = roles or AssumedRoles()
        self._built: dict[str, Provider] = dict(overrides)

    @property
    def names(self) -> list[str]:
        return sorted(REGISTRY)

    def get(self, name: Any, account: str | None = None) -> Provider:
        """The provider ``name`` for the named ``account`` (COURIER_ACCOUNTS; None: the
        deployment's own), built once per (provider, account) and kept.

        An account the settings do not hold (any more: an export made before it was taken
        out of COURIER_ACCOUNTS), or one of another cloud than the provider's, is a
        ProviderError that no retry can help (:data:`ACCOUNT_CODES`): the export naming it
        fails with that reason rather than backing off for ever. A create checks the names
        it is given first and answers a 400 (:func:`shared.export_request.named`)."""
        if not isinstance(name, str) or name not in REGISTRY:
            raise ValidationError("provider", f"unknown provider {str(name)[:40]!r} "
                                  f"(expected one of: {', '.join(self.names)})")
        key = name if account is None else f"{name}@{account}"
        if key not in self._built:
            entry = REGISTRY[name]
            named = None if account is None else self._account(name, entry, account)
            try:
                loaded = importlib.import_module(entry.module)
            except ModuleNotFoundError as exc:
                if not (exc.name or "").startswith(VENDOR_SDKS):
                    raise
                # a package built with ``--providers`` that leaves this one out
                raise ValidationError("provider", f"provider {name!r} is not in this "
                                      "deployment: the package was built without its SDK "
                                      f"({exc.name})") from None
            base = getattr(self.settings, entry.credentials)
            settings = base if named is None else account_settings(named, base)
            if settings is None:
                raise ConfigError(f"provider {name!r} needs {entry.credentials} credentials, "
                                  "which are not configured")
            cls = getattr(loaded, entry.cls)
            extra: dict[str, Any] = {}
            if self.budget is not None:
                extra["limiter"] = self.budget(name, budget_key(settings, named))
            held = None if named is None else self.roles.holder(settings)
            if held is not None:  # the account's role keys, assumed once for all its clients
                extra["credentials"] = held
            self._built[key] = cls(settings, **extra)
        return self._built[key]

    def _account(self, name: str, entry: Entry, account: str) -> Account:
        named = self.settings.account(account)
        if named is None:
            raise ProviderError(name, ACCOUNT_GONE, f"account {account!r} is no longer "
                                "configured (COURIER_ACCOUNTS)", retryable=False)
        if named.vendor != entry.credentials:
            raise ProviderError(name, ACCOUNT_OF_ANOTHER_CLOUD, f"{account!r} is an account "
                                f"of {named.vendor}; provider {name!r} needs one of "
                                f"{entry.credentials}", retryable=False)
        return named


def budget_key(settings: Any, named: Account | None) -> str:
    """What a provider's rate budget is keyed by: its vendor account (the key id, or the
    role a named account assumes) and, for a named account, its region — so one account's
    or region's throttling never slows another's."""
    key_id = str(getattr(settings, "secret_id", None)
                 or getattr(settings, "access_key_id", None)
                 or getattr(settings, "staging_bucket", ""))
    if named is None:
        return key_id
    return f"{named.role or named.secret_id or key_id}|{named.region}"


def account_settings(account: Account, base: Any) -> Any:
    """The vendor settings of a named ``account``: its region, site, endpoint and keys (or
    role), the rest from the deployment's own settings ``base`` of that cloud (None when the
    deployment has none: then the account must hold what is needed)."""
    keys = (account.secret_id, account.secret_key, account.token) if account.secret_id else None
    if isinstance(base, TencentSettings) or (base is None and account.vendor == "tencent"):
        if keys is None and base is None:
            raise ConfigError(f"COURIER_ACCOUNTS[{account.name}]: give secret_id and "
                              "secret_key (the deployment has no Tencent Cloud keys to "
                              "assume its role with)")
        tc = base or TencentSettings(secret_id="", secret_key="")
        secret_id, secret_key, token = keys or (tc.secret_id, tc.secret_key, tc.token)
        return replace(tc, secret_id=secret_id or "", secret_key=secret_key or "",
                       token=token, region=account.region, site=account.site,
                       endpoint=account.endpoint or tc.endpoint, appid=None,
                       account=account.name, assume=account.assume(),
                       owner=account.owner())
    if isinstance(base, AlibabaSettings) or (base is None and account.vendor == "alibaba"):
        if keys is None and base is None:
            raise ConfigError(f"COURIER_ACCOUNTS[{account.name}]: give secret_id and "
                              "secret_key (the deployment has no Alibaba Cloud keys to "
                              "assume its role with)")
        ali = base or AlibabaSettings(access_key_id="", access_key_secret="")
        ak, sk, token = keys or (ali.access_key_id, ali.access_key_secret, ali.security_token)
        return replace(ali, access_key_id=ak or "", access_key_secret=sk or "",
                       security_token=token, region=account.region,
                       endpoint=account.endpoint or ali.endpoint, account=account.name,
                       assume=account.assume(), owner=account.owner())
    if base is None and not account.staging_bucket:
        raise ConfigError(f"COURIER_ACCOUNTS[{account.name}].staging_bucket: needed (the "
                          "deployment has no COURIER_CLOUDWATCH_BUCKET)")
    aws = base or AwsSettings(staging_bucket=account.staging_bucket or "")
    return replace(aws, staging_bucket=account.staging_bucket or aws.staging_bucket,
                   region=account.region, endpoint=account.endpoint or aws.endpoint,
                   account=account.name, keys=keys or aws.keys, assume=account.assume(),
                   owner=account.owner())
