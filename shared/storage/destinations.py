"""Every destination of a deployment, each opened once: the deployment's own
(``COURIER_DESTINATION``, written with the function's credentials) and the named ones of
``COURIER_DESTINATIONS``, each written with its own keys or with those of the account it
names.

An account's credentials come through :data:`AccountKeys`, a function of the account: by
default :func:`static_keys` (the keys the account holds, resolved from their references).
The named accounts' role assumption (STS ``AssumeRole``) plugs in there, by passing its own
function to :class:`Destinations`: it is asked on every use of such a destination (keep its
answer cached), and a destination whose keys changed (temporary ones renewed) is opened
again with the new ones.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from shared.config import Settings
from shared.errors import ConfigError
from shared.fleet import Account, NamedDestination
from shared.setting_names import ENV_DESTINATIONS
from shared.storage import Keys, open_destination
from shared.storage.base import ObjectStore
from shared.write_options import named_write

AccountKeys = Callable[[Account], Keys]


def static_keys(account: Account) -> Keys:
    """The keys an account holds; ConfigError when it has none (it is reached by a role,
    which only the accounts' role assumption can turn into keys)."""
    if not (account.secret_id and account.secret_key):
        raise ConfigError(f"COURIER_ACCOUNTS[{account.name}]: has no keys of its own to "
                          "write a destination with")
    return account.secret_id, account.secret_key, account.token


def keys_of(named: NamedDestination, settings: Settings,
            account_keys: AccountKeys = static_keys) -> Keys | None:
    """The credentials ``named`` is written with: its own keys, its account's, or None (the
    deployment's)."""
    if named.secret_id and named.secret_key:
        return named.secret_id, named.secret_key, named.token
    if named.account is None:
        return None
    account = settings.account(named.account)
    if account is None:  # Settings.check refuses this at start; a settings refresh may not
        raise ConfigError(f"{ENV_DESTINATIONS}[{named.name}].account: {named.account!r} is "
                          "not a configured account (COURIER_ACCOUNTS)")
    return account_keys(account)


class Destinations:
    """The object store of each destination an export may name, opened on first use and
    kept while its keys stay the same (``destinations(name)``; None: the deployment's own)."""

    def __init__(self, settings: Settings, *, default: ObjectStore | None = None,
                 account_keys: AccountKeys = static_keys) -> None:
        self.settings = settings
        self.account_keys = account_keys
        # name -> (the keys it was opened with, the store)
        self._stores: dict[str | None, tuple[Keys | None, ObjectStore]] = {}
        if default is not None:
            self._stores[None] = (None, default)
        self._lock = threading.Lock()

    def __call__(self, name: str | None = None) -> ObjectStore:
        with self._lock:
            if name is None:
                if None not in self._stores:
                    self._stores[None] = (None, open_destination(
                        self.settings.destination, self.settings.storage,
                        write=self.settings.destination_write))
                return self._stores[None][1]
            named = self.settings.named_destination(name)
            if named is None:
                raise ConfigError(f"{ENV_DESTINATIONS}: no destination named {name!r} (an "
                                  "export made before the setting changed)")
            keys = keys_of(named, self.settings, self.account_keys)
            kept = self._stores.get(name)
            if kept is not None and kept[0] == keys:
                return kept[1]
            store = open_destination(named.url, self.settings.storage,
                                     setting=f"{ENV_DESTINATIONS}[{name}].url", keys=keys,
                                     write=named_write(ENV_DESTINATIONS, named))
            self._stores[name] = (keys, store)
            return store

    def opened(self, name: str | None = None) -> ObjectStore | None:
        """The store of ``name`` if it was opened already."""
        kept = self._stores.get(name)
        return None if kept is None else kept[1]
