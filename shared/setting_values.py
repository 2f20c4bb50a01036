"""Parsers of the settings' structured values, each naming the setting it reads in its
errors (:mod:`shared.config` owns the names and calls them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.errors import ConfigError


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


@dataclass(frozen=True)
class UnpackSettings:
    """How archives (CLS ``.tar.gz``, DMS ``.zip``) are unpacked at delivery."""

    enabled: bool = False  # the destination's default; a schedule or export may say otherwise
    keep_raw: bool = True  # keep the archive under raw/ beside the unpacked members
    max_member_bytes: int = 4 * 1024**3  # one member, unpacked
    max_total_bytes: int = 16 * 1024**3  # all members of one archive, unpacked
    max_ratio: float = 200.0  # unpacked bytes per archive byte (a zip bomb goes past it)


SWITCHES = {"on": True, "off": False, "true": True, "false": False, "1": True, "0": False}


def unpack_settings(raw: dict[str, str | None], names: tuple[str, str, str, str, str]
                    ) -> UnpackSettings:
    """The unpack settings from their raw texts (``names``: enabled, keep_raw, max member
    MB, max total MB, max ratio, as the environment names them)."""
    values: dict[str, Any] = {}
    for attr, name in zip(("enabled", "keep_raw"), names[:2]):
        text = raw.get(name)
        if text is not None:
            if text.lower() not in SWITCHES:
                raise ConfigError(f"{name}: must be 'on' or 'off'")
            values[attr] = SWITCHES[text.lower()]
    for attr, name, scale in (("max_member_bytes", names[2], 1024**2),
                              ("max_total_bytes", names[3], 1024**2),
                              ("max_ratio", names[4], 1)):
        text = raw.get(name)
        if text is None:
            continue
        try:
            number = float(text)
        except ValueError:
            raise ConfigError(f"{name}: {text!r} is not a number") from None
        if not number >= 1:
            raise ConfigError(f"{name}: must be at least 1")
        values[attr] = number * scale if attr == "max_ratio" else int(number * scale)
    return UnpackSettings(**values)
