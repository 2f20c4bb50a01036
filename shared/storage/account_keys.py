"""The keys a named destination is written with when it names an account of
``COURIER_ACCOUNTS``: the account's own keys, or its role's temporary keys, got by each
cloud's STS ``AssumeRole`` from the holder the account's providers sign with
(:class:`shared.clouds.roles.AssumedRoles`: the bundle's one per account, so the providers
and the destination of an account assume its role once), kept and renewed before they
lapse. :class:`shared.storage.destinations.Destinations` asks on every use and opens the
store again when the keys it gets have changed."""

from __future__ import annotations

from shared.clouds.roles import AssumedRoles
from shared.config import Settings
from shared.fleet import Account
from shared.providers import account_settings
from shared.storage import Keys
from shared.storage.destinations import static_keys


class AccountKeys:
    """``keys(account)``: the account's keys to write with (see the module doc); ``roles``
    the holders of the accounts' role keys shared with the providers (None: its own)."""

    def __init__(self, settings: Settings, roles: AssumedRoles | None = None) -> None:
        self.settings = settings
        self.roles = roles or AssumedRoles()

    def __call__(self, account: Account) -> Keys:
        if account.role is None:
            return static_keys(account)
        return self.roles.keys(account_settings(account,
                                                getattr(self.settings, account.vendor)))
