"""Settings that name a secret store or a file instead of holding the value itself.

A secret setting may hold a *reference* (``scheme:name``, optionally ``#field``)::

    COURIER_API_KEYS=secretsmanager:courier/api-keys         AWS Secrets Manager (name or ARN)
    COURIER_API_KEYS=ssm:/courier/api-keys                   AWS SSM Parameter Store, decrypted
    COURIER_API_KEYS=tencent-ssm:courier-api-keys            Tencent Cloud Secrets Manager,
    COURIER_API_KEYS=tencent-ssm:courier-api-keys@v2           newest version, or the one named
    COURIER_STATE_URL=secretsmanager:courier/db#url          one field of a JSON secret

and a JSON setting (``COURIER_SCHEDULES``, ``COURIER_WEBHOOK_ENDPOINTS``) may also name a file
of the package, ``file:config/schedules.json`` (relative to the package root) or an absolute
path: that is how they outgrow the platforms' 4 KB environment.

This module reads references and what came back; :mod:`.resolve` reads them from the stores
(one module per store) before the settings are parsed.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import json
from collections.abc import Mapping
from dataclasses import dataclass

from shared.clouds import hold_sdk_loggers
from shared.errors import ConfigError
from shared.redact import url_passwords
from shared.setting_names import (
    ENV_ACCOUNTS,
    ENV_ALI_AK,
    ENV_ALI_SK,
    ENV_API_KEYS,
    ENV_CHAT_BOTS,
    ENV_DESTINATIONS,
    ENV_SCHEDULES,
    ENV_STATE_URL,
    ENV_TC_SECRET_ID,
    ENV_TC_SECRET_KEY,
    ENV_WEBHOOK_ENDPOINTS,
    ENV_WEBHOOK_SECRETS,
    ENV_WEBHOOK_URLS,
)

STORES = {"secretsmanager": "AWS Secrets Manager", "ssm": "AWS SSM Parameter Store",
          "tencent-ssm": "Tencent Cloud Secrets Manager"}
FILE = "file"
# Settings that may name a store. The Tencent keys come first: they are what reads
# tencent-ssm references, so they may come from an AWS store but not from Tencent's.
SECRET_SETTINGS = (ENV_TC_SECRET_ID, ENV_TC_SECRET_KEY, ENV_ALI_AK, ENV_ALI_SK, ENV_API_KEYS,
                   ENV_WEBHOOK_SECRETS, ENV_STATE_URL, ENV_WEBHOOK_URLS, ENV_CHAT_BOTS)
# JSON settings: a store or a file of the package
JSON_SETTINGS = (ENV_SCHEDULES, ENV_WEBHOOK_ENDPOINTS, ENV_DESTINATIONS, ENV_ACCOUNTS)
# fields of one COURIER_ACCOUNTS account that may each name a store (the file itself need not
# hold a key): "secret_key": "secretsmanager:courier/acct-b#secret_key"
ACCOUNT_SECRET_FIELDS = ("secret_id", "secret_key", "token", "external_id")
# JSON settings whose entries hold keys, each of which may be a store reference of its own:
# COURIER_DESTINATIONS={"logs": {"url": …, "secret_key": "secretsmanager:courier/logs#key"}}
NESTED_SECRETS = {ENV_DESTINATIONS: ("secret_id", "secret_key", "token"),
                  ENV_ACCOUNTS: ACCOUNT_SECRET_FIELDS}


@dataclass(frozen=True)
class Reference:
    setting: str
    store: str  # a key of STORES, or FILE
    name: str
    version: str | None = None  # tencent-ssm only
    field: str | None = None

    def __str__(self) -> str:
        text = f"{self.store}:{self.name}"
        if self.version:
            text += f"@{self.version}"
        return text + (f"#{self.field}" if self.field else "")


def parse(setting: str, raw: str) -> Reference | None:
    """The reference ``raw`` makes in ``setting``, or None for a plain value."""
    scheme, colon, rest = raw.strip().partition(":")
    if not colon or setting not in SECRET_SETTINGS + JSON_SETTINGS:
        return None
    if scheme == FILE:
        if setting not in JSON_SETTINGS:
            raise ConfigError(f"{setting}: file: is only for JSON settings "
                              f"({', '.join(JSON_SETTINGS)}); keep secrets in a secret store")
        if not rest.strip():
            raise ConfigError(f"{setting}: file: needs a path, e.g. file:config/schedules.json")
        return Reference(setting, FILE, rest.strip())
    return store_reference(setting, raw)


def store_reference(setting: str, raw: str) -> Reference | None:
    """The secret store reference ``raw`` makes (None for a plain value); ``setting`` names
    where it was found in errors."""
    scheme, _, rest = raw.strip().partition(":")
    if scheme not in STORES:
        return None
    name, _, selected = rest.partition("#")
    version = None
    if scheme == "tencent-ssm":
        name, _, version = name.partition("@")
        if setting in (ENV_TC_SECRET_ID, ENV_TC_SECRET_KEY):
            raise ConfigError(f"{setting}: cannot come from tencent-ssm: these keys are what "
                              "reads it (the function role's keys are in the environment)")
    if not name.strip():
        raise ConfigError(f"{setting}: {scheme}: needs a secret name, e.g. {scheme}:courier/keys")
    return Reference(setting, scheme, name.strip(), (version or "").strip() or None,
                     selected.strip() or None)


def has_references(env: Mapping[str, str]) -> bool:
    """Cheap test run on every cold start: does any setting name a store or a file?"""
    for name in SECRET_SETTINGS + JSON_SETTINGS:
        scheme = (env.get(name) or "").strip().partition(":")[0]
        if scheme in STORES or scheme == FILE:
            return True
    return any(f'"{scheme}:' in (env.get(name) or "") for name in NESTED_SECRETS
               for scheme in STORES)


def nested_entries(setting: str, doc: object) -> list[tuple[str, dict[str, object]]]:
    """``(where, entry)`` of each entry of a :data:`NESTED_SECRETS` setting's JSON value:
    an object of entries by name, or a list of entries with their ``name``."""
    if isinstance(doc, dict):
        pairs = list(doc.items())
    elif isinstance(doc, list):
        pairs = [(e.get("name") if isinstance(e, dict) else i, e) for i, e in enumerate(doc)]
    else:
        pairs = []
    return [(f"{setting}[{name}]", entry) for name, entry in pairs if isinstance(entry, dict)]


def account_secrets(value: str) -> list[str]:
    """The secret fields' values of ``COURIER_ACCOUNTS``' JSON ``value``."""
    try:
        doc = json.loads(value)
    except ValueError:
        return []
    items = doc if isinstance(doc, list) else list(doc.values()) if isinstance(doc, dict) else []
    return [v for a in items if isinstance(a, dict) for k, v in a.items()
            if k in ACCOUNT_SECRET_FIELDS and isinstance(v, str)]


def as_text(ref: Reference, value: str | bytes) -> str:
    """A store value as text: bytes (a binary secret) must be UTF-8."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{ref.setting}: {ref} is binary, not UTF-8 text") from None
    return value


