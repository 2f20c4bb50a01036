"""The checks of a deployment's parts, one :class:`Check` each: what ``courier doctor`` runs
(:mod:`shared.doctor`) and, where cheap, what a cold start logs once (:mod:`shared.bundle`).

A check never raises for what it finds: it reports ``ok``, ``warning`` or ``error`` with
what to do. Its texts name settings and addresses, never a secret (errors are scrubbed as
they are made, URLs shown without user info or query).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from shared import netguard
from shared.config import Settings
from shared.errors import ConfigError, CourierError, ProviderError, UnsafeTargetError
from shared.providers import REGISTRY, Providers, account_settings
from shared.setting_names import (
    ENV_ALI_AK,
    ENV_ALI_SK,
    ENV_ALLOW_HOSTS,
    ENV_CW_ENDPOINT,
    ENV_DESTINATION,
    ENV_DESTINATIONS,
    ENV_STATE_URL,
    ENV_TC_SECRET_ID,
    ENV_TC_SECRET_KEY,
    ENV_WEBHOOK_SECRETS,
)

OK, WARNING, ERROR = "ok", "warning", "error"

# which settings hold each kind of provider credentials (named in what to do)
CREDENTIALS = {
    "tencent": f"{ENV_TC_SECRET_ID} / {ENV_TC_SECRET_KEY}",
    "alibaba": f"{ENV_ALI_AK} / {ENV_ALI_SK}",
    "aws": f"the function role's AWS credentials (and {ENV_CW_ENDPOINT} if not AWS's own)",
    "account": "the account's keys or role in COURIER_ACCOUNTS (and that the role trusts "
               "the deployment's)",
}
# vendor codes that mean "these credentials are not accepted" (the rest: the call failed)
AUTH_CODES = ("AuthFailure", "InvalidAccessKeyId", "SignatureDoesNotMatch",
              "InvalidSecurityToken", "UnrecognizedClientException", "InvalidClientTokenId",
              "AccessDenied", "UnauthorizedOperation", "Forbidden", "NoCredentials")


@dataclass(frozen=True)
class Check:
    name: str  # what was checked: "state store", "destination", "provider cls", …
    status: str  # ok | warning | error
    detail: str  # what was found
    fix: str = ""  # what to do (warnings and errors)

    def line(self) -> str:
        text = f"{self.status:<7} {self.name}: {self.detail}"
        return f"{text} -> {self.fix}" if self.fix else text

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sqlite_file(state_url: str) -> str | None:
    """The file a ``sqlite:///path`` state URL names (None for other stores and memory)."""
    if not state_url.lower().startswith("sqlite:"):
        return None
    raw = state_url[len("sqlite://"):].split("?", 1)[0]
    path = raw[1:] if raw.startswith("/") else raw
    return None if path in ("", ":memory:", "/:memory:") else os.path.abspath(path)


def missing_state(state_url: str) -> str | None:
    """Why ``state_url`` names nothing that exists yet (a SQLite file not there), or None.
    Only a SQLite file can be looked at without connecting."""
    path = sqlite_file(state_url)
    if path is not None and not os.path.isfile(path):
        return f"the state database {path} does not exist"
    return None


def state_store(settings: Settings) -> Check:
    """Reachable, and its schema current (opening a store makes what is missing of its
    schema; one listing reads through the records' list index)."""
    from shared.state import open_store

    missing = missing_state(settings.state_url)
    if missing:
        return Check("state store", WARNING, f"{missing} yet",
                     f"the first export makes it; if exports were made already, "
                     f"{ENV_STATE_URL} points elsewhere (run from the right folder or set "
                     "an absolute path)")
    kind = settings.state_url.split(":", 1)[0].lower()
    try:
        store = open_store(settings.state_url)
        try:
            store.list_tasks(limit=1)
        finally:
            store.close()
    except CourierError as exc:
        return Check("state store", ERROR, exc.message,
                     f"check {ENV_STATE_URL} (host, database, user) and that the server is up")
    except Exception as exc:  # noqa: BLE001 - a driver's own error: say so without a trace
        return Check("state store", ERROR, netguard.failure_words(exc),
                     f"check {ENV_STATE_URL} (host, database, user) and that the server is up")
    return Check("state store", OK, f"{kind} store reachable, schema current")


