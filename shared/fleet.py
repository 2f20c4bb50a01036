"""Named accounts and named destinations: what ``COURIER_ACCOUNTS`` and
``COURIER_DESTINATIONS`` hold, as plain values (no I/O).

An export or a schedule may name an ``account`` (whose credentials, region and site its
provider calls are made with) and a ``destination`` (where its files land). Neither named
means the deployment's own, so a deployment with one of each reads exactly as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VENDORS = ("tencent", "alibaba", "aws")  # which cloud an account belongs to
NAME_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-_"
MAX_NAME = 64


@dataclass(frozen=True)
class Account:
    """One account of one cloud, in one region.

    Credentials are either given (``secret_id``/``secret_key``/``token``, already resolved from
    their secret references) or obtained by assuming ``role`` (AWS role ARN, Tencent CAM role
    ``qcs::cam::uin/…:roleName/…``, Alibaba RAM role ARN) with ``external_id`` where the cloud
    knows one; ``None`` for both means the deployment's own credentials."""

    name: str
    vendor: str
    region: str
    site: str = "china"  # Tencent: china or intl; Alibaba: china or intl
    secret_id: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    role: str | None = None
    external_id: str | None = field(default=None, repr=False)
    session_s: int = 3600  # the assumed credentials' lifetime asked for
    endpoint: str | None = None  # the sandbox's, or a private endpoint

    def secrets(self) -> list[str]:
        return [v for v in (self.secret_key, self.token, self.external_id) if v]


@dataclass(frozen=True)
class NamedDestination:
    """One destination: its URL, the credentials to write it with, its key template and
    write options (kept as given; :mod:`shared.storage` reads them)."""

    name: str
    url: str
    key_template: str | None = None  # None: the deployment's COURIER_KEY_TEMPLATE
    unpack: bool | None = None  # None: the deployment's COURIER_UNPACK
    secret_id: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    role: str | None = None
    external_id: str | None = field(default=None, repr=False)
    account: str | None = None  # reach it with this named account's credentials
    write: dict[str, Any] = field(default_factory=dict)  # sse, kms_key_id, storage_class, …

    def secrets(self) -> list[str]:
        return [v for v in (self.secret_key, self.token, self.external_id) if v]


def valid_name(name: object) -> bool:
    return (isinstance(name, str) and 1 <= len(name) <= MAX_NAME
            and all(c in NAME_CHARS for c in name))
