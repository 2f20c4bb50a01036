"""Parsers of the settings' structured values, each naming the setting it reads in its
errors (:mod:`shared.config` owns the names and calls them).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

from shared.errors import ConfigError

WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix, not a secret
MIN_WEBHOOK_KEY_BYTES = 24  # Standard Webhooks keys are 24 to 64 random bytes
MIN_API_KEY_CHARS = 32


def webhook_secrets(name: str, values: Iterable[str]) -> None:
    """``COURIER_WEBHOOK_SECRETS``: each ``whsec_`` + base64 of at least 24 bytes. A weak key
    lets anyone forge signatures; one that is not base64 cannot sign at all. The errors say
    which secret (by position) and what is wrong with it, never the value."""
    for i, value in enumerate(values, 1):
        where = f"{name}: secret {i}"
        if not value.startswith(WEBHOOK_SECRET_PREFIX):
            raise ConfigError(f"{where} must start with '{WEBHOOK_SECRET_PREFIX}'")
        try:
            key = base64.b64decode(value[len(WEBHOOK_SECRET_PREFIX):], validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"{where} is not base64 after '{WEBHOOK_SECRET_PREFIX}'"
                              ) from None
        if len(key) < MIN_WEBHOOK_KEY_BYTES:
            raise ConfigError(f"{where} holds {len(key)} bytes of key; make one of at least "
                              f"{MIN_WEBHOOK_KEY_BYTES} random bytes, base64 after "
                              f"'{WEBHOOK_SECRET_PREFIX}'")


def api_keys(name: str, values: Iterable[str]) -> None:
    """``COURIER_API_KEYS``: each at least 32 characters (a short key can be guessed)."""
    for i, value in enumerate(values, 1):
        if len(value) < MIN_API_KEY_CHARS:
            raise ConfigError(f"{name}: key {i} is shorter than {MIN_API_KEY_CHARS} "
                              "characters; use a long random key")


def retry_delays(name: str, raw: str) -> tuple[float, ...]:
    """``COURIER_WEBHOOK_RETRY_S``: 1 to 20 delays of 0 to 604800 seconds, comma-separated."""
    delays = []
    for i, part in enumerate(raw.split(",")):
        try:
            value = float(part.strip())
        except ValueError:
            raise ConfigError(f"{name}: item {i + 1} ({part.strip()!r}) is not a "
                              "number of seconds") from None
        if not 0 <= value <= 7 * 86400:
            raise ConfigError(f"{name}: item {i + 1} must be 0 to 604800 seconds")
        delays.append(value)
    if not 1 <= len(delays) <= 20:
        raise ConfigError(f"{name}: give 1 to 20 delays")
    return tuple(delays)


def subscribers(name: str, raw: str) -> tuple[dict[str, Any], ...]:
    """``COURIER_WEBHOOK_ENDPOINTS``: a JSON list of ``{"url", "events", "providers"}``."""
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: not valid JSON") from exc
    if not isinstance(parsed, list):
        raise ConfigError(f"{name}: must be a JSON list")
    out = []
    for i, item in enumerate(parsed):
        if not isinstance(item, dict) or not isinstance(item.get("url"), str) or not str(
                item["url"]).startswith(("https://", "http://")):
            raise ConfigError(f"{name}[{i}]: needs an http(s) \"url\"")
        for key in ("events", "providers"):
            value = item.get(key)
            if value is not None and (not isinstance(value, list)
                                      or not all(isinstance(v, str) for v in value)):
                raise ConfigError(f"{name}[{i}].{key}: must be a list of "
                                  "strings")
        unknown = set(item) - {"url", "events", "providers"}
        if unknown:
            raise ConfigError(f"{name}[{i}]: unknown field {sorted(unknown)[0]}")
        out.append(item)
    return tuple(out)
