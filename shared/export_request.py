"""What a create request may hold, checked before anything is stored: its fields, its
subscribers (public addresses, or configured chat bots), the account and destination it
names, and whether Parquet can be delivered for it. Every refusal is a 400 naming the field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared import netguard
from shared.config import Settings
from shared.errors import UnsafeTargetError, ValidationError
from shared.model import FORMATS
from shared.packaged import converter_missing

MAX_SUBSCRIBERS = 10
REQUEST_FIELDS = ("provider", "params", "subscribers", "idempotency_key", "unpack", "format",
                  "account", "destination")


def parse_request(body: Any, idempotency_key: str | None, allow_hosts: Iterable[str] = (),
                  chat_bots: Iterable[str] = ()) -> tuple[str, Any, list[str], str | None]:
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    unknown = sorted(set(body) - set(REQUEST_FIELDS))
    if unknown:
        raise ValidationError(unknown[0], "unknown field (expected "
                              f"{', '.join(REQUEST_FIELDS)})")
    if not isinstance(body.get("unpack", False), bool):
        raise ValidationError("unpack", "must be true or false")
    if body.get("format", "gzip") not in FORMATS:
        raise ValidationError("format", "must be 'gzip' or 'parquet'")
    for name in ("account", "destination"):
        if not isinstance(body.get(name, ""), str) or body.get(name) == "":
            raise ValidationError(name, "must be the name of a configured "
                                  f"{name} (COURIER_{name.upper()}S)")
    if "provider" not in body:
        raise ValidationError("provider", "is required")
    if "params" not in body:
        raise ValidationError("params", "is required")
    subscribers = body.get("subscribers", [])
    if not isinstance(subscribers, list) or not all(isinstance(s, str) for s in subscribers):
        raise ValidationError("subscribers", "must be a list of URLs")
    if len(subscribers) > MAX_SUBSCRIBERS:
        raise ValidationError("subscribers", f"at most {MAX_SUBSCRIBERS} URLs")
    bots = set(chat_bots)
    for i, url in enumerate(subscribers):
        if url.startswith("chat:"):
            if url not in bots:
                raise ValidationError(f"subscribers[{i}]", f"{url}: no such chat bot is "
                                      "configured (COURIER_CHAT_BOTS)")
            continue
        if not url.startswith(("https://", "http://")) or len(url) > 2048:
            raise ValidationError(f"subscribers[{i}]", "must be an http(s) URL or "
                                  "chat:<bot name>")
        try:
            netguard.check_literal(url, allow_hosts=allow_hosts)
        except UnsafeTargetError as exc:
            raise ValidationError(f"subscribers[{i}]", f"cannot receive webhooks: {exc}"
                                  ) from exc
    key = idempotency_key or body.get("idempotency_key")
    if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 200):
        raise ValidationError("Idempotency-Key", "must be 1 to 200 characters")
    return body["provider"], body["params"], subscribers, key


def parquet_possible(settings: Settings, unpack: bool | None,
                     destination: str | None = None) -> None:
    """``"format": "parquet"`` converts the members of an unpacked archive (the request's
    ``unpack``, else that of the destination it names), in a package built with the
    converter: a 400 naming ``format`` otherwise."""
    default = settings.delivery(destination).unpack
    if not (default if unpack is None else unpack):
        off = (f"destination {destination!r} does not unpack" if destination
               else "COURIER_UNPACK is off")
        raise ValidationError("format", 'parquet converts the members of an unpacked archive: '
                              f'add "unpack": true ({off})' if unpack is None
                              else 'parquet needs "unpack": true')
    missing = converter_missing()
    if missing:
        raise ValidationError("format", f"parquet cannot be delivered here: {missing}")


def named(settings: Settings, body: dict[str, Any]) -> tuple[str | None, str | None]:
    """The account and destination a request names (None: the deployment's own); a name
    the settings do not hold is a 400 naming it."""
    account, destination = body.get("account"), body.get("destination")
    if account is not None and settings.account(account) is None:
        raise ValidationError("account", f"{account!r} is not a configured account "
                              "(COURIER_ACCOUNTS)")
    if destination is not None and settings.named_destination(destination) is None:
        raise ValidationError("destination", f"{destination!r} is not a configured "
                              "destination (COURIER_DESTINATIONS)")
    return account, destination
