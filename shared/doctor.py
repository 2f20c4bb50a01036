"""``courier doctor``: every part of a deployment checked, one :class:`~shared.checks.Check`
each, in the order a cold start meets them.

1. the secret stores the settings refer to, read; 2. every setting parsed; 3. the state store
reachable, its schema current; 4. the destination writable (a probe object written, read
back and deleted); 5. each provider with credentials: one cheap read through its vendor
client; 6. the default webhook endpoints resolving to addresses the outbound guard allows,
and the deliveries signed; 7. every schedule able to fire. Settings that cannot be read stop
the run there (nothing after them can be checked).
"""

from __future__ import annotations

from collections.abc import Mapping

from shared import checks, redact, schedules
from shared.bundle import read_settings
from shared.checks import ERROR, OK, WARNING, Check
from shared.config import Settings
from shared.errors import ConfigError
from shared.providers import Providers
from shared.secret_stores.references import has_references
from shared.secret_stores.resolve import SecretStores
from shared.setting_names import ENV_SCHEDULES

__all__ = ["ERROR", "OK", "WARNING", "Check", "run"]


def run(env: Mapping[str, str]) -> list[Check]:
    """Every check of the deployment ``env`` describes (see the module doc)."""
    out: list[Check] = []
    stores = SecretStores()
    if has_references(env):
        try:
            resolved = stores.resolve(env)
        except ConfigError as exc:
            out.append(Check("secret stores", ERROR, exc.message,
                             "check the reference, the store's endpoint and the function's "
                             "right to read it"))
            return out
        out.append(Check("secret stores", OK, f"every reference read ({len(resolved.secrets)} "
                                              "secret value(s))"))
    try:
        settings = read_settings(env, stores=stores)
    except ConfigError as exc:
        out.append(Check("settings", ERROR, exc.message,
                         "fix that setting (docs/configuration.md)"))
        return out
    out.append(Check("settings", OK, "every setting parsed"))
    redact.learn(settings.secret_values())  # before a client can fail quoting a secret
    # each process limits its own calls: the state store's shared budget would open (and,
    # for SQLite, make) the store the check above may have found missing
    providers = Providers(settings)
    out.append(checks.state_store(settings))
    out.append(checks.destination(settings))
    out.extend(checks.named_destinations(settings))
    out.extend(checks.providers(settings, providers))
    out.extend(checks.webhooks(settings))
    out.extend(_schedules(settings, providers))
    return out


def _schedules(settings: Settings, providers: Providers) -> list[Check]:
    found = schedules.problems(settings, providers)
    if not found:
        return [Check("schedules", OK, "none configured")]
    return [Check(f"schedule {name}", OK, "provider and params valid") if problem is None
            else Check(f"schedule {name}", ERROR, problem, f"fix it in {ENV_SCHEDULES}")
            for name, problem in found]
