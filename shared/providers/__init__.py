"""Provider registry: one line per provider; modules are imported when first used."""

from __future__ import annotations

import importlib
from typing import Any

from shared.config import Settings
from shared.errors import ConfigError, ValidationError
from shared.providers.base import Provider

# provider key -> (module, class, which credentials it needs)
REGISTRY: dict[str, tuple[str, str, str]] = {
    "cls": ("shared.providers.cls", "ClsProvider", "tencent"),
    "mongodb": ("shared.providers.mongodb", "MongodbProvider", "tencent"),
    "tcss": ("shared.providers.tcss", "TcssProvider", "tencent"),
    "dlc": ("shared.providers.dlc", "DlcProvider", "tencent"),
    "dms": ("shared.providers.dms", "DmsProvider", "alibaba"),
}
# top-level modules of the vendor SDKs (a missing one means a trimmed package)
VENDOR_SDKS = ("tencentcloud", "alibabacloud")


class Providers:
    """Builds each provider once (warm invocations reuse clients) from the settings."""

    def __init__(self, settings: Settings, **overrides: Provider) -> None:
        self.settings = settings
        self._built: dict[str, Provider] = dict(overrides)

    @property
    def names(self) -> list[str]:
        return sorted(REGISTRY)

    def get(self, name: Any) -> Provider:
        if not isinstance(name, str) or name not in REGISTRY:
            raise ValidationError("provider", f"unknown provider {str(name)[:40]!r} "
                                  f"(expected one of: {', '.join(self.names)})")
        if name not in self._built:
            module, cls_name, creds = REGISTRY[name]
            try:
                loaded = importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if not (exc.name or "").startswith(VENDOR_SDKS):
                    raise
                # a package built with ``--providers`` that leaves this one out
                raise ValidationError("provider", f"provider {name!r} is not in this "
                                      "deployment: the package was built without its SDK "
                                      f"({exc.name})") from None
            settings = getattr(self.settings, creds)
            if settings is None:
                raise ConfigError(f"provider {name!r} needs {creds} credentials, "
                                  "which are not configured")
            cls = getattr(loaded, cls_name)
            self._built[name] = cls(settings)
        return self._built[name]
