"""Parsers of the settings' structured values, each naming the setting it reads in its
errors (:mod:`shared.config` owns the names and calls them).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from shared.errors import ConfigError
from shared.model import FORMATS

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


CHAT_KINDS = ("wecom", "dingtalk", "feishu", "lark")
CHAT_PREFIX = "chat:"  # a subscriber ``chat:<name>`` is the bot ``<name>`` of COURIER_CHAT_BOTS


@dataclass(frozen=True)
class ChatBot:
    """One chat bot: its platform, its webhook address (which holds its key) and its
    signing secret (DingTalk and Feishu/Lark bots with signing on)."""

    name: str
    kind: str
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)
    per_minute: float | None = None  # below the platform's own limit, when given

    @property
    def endpoint(self) -> str:
        return CHAT_PREFIX + self.name


def json_value(name: str, raw: str) -> Any:
    """The JSON value the setting ``name`` holds; ConfigError naming it when it is not JSON."""
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}: not valid JSON") from exc


def chat_bots(name: str, raw: str) -> tuple[ChatBot, ...]:
    """``COURIER_CHAT_BOTS``: a JSON object ``{"<name>": {"kind", "url", "secret",
    "per_minute"}}``."""
    parsed = json_value(name, raw)
    if not isinstance(parsed, dict):
        raise ConfigError(f"{name}: must be a JSON object of bots by name")
    out = []
    for bot, item in parsed.items():
        where = f"{name}.{bot}"
        if not bot or not all(c.isalnum() or c in "-_" for c in bot):
            raise ConfigError(f"{where}: a bot name is letters, digits, '-' and '_'")
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be an object with kind and url")
        unknown = set(item) - {"kind", "url", "secret", "per_minute"}
        if unknown:
            raise ConfigError(f"{where}: unknown field {sorted(unknown)[0]}")
        if item.get("kind") not in CHAT_KINDS:
            raise ConfigError(f"{where}.kind: must be one of {', '.join(CHAT_KINDS)}")
        url = item.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ConfigError(f"{where}.url: needs the bot's http(s) webhook address")
        secret = item.get("secret")
        if secret is not None and (not isinstance(secret, str) or not secret.strip()):
            raise ConfigError(f"{where}.secret: must be the bot's signing secret (text)")
        if secret and item["kind"] == "wecom":
            raise ConfigError(f"{where}.secret: WeCom bots do not sign; the key in the url is "
                              "their only secret")
        per_minute = item.get("per_minute")
        if per_minute is not None and (isinstance(per_minute, bool) or not isinstance(
                per_minute, (int, float)) or not 0 < per_minute <= 100):
            raise ConfigError(f"{where}.per_minute: must be a number above 0, at most 100")
        out.append(ChatBot(bot, item["kind"], url, secret, per_minute))
    return tuple(out)


def subscriber_list(name: str, raw: str) -> tuple[str, ...]:
    """``COURIER_OPERATOR_SUBSCRIBERS``: comma-separated http(s) URLs and ``chat:<name>``."""
    out = tuple(p.strip() for p in raw.split(",") if p.strip())
    for i, item in enumerate(out):
        if not item.startswith(("https://", "http://", CHAT_PREFIX)):
            raise ConfigError(f"{name}: item {i + 1} must be an http(s) URL or chat:<bot name>")
    return out


ENDPOINT_FIELDS = ("url", "events", "providers", "accounts", "per_minute")
# the events an endpoint may ask for; the operator's go to COURIER_OPERATOR_SUBSCRIBERS
EXPORT_EVENTS = ("export.delivered", "export.failed", "export.cancelled", "export.waiting")
DEFAULT_ACCOUNT = "default"  # in an endpoint's ``accounts``: the deployment's own account
MAX_PER_MINUTE = 6000.0


def subscribers(name: str, raw: str) -> tuple[dict[str, Any], ...]:
    """``COURIER_WEBHOOK_ENDPOINTS``: a JSON list of ``{"url", "events", "providers",
    "accounts", "per_minute"}``, or ``{"chat": "<bot name>", …}`` for a bot of
    ``COURIER_CHAT_BOTS`` (kept as the url ``chat:<bot name>``; a bot's rate is its own
    ``per_minute`` there)."""
    parsed = json_value(name, raw)
    if not isinstance(parsed, list):
        raise ConfigError(f"{name}: must be a JSON list")
    out = []
    for i, item in enumerate(parsed):
        if isinstance(item, dict) and "chat" in item:
            if "url" in item or not isinstance(item["chat"], str) or not item["chat"]:
                raise ConfigError(f"{name}[{i}]: give either \"url\" or \"chat\" (a bot "
                                  "name of COURIER_CHAT_BOTS)")
            if "per_minute" in item:
                raise ConfigError(f"{name}[{i}].per_minute: a chat bot's rate is set on the "
                                  f"bot: COURIER_CHAT_BOTS.{item['chat']}.per_minute")
            item = {**{k: v for k, v in item.items() if k != "chat"},
                    "url": CHAT_PREFIX + item["chat"]}
        if not isinstance(item, dict) or not isinstance(item.get("url"), str) or not str(
                item["url"]).startswith(("https://", "http://", CHAT_PREFIX)):
            raise ConfigError(f"{name}[{i}]: needs an http(s) \"url\"")
        for key in ("events", "providers", "accounts"):
            value = item.get(key)
            if value is not None and (not isinstance(value, list)
                                      or not all(isinstance(v, str) for v in value)):
                raise ConfigError(f"{name}[{i}].{key}: must be a list of "
                                  "strings")
        for event in item.get("events") or ():
            if event not in EXPORT_EVENTS:
                raise ConfigError(f"{name}[{i}].events: {event!r} is not an event an endpoint "
                                  f"can ask for ({', '.join(EXPORT_EVENTS)}; the operator's "
                                  "events go to COURIER_OPERATOR_SUBSCRIBERS)")
        per_minute = item.get("per_minute")
        if per_minute is not None and (isinstance(per_minute, bool) or not isinstance(
                per_minute, (int, float)) or not 0 < per_minute <= MAX_PER_MINUTE):
            raise ConfigError(f"{name}[{i}].per_minute: must be a number of messages a "
                              f"minute above 0, at most {MAX_PER_MINUTE:.0f}")
        unknown = set(item) - set(ENDPOINT_FIELDS)
        if unknown:
            raise ConfigError(f"{name}[{i}]: unknown field {sorted(unknown)[0]}")
        out.append(item)
    return tuple(out)


def unknown_accounts(name: str, endpoints: Iterable[dict[str, Any]],
                     accounts: Iterable[str]) -> None:
    """Each endpoint's ``accounts`` lists ``"default"`` (the deployment's own) or accounts
    of ``COURIER_ACCOUNTS``; an account itself named "default" could not be told apart."""
    known = set(accounts)
    for i, endpoint in enumerate(endpoints):
        for account in endpoint.get("accounts") or ():
            if account == DEFAULT_ACCOUNT and DEFAULT_ACCOUNT in known:
                raise ConfigError(f"{name}[{i}].accounts: \"default\" means the deployment's "
                                  "own account; rename the account of COURIER_ACCOUNTS that "
                                  "is called so")
            if account != DEFAULT_ACCOUNT and account not in known:
                raise ConfigError(f"{name}[{i}].accounts: {account!r} is no account of "
                                  "COURIER_ACCOUNTS (\"default\": the deployment's own)")


@dataclass(frozen=True)
class NoticeSettings:
    """When an export is told stuck, and how often a long wait is told again."""

    stuck_after_s: tuple[tuple[str, float], ...] = ()  # (provider or "*", seconds; 0: off)
    remind_after_s: float = 86400.0  # export.waiting again after this long; 0: never
    reminders: int = 7  # at most this many reminders per wait


def per_provider_seconds(name: str, raw: str) -> tuple[tuple[str, float], ...]:
    """``"10800"`` (every provider), ``"10800,dlc=21600,dms=off"``: seconds per provider,
    ``*`` for the rest; ``off`` (or 0) turns it off."""
    out: list[tuple[str, float]] = []
    for i, part in enumerate(p.strip() for p in raw.split(",")):
        provider, _, value = part.rpartition("=")
        provider = provider.strip() or "*"
        if provider != "*" and not provider.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"{name}: item {i + 1} ({part!r}) must be seconds or "
                              "provider=seconds")
        if value.strip().lower() == "off":
            out.append((provider, 0.0))
            continue
        try:
            seconds = float(value)
        except ValueError:
            raise ConfigError(f"{name}: item {i + 1} ({part!r}) must be seconds, "
                              "provider=seconds or provider=off") from None
        if seconds != 0 and not 60 <= seconds <= 30 * 86400:
            raise ConfigError(f"{name}: item {i + 1} must be 60 to 2592000 seconds (0: off)")
        out.append((provider, seconds))
    if len({p for p, _ in out}) != len(out):
        raise ConfigError(f"{name}: a provider is named twice")
    return tuple(out)


def notice_settings(raw: dict[str, str | None], names: tuple[str, str, str]
                    ) -> NoticeSettings:
    """The notice settings from their raw texts (``names``: stuck after, remind after,
    reminders, as the environment names them)."""
    values: dict[str, Any] = {}
    if (text := raw.get(names[0])) is not None:
        values["stuck_after_s"] = per_provider_seconds(names[0], text)
    if (text := raw.get(names[1])) is not None:
        try:
            every = 0.0 if text.lower() == "off" else float(text)
        except ValueError:
            raise ConfigError(f"{names[1]}: {text!r} is not a number of seconds (or off)"
                              ) from None
        if every != 0 and not every >= 60:
            raise ConfigError(f"{names[1]}: must be at least 60 seconds (or off)")
        values["remind_after_s"] = every
    if (text := raw.get(names[2])) is not None:
        if not text.isdigit() or int(text) > 100:
            raise ConfigError(f"{names[2]}: must be a whole number from 0 to 100")
        values["reminders"] = int(text)
    return NoticeSettings(**values)


@dataclass(frozen=True)
class Destination:
    """A destination URI taken apart: ``file`` (``location`` is the folder), ``s3``, ``cos``
    or ``oss`` (``location`` is the bucket, ``prefix`` the key prefix)."""

    scheme: str
    location: str
    prefix: str = ""
    region: str | None = None  # cos, oss: ?region=…


def parse_destination(setting: str, uri: str, default_region: str | None = None, *,
                      oss_region: str | None = None) -> Destination:
    """Check the form of the destination URI ``setting`` holds (nothing is contacted);
    ConfigError naming the setting if malformed. ``default_region``: a cos:// URI's when it
    names none (the Tencent region), ``oss_region`` an oss:// URI's (the Alibaba one)."""
    if not isinstance(uri, str) or "://" not in uri:
        raise ConfigError(f"{setting}: must be a URI: file:///path, s3://bucket/prefix, "
                          "cos://bucket-appid/prefix?region=… or oss://bucket/prefix?region=…")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme == "file":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ConfigError(f"{setting}: file:// needs a path")
        return Destination("file", path)
    if scheme == "s3":
        if not parts.netloc:
            raise ConfigError(f"{setting}: s3:// needs a bucket")
        return Destination("s3", parts.netloc, unquote(parts.path))
    if scheme == "cos":
        if not parts.netloc:
            raise ConfigError(f"{setting}: cos:// needs a bucket (bucket-appid)")
        region = (parse_qs(parts.query).get("region") or [default_region or ""])[0]
        if not region:
            raise ConfigError(f"{setting}: cos:// needs ?region=… (e.g. ap-guangzhou)")
        return Destination("cos", parts.netloc, unquote(parts.path), region)
    if scheme == "oss":
        if not OSS_BUCKET.fullmatch(parts.netloc):
            raise ConfigError(f"{setting}: oss:// needs a bucket name (3-63 lower-case "
                              "letters, digits and hyphens, not starting or ending with one)")
        region = (parse_qs(parts.query).get("region") or [oss_region or ""])[0]
        if not OSS_REGION.fullmatch(region):
            raise ConfigError(f"{setting}: oss:// needs ?region=… (e.g. cn-hangzhou)")
        return Destination("oss", parts.netloc, unquote(parts.path), region)
    raise ConfigError(f"{setting}: unsupported scheme {scheme!r} (use file, s3, cos or oss)")