def from_base64(ref: Reference, value: str) -> str:
    try:
        return as_text(ref, base64.b64decode(value, validate=True))
    except binascii.Error:
        raise ConfigError(f"{ref.setting}: {ref} holds binary data that is not base64") from None


def select(ref: Reference, whole: str) -> str:
    if ref.field is None:
        return whole
    try:
        doc = json.loads(whole)
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise ConfigError(f"{ref.setting}: {ref} selects a field, but the secret is not a JSON "
                          "object")
    if ref.field not in doc:
        raise ConfigError(f"{ref.setting}: {ref}: the secret has no field {ref.field!r}")
    value = doc[ref.field]
    return value if isinstance(value, str) else json.dumps(value)


def parts(setting: str, value: str) -> list[str]:
    """Pieces of a resolved value that may show up on their own: list items, a password."""
    if setting == ENV_CHAT_BOTS:  # JSON: each bot's address (it holds the key) and secret
        try:
            bots = json.loads(value)
        except ValueError:
            return []
        return [v for bot in (bots.values() if isinstance(bots, dict) else ())
                if isinstance(bot, dict) for k, v in bot.items()
                if k in ("url", "secret") and isinstance(v, str)]
    parts = [p.strip() for p in value.split(",")] if setting in SECRET_SETTINGS else []
    if setting == ENV_STATE_URL:
        parts += url_passwords(value)
    if setting == ENV_ACCOUNTS:  # JSON: each account's keys, token and external id
        parts += account_secrets(value)
    return parts




def need_sdk(ref: Reference, module: str) -> None:
    hold_sdk_loggers()  # their DEBUG dumps of the answer would log the secret
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its parent package is missing too
        found = False
    if not found:
        raise ConfigError(f"{ref.setting}: {ref.store}: needs the {module} package, which this "
                          "deployment was built without (see deploy/package.py --secrets)")


def refused(ref: Reference, code: str) -> ConfigError:
    return ConfigError(f"{ref.setting}: {ref} cannot be read from {STORES[ref.store]} ({code})")
