"""Named accounts and named destinations: what ``COURIER_ACCOUNTS`` and
``COURIER_DESTINATIONS`` hold, as plain values (no I/O).

An export or a schedule may name an ``account`` (whose credentials, region and site its
provider calls are made with) and a ``destination`` (where its files land). Neither named
means the deployment's own, so a deployment with one of each reads exactly as before.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from shared.errors import ConfigError, ValidationError
from shared.keys import render_key
from shared.model import FORMATS
from shared.setting_values import json_value, parse_destination

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

    def owner(self) -> str | None:
        """The real account behind this name, where the settings tell it, so that two names
        for one account are known as one (its create locks): ``uin:<n>`` for the account
        that owns the role (the uin or account id in the role's ARN, which is the owner's:
        ``qcs::cam::uin/<uin>:roleName/…``, ``acs:ram::<id>:role/…``,
        ``arn:aws:iam::<id>:role/…``), ``key:<digest>`` for the account its own key id
        belongs to (digested: a key id is not shown), None for the deployment's own keys
        (the deployment's account). The role ARN names its owner's account: "the ARN of the
        devops role under an account: qcs::cam::uin/1234****:roleName/samplerole"
        (cloud.tencent.com/document/api/1312/48206; RoleArn forms in
        tencentcloud.com/document/api/1150/49456)."""
        if self.role is not None:
            found = ROLE_OWNER.search(self.role)
            if found:
                return f"uin:{found.group(1)}"
        if self.secret_id:
            return "key:" + hashlib.sha256(self.secret_id.encode()).hexdigest()[:16]
        return None


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
    write options (kept as given; :func:`shared.write_options.named_write` reads them)."""

    name: str
    url: str
    key_template: str | None = None  # None: the deployment's COURIER_KEY_TEMPLATE
    unpack: bool | None = None  # None: the deployment's COURIER_UNPACK
    format: str | None = None  # gzip | parquet; None: the deployment's COURIER_FORMAT
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


# --- COURIER_DESTINATIONS -------------------------------------------------------------------
DESTINATION_FIELDS = ("url", "key_template", "unpack", "format", "secret_id", "secret_key",
                      "token", "account", "write")
KEY_FIELDS = ("secret_id", "secret_key", "token")  # may each be a secret store reference
# whose account can write which scheme
ACCOUNT_VENDORS = {"s3": "aws", "cos": "tencent", "oss": "alibaba"}


def destinations(setting: str, raw: str, default_region: str | None = None
                 ) -> tuple[NamedDestination, ...]:
    """``COURIER_DESTINATIONS``: a JSON object ``{"<name>": {"url", "key_template", "unpack",
    "format", "secret_id", "secret_key", "token", "account", "write"}}``, or a list of such objects
    each with its ``name``. Every URL is read as ``COURIER_DESTINATION`` is
    (:func:`~shared.setting_values.parse_destination`), every key template rendered once as
    ``COURIER_KEY_TEMPLATE`` is; ConfigError naming ``COURIER_DESTINATIONS[<name>].<field>``.
    Secret references in the key fields are resolved before (:mod:`shared.secret_stores`)."""
    parsed = json_value(setting, raw)
    if isinstance(parsed, dict):
        items = [(f"{setting}[{name}]", name, item) for name, item in parsed.items()]
    elif isinstance(parsed, list):
        items = []
        for i, item in enumerate(parsed):
            name = item.get("name") if isinstance(item, dict) else None
            if not valid_name(name):
                raise ConfigError(f"{setting}[{i}].name: required, 1 to {MAX_NAME} of a-z, "
                                  "0-9, '-' and '_'")
            items.append((f"{setting}[{name}]", name,
                          {k: v for k, v in item.items() if k != "name"}))
    else:
        raise ConfigError(f"{setting}: must be a JSON object of destinations by name (or a "
                          "list of them, each with its name)")
    out: list[NamedDestination] = []
    for where, name, item in items:
        if not valid_name(name):
            raise ConfigError(f"{where}: a destination name is 1 to {MAX_NAME} of a-z, 0-9, "
                              "'-' and '_'")
        if any(d.name == name for d in out):
            raise ConfigError(f"{where}: the name is used twice")
        out.append(_destination(where, name, item, default_region))
    return tuple(out)


def _destination(where: str, name: str, item: Any, default_region: str | None
                 ) -> NamedDestination:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: must be an object with at least a url")
    unknown = sorted(set(item) - set(DESTINATION_FIELDS))
    if unknown:
        raise ConfigError(f"{where}: unknown field {unknown[0]!r} (expected "
                          f"{', '.join(DESTINATION_FIELDS)})")
    if "url" not in item:
        raise ConfigError(f"{where}.url: required (file:///path, s3://bucket/prefix or "
                          "cos://bucket-appid/prefix?region=…)")
    scheme = parse_destination(f"{where}.url", item["url"], default_region).scheme
    template = item.get("key_template")
    if template is not None:
        if not isinstance(template, str) or not template.strip():
            raise ConfigError(f"{where}.key_template: must be a key template (text)")
        try:  # a template is only known good once a key made from it is
            render_key(template, provider="cls", export_id="exp_0", file_name="f.csv",
                       when=datetime(2026, 1, 1, tzinfo=timezone.utc))
        except ValidationError as exc:
            raise ConfigError(f"{where}.key_template: {exc.detail}") from None
    if not isinstance(item.get("unpack", False), bool):
        raise ConfigError(f"{where}.unpack: must be true or false")
    if item.get("format", "gzip") not in FORMATS:
        raise ConfigError(f"{where}.format: must be 'gzip' or 'parquet'")
    keys = {k: item.get(k) for k in KEY_FIELDS}
    for k, value in keys.items():
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{where}.{k}: must be text (or a secret store reference)")
    if bool(keys["secret_id"]) != bool(keys["secret_key"]):
        raise ConfigError(f"{where}.{'secret_key' if keys['secret_id'] else 'secret_id'}: "
                          "give secret_id and secret_key together")
    if keys["token"] and not keys["secret_id"]:
        raise ConfigError(f"{where}.token: a session token goes with secret_id and "
                          "secret_key")
    account = item.get("account")
    if account is not None and not valid_name(account):
        raise ConfigError(f"{where}.account: must be the name of an account of "
                          "COURIER_ACCOUNTS")
    if account is not None and keys["secret_id"]:
        raise ConfigError(f"{where}.account: give either the keys or an account, not both")
    if scheme == "file" and (account is not None or keys["secret_id"]):
        raise ConfigError(f"{where}.{'account' if account else 'secret_id'}: a file:// "
                          "destination is written with no credentials")
    write = item.get("write", {})
    if not isinstance(write, dict):
        raise ConfigError(f"{where}.write: must be a JSON object of write options")
    return NamedDestination(name=name, url=item["url"], key_template=template,
                            unpack=item.get("unpack"), format=item.get("format"),
                            secret_id=keys["secret_id"],
                            secret_key=keys["secret_key"], token=keys["token"],
                            account=account, write=dict(write))


def check_accounts(setting: str, named: tuple[NamedDestination, ...],
                   accounts: tuple[Account, ...]) -> None:
    """A destination's ``account`` must be a configured account of the cloud its URL is in
    (an S3 bucket: an ``aws`` account; a COS bucket: a ``tencent`` one)."""
    for d in named:
        if d.account is None:
            continue
        where = f"{setting}[{d.name}].account"
        account = next((a for a in accounts if a.name == d.account), None)
        if account is None:
            raise ConfigError(f"{where}: {d.account!r} is not a configured account "
                              "(COURIER_ACCOUNTS)")
        scheme = d.url.partition("://")[0].lower()
        if ACCOUNT_VENDORS.get(scheme) != account.vendor:
            raise ConfigError(f"{where}: {d.account!r} is a {account.vendor} account; a "
                              f"{scheme}:// bucket is written with a "
                              f"{ACCOUNT_VENDORS.get(scheme)} one")


def delivered_by(named: NamedDestination | None, url: str, key_template: str,
                 unpack: bool, fmt: str = "gzip") -> NamedDestination:
    """Where an export lands, every default filled in: ``named`` with the deployment's key
    template, unpack default and format where it gives none, or (None) the deployment's own
    destination, named ``""``."""
    if named is None:
        return NamedDestination(name="", url=url, key_template=key_template, unpack=unpack,
                                format=fmt)
    return replace(named, key_template=named.key_template or key_template,
                   unpack=unpack if named.unpack is None else named.unpack,
                   format=named.format or fmt)


def parquet_without_unpacking(setting: str, named: tuple[NamedDestination, ...],
                              unpack: bool) -> None:
    """A destination whose ``format`` is ``parquet`` must unpack (its own ``unpack``, else
    the deployment's, ``unpack``): Parquet is made from the members of an unpacked archive."""
    for dest in named:
        if dest.format == "parquet" and not (unpack if dest.unpack is None else dest.unpack):
            why = ("its unpack is false" if dest.unpack is False
                   else "COURIER_UNPACK is off")
            raise ConfigError(f"{setting}[{dest.name}].format: parquet converts the members "
                              f'of an unpacked archive; set "unpack": true ({why})')


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
# the owner's account in each of those forms
ROLE_OWNER = re.compile(r"^(?:qcs::cam::uin/|acs:ram::|arn:aws[\w-]*:iam::)(\d+):")
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