# OSS bucket naming rules (OSS "Bucket naming conventions"); a region id such as cn-hangzhou
OSS_BUCKET = re.compile(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")
OSS_REGION = re.compile(r"[a-z]{2,}(-[a-z0-9]+)+")


@dataclass(frozen=True)
class UnpackSettings:
    """How archives (CLS ``.tar.gz``, DMS ``.zip``) are unpacked at delivery."""

    enabled: bool = False  # the destination's default; a schedule or export may say otherwise
    keep_raw: bool = True  # keep the archive under raw/ beside the unpacked members
    max_member_bytes: int = 4 * 1024**3  # one member, unpacked
    max_total_bytes: int = 16 * 1024**3  # all members of one archive, unpacked
    max_ratio: float = 200.0  # unpacked bytes per archive byte (a zip bomb goes past it)
    format: str = "gzip"  # the destination's default: gzip, or parquet (CSV/JSON members)
    parquet_tmp_bytes: int = 384 * 1024**2  # a member, gzip'd, and its Parquet file in /tmp


SWITCHES = {"on": True, "off": False, "true": True, "false": False, "1": True, "0": False}


def unpack_settings(raw: dict[str, str | None], names: tuple[str, ...]) -> UnpackSettings:
    """The unpack settings from their raw texts (``names``: enabled, keep_raw, max member
    MB, max total MB, max ratio, format, Parquet temporary MB, as the environment names
    them)."""
    values: dict[str, Any] = {}
    text = raw.get(names[5])
    if text is not None:
        if text.lower() not in FORMATS:
            raise ConfigError(f"{names[5]}: must be 'gzip' or 'parquet'")
        values["format"] = text.lower()
    for attr, name in zip(("enabled", "keep_raw"), names[:2]):
        text = raw.get(name)
        if text is not None:
            if text.lower() not in SWITCHES:
                raise ConfigError(f"{name}: must be 'on' or 'off'")
            values[attr] = SWITCHES[text.lower()]
    for attr, name, scale in (("max_member_bytes", names[2], 1024**2),
                              ("max_total_bytes", names[3], 1024**2),
                              ("max_ratio", names[4], 1),
                              ("parquet_tmp_bytes", names[6], 1024**2)):
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
