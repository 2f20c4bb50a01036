"""Resolving references: every setting that names a store or a file gets its value, before
the settings are parsed (:meth:`shared.config.Settings.from_env` reads plain values only).

The stores are read with the function's own role (Lambda's execution role through Powertools
``parameters``; on SCF the role's temporary keys from the environment, with their token). A
value read from a store is kept for ``COURIER_SECRET_TTL_S`` (default 300 s) and read again
after that; the resolved values are handed to the log redactor and never logged. A reference
that cannot be read stops the cold start with a ``ConfigError`` naming the setting and the
store, never the value.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.errors import ConfigError
from shared.secret_stores.references import (
    FILE,
    JSON_SETTINGS,
    NESTED_SECRETS,
    SECRET_SETTINGS,
    STORES,
    Reference,
    nested_entries,
    parse,
    parts,
    select,
    store_reference,
)
from shared.setting_names import (
    ENV_AWS_REGION,
    ENV_AWS_SECRETS_ENDPOINT,
    ENV_SECRET_TTL,
    ENV_TC_REGION,
    ENV_TC_SECRET_ID,
    ENV_TC_SECRET_KEY,
    ENV_TC_TOKEN,
    ENV_TENCENT_ENDPOINT,
    ENV_TENCENT_SITE,
    TENCENT_SITES,
)
from shared.vendor_settings import TencentSettings

DEFAULT_TTL_S = 300.0
# the package root: relative file: paths start here (/var/user on SCF, /var/task on Lambda)
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


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
            if ref is not None:
                origins[setting] = f"file {ref.name}" if ref.store == FILE else str(ref)
            if ref is not None and ref.store == FILE:
                out[setting] = self._file(ref)
            elif ref is not None:
                whole, at = self._read(ref, out, ttl)
                fetched.append(at)
                value = select(ref, whole)
                out[setting] = value
                found += [whole, value, *parts(setting, value)]
            if setting in NESTED_SECRETS and setting in out:
                out[setting] = self._nested(setting, out[setting], out, ttl, found, fetched,
                                            origins)
        return Resolved(out, tuple(found), origins, min(fetched) + ttl if fetched else None)

    def _nested(self, setting: str, value: str, env: Mapping[str, str], ttl: float,
                found: list[str], fetched: list[float], origins: dict[str, str]) -> str:
        """``value`` (a JSON setting of :data:`NESTED_SECRETS`) with every key field that is a
        store reference replaced by what the store holds."""
        try:
            doc = json.loads(value)
        except ValueError:
            return value  # the settings' parser names the setting
        changed = False
        for where, entry in nested_entries(setting, doc):
            for key in NESTED_SECRETS[setting]:
                raw = entry.get(key)
                ref = store_reference(f"{where}.{key}", raw) if isinstance(raw, str) else None
                if ref is None:
                    continue
                whole, at = self._read(ref, env, ttl)
                fetched.append(at)
                entry[key] = select(ref, whole).strip()
                origins.setdefault(ref.setting, str(ref))
                found += [whole, str(entry[key])]
                changed = True
        return json.dumps(doc) if changed else value

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
            from shared.secret_stores.tencent import tencent_secret

            return tencent_secret(ref, _tencent(ref, env))
        from shared.secret_stores.aws import aws_value

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
                           site=site if site in TENCENT_SITES else "china")
