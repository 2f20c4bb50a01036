"""Everything a function needs, built once per cold start and reused while warm.

:func:`read_settings` resolves the settings that name a secret store or a file
(:mod:`shared.secret_stores`), then parses them (:class:`~shared.config.Settings`).
:class:`Bundle` builds the parts from them. Clients are cheap to build and connect lazily:
the state store opens on first use, providers on first call, so a cold start pays only for
imports. :class:`Container` keeps one bundle per warm function container and rebuilds it when
values read from a secret store are due again and have changed.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from shared import redact
from shared.clouds.roles import AssumedRoles
from shared.completion import Completer
from shared.config import Settings
from shared.errors import ConfigError
from shared.poller import Poller
from shared.providers import REGISTRY, Providers
from shared.secret_stores.references import has_references
from shared.secret_stores.resolve import SecretStores
from shared.state import TaskStore, open_store
from shared.state.budget import SharedBudget, account_of
from shared.storage.account_keys import AccountKeys
from shared.storage.base import ObjectStore
from shared.storage.destinations import Destinations
from shared.webhooks import notify, watch

if TYPE_CHECKING:
    from shared.http.app import HttpApi

# under "shared": the handlers' JSON format and redactor apply (runtime/logs.py)
log = logging.getLogger("shared.bundle")
# a refresh that fails keeps the values in use and is tried again this much later
REFRESH_RETRY_S = 30.0


def read_settings(env: Mapping[str, str] | None = None, *,
                  stores: SecretStores | None = None) -> Settings:
    """The settings of ``env`` (the process environment when None), every reference to a
    secret store or a file resolved first; ``stores`` keeps what references resolved to for
    their TTL (a fresh one when None). A setting whose value came from a store or a file is
    named with its origin when it is refused."""
    env = os.environ if env is None else env
    if not has_references(env):
        return Settings.from_env(env)
    resolved = (stores or SecretStores()).resolve(env)
    try:
        return Settings.from_env(resolved.env, resolved_secrets=resolved.secrets,
                                 refresh_at=resolved.refresh_at)
    except ConfigError as exc:
        raise resolved.explain(exc) from None


class Bundle:
    def __init__(self, settings: Settings, **overrides: Any) -> None:
        redact.learn(settings.secret_values())  # before a client can fail quoting a secret
        self.settings = settings
        self._store: TaskStore | None = overrides.get("store")
        # the named accounts' role keys: one holder per account, for its providers and the
        # destinations written with its keys alike (one AssumeRole per account)
        self.roles: AssumedRoles = overrides.get("roles") or AssumedRoles()
        # every destination an export may name, each opened on first use (None: the default)
        self.destinations = Destinations(settings, default=overrides.get("destination"),
                                         account_keys=AccountKeys(settings, self.roles))
        self.providers = overrides.get("providers") or Providers(
            settings, budget=self._budget, roles=self.roles)
        self.completer = Completer(settings, self.store, self.providers, self.destinations,
                                   check_url=self._url_guard())
        from shared.runtime.dispatch import make_dispatcher

        self.dispatcher = overrides.get("dispatcher") or make_dispatcher(
            settings, inline=self._complete_inline)
        self.poller = Poller(settings, self.store, self.providers, self.dispatcher.dispatch)

    @functools.cached_property
    def api(self) -> HttpApi:
        """The HTTP door, built on first use: only create serves HTTP, and the web framework
        is half of a cold import (poll and complete never load it)."""
        from shared.http.app import HttpApi
        from shared.storage.probe import DestinationHealth

        health = DestinationHealth(self.destinations)
        return HttpApi(self.settings, self.store, self.providers, health.problem)

    def startup_checks(self) -> None:
        """The cheap checks of a cold start (:mod:`shared.checks`), no call leaving the
        process but DNS, no vendor SDK imported: a schedule naming an unknown provider, or
        one without credentials, stops the function here (ConfigError naming
        ``COURIER_SCHEDULES[i]``) rather than at its first firing, and so does a provider
        unknown to COURIER_STUCK_AFTER_S or an endpoint's ``providers``, a named account
        lacking the keys to reach it (``COURIER_ACCOUNTS[<name>]``), or
        ``COURIER_FORMAT=parquet`` (or a schedule's or a named destination's ``format:
        parquet``) in a package built without the converter; a default webhook endpoint the
        outbound guard refuses is logged once."""
        from shared import checks, schedules
        from shared.packaged import converter_missing
        from shared.setting_names import ENV_DESTINATIONS, ENV_FORMAT

        missing = converter_missing()
        if missing and self.settings.unpack.format == "parquet":
            raise ConfigError(f"{ENV_FORMAT}=parquet: {missing}")
        for named in self.settings.destinations if missing else ():
            if named.format == "parquet":
                raise ConfigError(f"{ENV_DESTINATIONS}[{named.name}].format=parquet: "
                                  f"{missing}")
        bad = [problem for _, problem in schedules.problems(self.settings, self.providers,
                                                             params=False) if problem]
        bad += watch.unknown_providers(self.settings, REGISTRY)
        bad += notify.unknown_providers(self.settings, REGISTRY)
        bad += checks.accounts(self.settings)
        if bad:
            raise ConfigError("; ".join(bad))
        for check in checks.webhooks(self.settings):
            if check.status == checks.ERROR:
                log.warning("startup check: %s", check.line())

    def fire(self, trigger: Any) -> list[dict[str, Any]]:
        """The exports a schedule's timer firing makes (:func:`shared.schedules.fire`)."""
        from shared import schedules

        return schedules.fire(self.store(), self.providers, self.settings, trigger)

    def store(self) -> TaskStore:
        if self._store is None:
            self._store = open_store(self.settings.state_url)
        return self._store

    def destination(self) -> ObjectStore:
        """The deployment's own destination (COURIER_DESTINATION)."""
        return self.destinations()

    def _budget(self, provider: str, key_id: str) -> SharedBudget:
        """The rate budget ``provider``'s calls draw from, shared in the state store by
        every invocation (one bucket per vendor account, service and action)."""
        return SharedBudget(self.store, account_of(key_id), provider)

    def _complete_inline(self, export_id: str) -> None:
        self.completer.complete(export_id, owner="complete:inline")

    def _url_guard(self) -> Any:
        from shared import netguard

        return netguard.OutboundGuard(tuple(self.settings.allow_private_hosts))


