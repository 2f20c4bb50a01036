"""Named accounts and named destinations: what ``COURIER_ACCOUNTS`` and
``COURIER_DESTINATIONS`` hold, as plain values (no I/O).

An export or a schedule may name an ``account`` (whose credentials, region and site its
provider calls are made with) and a ``destination`` (where its files land). Neither named
means the deployment's own, so a deployment with one of each reads exactly as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shared.errors import ConfigError

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
    staging_bucket: str | None = None  # aws: where CloudWatch Logs stages (None: the deployment's)

    def secrets(self) -> list[str]:
        return [v for v in (self.secret_key, self.token, self.external_id) if v]

    def assume(self) -> RoleToAssume | None:
        """The role to assume, or None (the keys given, or the deployment's)."""
        if self.role is None:
            return None
        return RoleToAssume(self.role, self.external_id, self.session_s)


@dataclass(frozen=True)
class RoleToAssume:
    """A role whose temporary keys a named account's calls are signed with (STS
    ``AssumeRole``), asked for ``session_s`` at a time and read again before they expire."""

    role: str
    external_id: str | None = field(default=None, repr=False)
    session_s: int = 3600
    session_name: str = "export-courier"


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


# --- COURIER_ACCOUNTS ---------------------------------------------------------------------
ACCOUNT_FIELDS = ("vendor", "region", "site", "secret_id", "secret_key", "token", "role",
                  "external_id", "session_s", "endpoint", "staging_bucket")
SITES = ("china", "intl")
# the role forms of each cloud (CAM: qcs::cam::uin/<owner uin>:roleName/<name>; RAM and IAM
# role ARNs)
ROLE_FORMS = {
    "tencent": (re.compile(r"^qcs::cam::uin/\d{5,20}:role(?:Name)?/[\w+=,.@-]{1,128}$"),
                "qcs::cam::uin/<account uin>:roleName/<role name>"),
    "alibaba": (re.compile(r"^acs:ram::\d{5,20}:role/[\w.-]{1,64}$"),
                "acs:ram::<account id>:role/<role name>"),
    "aws": (re.compile(r"^arn:aws[\w-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$"),
            "arn:aws:iam::<12-digit account id>:role/<role name>"),
}
REGION = re.compile(r"^[a-z]{2}(?:-[a-z0-9]+){1,3}$")
MIN_SESSION_S, MAX_SESSION_S = 900, 43200  # the three clouds' AssumeRole bounds, intersected


def parse_accounts(setting: str, parsed: Any) -> tuple[Account, ...]:
    """``COURIER_ACCOUNTS`` (its JSON value, secret references already read): a list of
    ``{"name", "vendor", "region", …}`` or an object ``{"<name>": {"vendor", …}}``. A bad value
    is a ConfigError naming ``COURIER_ACCOUNTS[<name>].<field>``."""
    if isinstance(parsed, dict):
        items = [(str(name), item) for name, item in parsed.items()]
    elif isinstance(parsed, list):
        items = []
        for i, item in enumerate(parsed):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                raise ConfigError(f"{setting}[{i}]: must be an object with a \"name\"")
            items.append((item["name"], {k: v for k, v in item.items() if k != "name"}))
    else:
        raise ConfigError(f"{setting}: must be a JSON object of accounts by name (or a list of "
                          "objects with a \"name\")")
    out: list[Account] = []
    for name, item in items:
        if not valid_name(name):
            raise ConfigError(f"{setting}[{name[:70]!r}]: an account name is 1 to {MAX_NAME} "
                              "of a-z, 0-9, '-' and '_'")
        if any(a.name == name for a in out):
            raise ConfigError(f"{setting}[{name}]: named twice")
        out.append(_account(f"{setting}[{name}]", name, item))
    return tuple(out)


def _account(where: str, name: str, item: Any) -> Account:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: must be an object with vendor and region")
    unknown = sorted(set(item) - set(ACCOUNT_FIELDS))
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown field (expected "
                          f"{', '.join(ACCOUNT_FIELDS)})")

    def text(field_name: str, required: bool = False) -> str | None:
        value = item.get(field_name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}.{field_name}: " + (
                "is required" if value is None else "must be non-empty text"))
        return value.strip()

    vendor = text("vendor", required=True)
    if vendor not in VENDORS:
        raise ConfigError(f"{where}.vendor: must be one of {', '.join(VENDORS)}")
    region = text("region", required=True) or ""
    if not REGION.match(region):
        raise ConfigError(f"{where}.region: {region[:40]!r} is not a region name (e.g. "
                          "ap-shanghai, cn-hangzhou, eu-west-1)")
    site = (text("site") or "china").lower()
    if site not in SITES:
        raise ConfigError(f"{where}.site: must be 'china' or 'intl'")
    secret_id, secret_key, token = text("secret_id"), text("secret_key"), text("token")
    if (secret_id is None) != (secret_key is None):
        raise ConfigError(f"{where}.{'secret_key' if secret_key is None else 'secret_id'}: "
                          "give both secret_id and secret_key, or neither")
    if token is not None and secret_id is None:
        raise ConfigError(f"{where}.token: only with secret_id and secret_key")
    role, external_id = text("role"), text("external_id")
    if role is not None:
        form, example = ROLE_FORMS[vendor]
        if not form.match(role):
            raise ConfigError(f"{where}.role: not a {vendor} role (expected {example})")
    if external_id is not None and (role is None or not 2 <= len(external_id) <= 1224):
        raise ConfigError(f"{where}.external_id: " + (
            "only with role" if role is None else "must be 2 to 1224 characters"))
    session = item.get("session_s", 3600)
    if isinstance(session, bool) or not isinstance(session, int) or not (
            MIN_SESSION_S <= session <= MAX_SESSION_S):
        raise ConfigError(f"{where}.session_s: must be a whole number of seconds from "
                          f"{MIN_SESSION_S} to {MAX_SESSION_S}")
    endpoint = text("endpoint")
    if endpoint is not None and not endpoint.startswith(("https://", "http://")):
        raise ConfigError(f"{where}.endpoint: must be an http(s) URL")
    staging = text("staging_bucket")
    if staging is not None and vendor != "aws":
        raise ConfigError(f"{where}.staging_bucket: only for an aws account (the bucket "
                          "CloudWatch Logs stages its exports in)")
    return Account(name=name, vendor=vendor, region=region, site=site, secret_id=secret_id,
                   secret_key=secret_key, token=token, role=role, external_id=external_id,
                   session_s=session, endpoint=endpoint, staging_bucket=staging)
