"""Everything a function needs, built once per cold start and reused while warm.

Clients are cheap to build and connect lazily: the state store opens on first use, providers
on first call, so a cold start pays only for imports.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from shared.completion import Completer
from shared.config import Settings
from shared.poller import Poller
from shared.providers import Providers
from shared.state import TaskStore, open_store
from shared.storage.base import ObjectStore

if TYPE_CHECKING:
    from shared.http.app import HttpApi


class Bundle:
    def __init__(self, settings: Settings, **overrides: Any) -> None:
        from shared import redact

        redact.learn(settings)  # before any client can fail quoting one of its secrets
        self.settings = settings
        self._store: TaskStore | None = overrides.get("store")
        self._destination: ObjectStore | None = overrides.get("destination")
        self.providers = overrides.get("providers") or Providers(settings,
                                                                 budget_store=self.store)
        self.completer = Completer(settings, self.store, self.providers, self.destination,
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

        return HttpApi(self.settings, self.store, self.providers)

    def store(self) -> TaskStore:
        if self._store is None:
            self._store = open_store(self.settings.state_url)
        return self._store

    def destination(self) -> ObjectStore:
        if self._destination is None:
            from shared.storage import open_destination

            self._destination = open_destination(self.settings.destination, self.settings.storage)
        return self._destination

    def _complete_inline(self, export_id: str) -> None:
        self.completer.complete(export_id, owner="complete:inline")

    def _url_guard(self) -> Any:
        from shared import netguard

        return netguard.OutboundGuard(tuple(self.settings.allow_private_hosts))