def destination(settings: Settings, store: Any = None) -> Check:
    """A probe object written, read back and deleted."""
    from shared.storage import open_destination
    from shared.storage.probe import probe

    try:
        store = store or open_destination(settings.destination, settings.storage,
                                           write=settings.destination_write)
        probe(store)
    except CourierError as exc:
        return Check("destination", ERROR, exc.message,
                     f"check {ENV_DESTINATION}, its endpoint and that the function may put, "
                     "get and delete objects there")
    return Check("destination", OK, f"{store.where}: {probed(store)}")


def probed(store: Any) -> str:
    """What a probe that passed did, in words (the write options it carried, if any)."""
    asked = store.write.asked()
    return "a probe object written, read back and deleted" + (
        f"; it carried the write options ({', '.join(asked)})" if asked else "")


def named_destinations(settings: Settings) -> Iterator[Check]:
    """Each named destination (COURIER_DESTINATIONS), probed with its own credentials."""
    from shared.storage.destinations import Destinations
    from shared.storage.probe import probe

    opened = Destinations(settings)
    for named in settings.destinations:
        label = f"destination {named.name}"
        try:
            store = opened(named.name)
            probe(store)
        except CourierError as exc:
            yield Check(label, ERROR, exc.message,
                        f"check {ENV_DESTINATIONS}[{named.name}] (url, keys or account) and "
                        "that they may put, get and delete objects there")
            continue
        yield Check(label, OK, f"{store.where}: {probed(store)}")


def providers(settings: Settings, built: Providers) -> Iterator[Check]:
    """Each provider whose credentials are set: one cheap read through its vendor client."""
    idle = []
    for name in sorted(REGISTRY):
        kind = REGISTRY[name].credentials
        if getattr(settings, kind) is None:
            idle.append(name)
            continue
        yield provider(name, kind, built)
    if idle:
        yield Check("providers", OK, f"not configured (no credentials): {', '.join(idle)}")
    for account in settings.accounts:  # a named account: its cloud's first provider
        name = min(n for n in REGISTRY if REGISTRY[n].credentials == account.vendor)
        yield provider(name, account.vendor, built, account.name)


def accounts(settings: Settings) -> list[str]:
    """What each named account lacks to be reached (no call made): keys of its own, or the
    deployment's to assume its role with; an AWS account's staging bucket."""
    out = []
    for account in settings.accounts:
        try:
            account_settings(account, getattr(settings, account.vendor))
        except ConfigError as exc:
            out.append(exc.message)
    return out


def provider(name: str, kind: str, built: Providers, account: str | None = None) -> Check:
    label = f"provider {name}" + (f" (account {account})" if account else "")
    if account:
        kind = "account"
    try:
        action = built.get(name, account).check_access()
    except ProviderError as exc:
        if any(exc.code.startswith(code) for code in AUTH_CODES):
            return Check(label, ERROR, f"credentials refused ({exc.code}: {exc.detail})",
                         f"check {CREDENTIALS[kind]}")
        return Check(label, ERROR, f"the check call failed ({exc.code}: {exc.detail})",
                     f"check {CREDENTIALS[kind]}, the endpoint and the network")
    except CourierError as exc:
        return Check(label, ERROR, exc.message, f"check {CREDENTIALS[kind]}")
    if action is None:
        return Check(label, WARNING, "no cheap read to check its credentials with",
                     "create a test export")
    return Check(label, OK, f"credentials accepted ({action})")


def webhooks(settings: Settings) -> Iterator[Check]:
    """Every default webhook endpoint and operator subscriber (a chat bot: its address)
    resolves to addresses the outbound guard allows; the deliveries are signed."""
    urls = list(settings.webhook_urls) + [str(e.get("url")) for e in settings.webhook_endpoints]
    urls += list(settings.operator_subscribers)
    for url in dict.fromkeys(urls):
        bot = settings.chat_bot(url)  # a bot's address holds its key: named, never shown
        label = f"webhook {url if bot else netguard.redact_url(url, keep_path=True)}"
        try:
            netguard.check_url(bot.url if bot else url,
                               allow_hosts=settings.allow_private_hosts)
        except UnsafeTargetError as exc:
            yield Check(label, ERROR, exc.message,
                        "fix the host name or its DNS record" if "resolve" in exc.message
                        and "non-public" not in exc.message else
                        f"use a public address, or list the host in {ENV_ALLOW_HOSTS}")
            continue
        except CourierError as exc:
            yield Check(label, ERROR, exc.message, "fix the URL or its DNS name")
            continue
        yield Check(label, OK, "resolves to allowed addresses")
    if not settings.webhook_secrets:
        yield Check("webhook signing", WARNING, "no webhook secrets: deliveries are sent "
                    "unsigned", f"set {ENV_WEBHOOK_SECRETS} (whsec_…)")
