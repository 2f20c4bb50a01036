"""The keys a named destination is written with when it names an account of
``COURIER_ACCOUNTS``: the account's own keys, or its role's temporary keys, got by each
cloud's STS ``AssumeRole`` the way the account's providers get them (:mod:`shared.clouds`),
kept and renewed before they lapse. :class:`shared.storage.destinations.Destinations` asks
on every use and opens the store again when the keys it gets have changed."""

from __future__ import annotations

import threading
from collections.abc import Callable

from shared.config import Settings
from shared.fleet import Account
from shared.providers import account_settings
from shared.storage import Keys
from shared.storage.destinations import static_keys


class AccountKeys:
    """``keys(account)``: the account's keys to write with (see the module doc)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._roles: dict[str, Callable[[], Keys]] = {}
        self._lock = threading.Lock()

    def __call__(self, account: Account) -> Keys:
        if account.role is None:
            return static_keys(account)
        with self._lock:
            read = self._roles.get(account.name)
            if read is None:
                read = self._roles[account.name] = self._role_keys(account)
        return read()

    def _role_keys(self, account: Account) -> Callable[[], Keys]:
        vendor = account_settings(account, getattr(self.settings, account.vendor))
        if account.vendor == "tencent":
            from shared.clouds.tencent import AssumedRoleCredential

            cam = AssumedRoleCredential(vendor)
            return cam.get_credential_info
        if account.vendor == "alibaba":
            from shared.clouds.alibaba import AssumedRamRole

            ram = AssumedRamRole(vendor)

            def alibaba() -> Keys:
                got = ram.get_credential()
                return got.access_key_id, got.access_key_secret, got.security_token
            return alibaba
        from shared.clouds import aws

        session = aws.session(keys=vendor.keys, assume=vendor.assume, region=vendor.region,
                              sts_endpoint=vendor.endpoint, account=vendor.account)

        def amazon() -> Keys:
            got = session.get_credentials().get_frozen_credentials()
            return got.access_key, got.secret_key, got.token
        return amazon
