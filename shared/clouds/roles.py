"""One holder of a named account's role keys per account, shared by every client of it.

A named account reached by a role (``COURIER_ACCOUNTS[<name>].role``) signs its calls with
the temporary keys of STS ``AssumeRole``. Every client of that account a bundle makes — the
providers' (CLS, DLC, MongoDB and TCSS of one Tencent account each have their own SDK
client), and the writer of a named destination reached with the account's keys — reads them
from one holder kept here, so the role is assumed once per account (and renewed once before
the keys lapse), not once per client:

* Tencent: :class:`shared.clouds.tencent.AssumedRoleCredential` (the SDK's credential);
* Alibaba: :class:`shared.clouds.alibaba.AssumedRamRole` (the OpenAPI client's);
* AWS: a boto3 Session over refreshable credentials (:func:`shared.clouds.aws.session`).

The bundle owns one :class:`AssumedRoles` and hands it to its providers and to its
destinations' keys (:class:`shared.storage.account_keys.AccountKeys`); a new bundle (settings
changed) starts a new one. It is not a process global: tests build many bundles.

The SDKs are imported when a holder is first built (a package may leave a cloud out).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Optional

from shared.vendor_settings import AlibabaSettings, AwsSettings, TencentSettings

Keys = tuple[str, str, Optional[str]]  # key id, secret, session token


class AssumedRoles:
    """``holder(settings)``: the one credential holder of the named account the vendor
    settings are of (:func:`shared.providers.account_settings`), built on first use; None
    when the account assumes no role. ``clock`` (seconds) is given to the Tencent and
    Alibaba holders (tests move it to see a renewal); AWS's follows botocore's own."""

    def __init__(self, *, clock: Callable[[], float] | None = None) -> None:
        self.clock = clock
        self._held: dict[tuple[str, str | None, Any], Any] = {}
        self._lock = threading.Lock()

    def holder(self, settings: Any) -> Any | None:
        assume = getattr(settings, "assume", None)
        if assume is None:
            return None
        # the account's name and its role: one account's holder whatever client asks
        key = (type(settings).__name__, settings.account, assume)
        with self._lock:
            held = self._held.get(key)
            if held is None:
                held = self._held[key] = self._build(settings)
            return held

    def keys(self, settings: Any) -> Keys:
        """The account's current temporary keys (assumed, or renewed, when due)."""
        held = self.holder(settings)
        if held is None:
            raise ValueError("the account assumes no role")
        if isinstance(settings, TencentSettings):
            secret_id, secret_key, token = held.get_credential_info()
            return secret_id, secret_key, token
        if isinstance(settings, AlibabaSettings):
            got = held.get_credential()
            return got.access_key_id, got.access_key_secret, got.security_token
        frozen = held.get_credentials().get_frozen_credentials()
        return frozen.access_key, frozen.secret_key, frozen.token

    def _build(self, settings: Any) -> Any:
        timing = {} if self.clock is None else {"clock": self.clock}
        if isinstance(settings, TencentSettings):
            from shared.clouds.tencent import AssumedRoleCredential

            return AssumedRoleCredential(settings, **timing)
        if isinstance(settings, AlibabaSettings):
            from shared.clouds.alibaba import AssumedRamRole

            return AssumedRamRole(settings, **timing)
        if isinstance(settings, AwsSettings):
            from shared.clouds import aws

            return aws.session(keys=settings.keys, assume=settings.assume,
                               region=settings.region, sts_endpoint=settings.endpoint,
                               account=settings.account)
        raise TypeError(f"no role holder for {type(settings).__name__}")
