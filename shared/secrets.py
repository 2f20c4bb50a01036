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

The stores are read with the function's own role (Lambda's execution role through Powertools
``parameters``; on SCF the role's temporary keys from the environment, with their token). A
value read from a store is kept for ``COURIER_SECRET_TTL_S`` (default 300 s) and read again
after that; the resolved values are handed to the log redactor and never logged. A reference
that cannot be read stops the cold start with a ``ConfigError`` naming the setting and the
store, never the value.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.config import (
    ENV_ALI_AK,
    ENV_ALI_SK,
    ENV_API_KEYS,
    ENV_AWS_REGION,
    ENV_AWS_SECRETS_ENDPOINT,
    ENV_SCHEDULES,
    ENV_SECRET_TTL,
    ENV_STATE_URL,
    ENV_TC_REGION,
    ENV_TC_SECRET_ID,
    ENV_TC_SECRET_KEY,
    ENV_TC_TOKEN,
    ENV_TENCENT_ENDPOINT,
    ENV_TENCENT_SITE,
    ENV_WEBHOOK_ENDPOINTS,
    ENV_WEBHOOK_SECRETS,
    ENV_WEBHOOK_URLS,
    TencentSettings,
)
from shared.errors import ConfigError

STORES = {"secretsmanager": "AWS Secrets Manager", "ssm": "AWS SSM Parameter Store",
          "tencent-ssm": "Tencent Cloud Secrets Manager"}
FILE = "file"
# Settings that may name a store. The Tencent keys come first: they are what reads
# tencent-ssm references, so they may come from an AWS store but not from Tencent's.
SECRET_SETTINGS = (ENV_TC_SECRET_ID, ENV_TC_SECRET_KEY, ENV_ALI_AK, ENV_ALI_SK, ENV_API_KEYS,
                   ENV_WEBHOOK_SECRETS, ENV_STATE_URL, ENV_WEBHOOK_URLS)
# JSON settings: a store or a file of the package
JSON_SETTINGS = (ENV_SCHEDULES, ENV_WEBHOOK_ENDPOINTS)
DEFAULT_TTL_S = 300.0
# the package root: relative file: paths start here (/var/user on SCF, /var/task on Lambda)
PACKAGE_ROOT = Path(__file__).resolve().parent.parent


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
    return False


@dataclass(frozen=True)
class Resolved:
    env: dict[str, str]
    secrets: tuple[str, ...] = ()  # every value read from a store, for the log redactor
    origins: dict[str, str] = field(default_factory=dict)  # setting -> where it came from
    refresh_at: float | None = None  # clock time at which a store value is read again

    def explain(self, exc: ConfigError) -> ConfigError:
        """``exc`` with where its setting's value came from (the file, the reference)."""
        for setting, origin in self.origins.items():
            if exc.message.startswith(setting):
                return ConfigError(f"{exc.message} (value from {origin})")
        return exc


class SecretStores:
    """Reads references, keeping each store value for the TTL. One per container: a warm
    function that re-reads its settings after the TTL gets the values of that moment."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 root: Path = PACKAGE_ROOT) -> None:
        self.clock = clock
        self.root = root
        self._cache: dict[tuple[str, str, str | None], tuple[str, float]] = {}
        self._aws: dict[str, Any] = {}

    def resolve(self, env: Mapping[str, str]) -> Resolved:
        out = dict(env)
        ttl = _ttl(env)
        found: list[str] = []
        origins: dict[str, str] = {}
        fetched: list[float] = []
        for setting in SECRET_SETTINGS + JSON_SETTINGS:
            ref = parse(setting, env.get(setting) or "")
            if ref is None:
                continue
            origins[setting] = f"file {ref.name}" if ref.store == FILE else str(ref)
            if ref.store == FILE:
                out[setting] = self._file(ref)
                continue
            whole, at = self._read(ref, out, ttl)
            fetched.append(at)
            value = _select(ref, whole)
            out[setting] = value
            found += [whole, value, *_parts(setting, value)]
        return Resolved(out, tuple(found), origins, min(fetched) + ttl if fetched else None)

    # -- reading -----------------------------------------------------------------------------

    def _read(self, ref: Reference, env: Mapping[str, str], ttl: float) -> tuple[str, float]:
        key = (ref.store, ref.name, ref.version)
        now = self.clock()
        cached = self._cache.get(key)
        if cached is not None and now - cached[1] < ttl:
            return cached
        value = self._fetch(ref, env)
        if not value.strip():
            raise ConfigError(f"{ref.setting}: {ref} in {STORES[ref.store]} is empty")
        self._cache[key] = (value, now)
        return value, now

    def _fetch(self, ref: Reference, env: Mapping[str, str]) -> str:
        if ref.store == "tencent-ssm":
            from shared.secret_stores import tencent_secret

            return tencent_secret(ref, _tencent(ref, env))
        from shared.secret_stores import aws_value

        return aws_value(ref, self._aws, env.get(ENV_AWS_SECRETS_ENDPOINT) or None,
                         env.get(ENV_AWS_REGION) or None)

    def _file(self, ref: Reference) -> str:
        path = Path(ref.name)
        path = path if path.is_absolute() else self.root / path
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{ref.setting}: file {ref.name} not found (relative paths start "
                              f"at the package root, {self.root})") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{ref.setting}: file {ref.name} is not UTF-8 text") from None
        except OSError as exc:
            raise ConfigError(f"{ref.setting}: file {ref.name} cannot be read "
                              f"({exc.strerror or 'unreadable'})") from None
        try:
            json.loads(text)
        except ValueError as exc:
            line = getattr(exc, "lineno", None)
            raise ConfigError(f"{ref.setting}: file {ref.name} is not valid JSON"
                              + (f" (line {line})" if line else "")) from None
        return text


def _ttl(env: Mapping[str, str]) -> float:
    raw = (env.get(ENV_SECRET_TTL) or "").strip()
    if not raw:
        return DEFAULT_TTL_S
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{ENV_SECRET_TTL}: {raw!r} is not a number of seconds") from None
    if not 1 <= value <= 86400:
        raise ConfigError(f"{ENV_SECRET_TTL}: must be 1 to 86400 seconds")
    return value


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


def _select(ref: Reference, whole: str) -> str:
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


def _parts(setting: str, value: str) -> list[str]:
    """Pieces of a resolved value that may show up on their own: list items, a password."""
    parts = [p.strip() for p in value.split(",")] if setting in SECRET_SETTINGS else []
    if setting == ENV_STATE_URL:
        from shared.redact import url_passwords

        parts += url_passwords(value)
    return parts


def _tencent(ref: Reference, env: Mapping[str, str]) -> TencentSettings:
    secret_id = (env.get(ENV_TC_SECRET_ID) or "").strip()
    secret_key = (env.get(ENV_TC_SECRET_KEY) or "").strip()
    if not secret_id or not secret_key:
        raise ConfigError(f"{ref.setting}: {ref} needs the function role's keys in "
                          f"{ENV_TC_SECRET_ID} / {ENV_TC_SECRET_KEY} (give the SCF function a "
                          "role allowed ssm:GetSecretValue)")
    site = (env.get(ENV_TENCENT_SITE) or "china").strip().lower()
    return TencentSettings(secret_id=secret_id, secret_key=secret_key,
                           token=(env.get(ENV_TC_TOKEN) or "").strip() or None,
                           region=(env.get(ENV_TC_REGION) or "").strip() or "ap-guangzhou",
                           endpoint=(env.get(ENV_TENCENT_ENDPOINT) or "").strip() or None,
                           site=site if site in ("china", "intl") else "china")