def load_http() -> None:
    """Import the HTTP door now: create's cold start, rather than its first request."""
    import shared.http.app  # noqa: F401


class Container:
    """What one warm function container keeps: its bundle, built on the first invocation
    (settings read and checked once) and rebuilt when values read from a secret store are
    due again and have changed; and one Logger per function."""

    def __init__(self) -> None:
        self.stores = SecretStores()
        self._bundle: Bundle | None = None
        self._loggers: dict[str, Any] = {}
        self._warned: set[str] = set()  # settings warnings logged by this container

    def bundle(self) -> Bundle:
        if self._bundle is None:
            bundle = Bundle(read_settings(stores=self.stores))
            bundle.startup_checks()
            self._bundle = bundle
        elif self._bundle.settings.refresh_at is not None and \
                self.stores.clock() >= self._bundle.settings.refresh_at:
            self._bundle = self._refreshed(self._bundle)
        return self._bundle

    def _refreshed(self, old: Bundle) -> Bundle:
        try:
            settings = read_settings(stores=self.stores)
        except ConfigError as exc:  # the store is down, or a value went bad: keep what works
            log.warning("settings from secret stores not refreshed, keeping those in use: %s",
                        exc.message)
            old.settings = replace(old.settings, refresh_at=self.stores.clock() + REFRESH_RETRY_S)
            return old
        if settings == old.settings:
            old.settings = settings  # same values, next refresh later
            return old
        same_store = settings.state_url == old.settings.state_url
        same_destination = (settings.destination, settings.storage) == (
            old.settings.destination, old.settings.storage)
        fresh = Bundle(settings, store=old._store if same_store else None,
                       destination=old.destinations.opened() if same_destination else None)
        if not same_store and old._store is not None:
            old._store.close()
        self._loggers.clear()  # the redactor learns the new values
        log.info("settings from secret stores changed; clients rebuilt")
        return fresh

    def logger(self, function: str) -> Any:
        if function not in self._loggers:
            from shared.runtime.logs import setup

            self._loggers[function] = setup(f"export-courier-{function}",
                                            self.bundle().settings)
            self._warn(self.bundle().settings)
        return self._loggers[function]

    def _warn(self, settings: Settings) -> None:
        """Each of the settings' warnings once per container (its cold start, and a refresh
        that brings a new one), in the function's log format; never on every run."""
        for text in settings.warnings():
            if text not in self._warned:
                self._warned.add(text)
                log.warning("%s", text)

    def metrics(self, function: str, request_id: str) -> Any:
        """``with container.metrics(...)``: what the invocation counted is flushed at its end
        (EMF on Lambda, metric log lines on SCF; ``COURIER_METRICS``)."""
        from shared.runtime.metrics import invocation

        return invocation(self.bundle().settings.metrics, f"export-courier-{function}",
                          request_id)

    def reset(self) -> None:
        """Forget the warm state (local invoke and tests that change the environment)."""
        if self._bundle is not None and self._bundle._store is not None:
            self._bundle._store.close()
        self._bundle = None
        self.stores = SecretStores()
        self._loggers.clear()
        self._warned.clear()
