"""What this deployment package was built with: ``deploy/package.py --state`` and
``--destination`` build smaller packages that leave out the drivers a deployment does not use.
"""

from __future__ import annotations

from shared.errors import ConfigError


def require_module(setting: str, scheme: str, module: str) -> None:
    """Refuse, naming the setting, a scheme whose driver this deployment package left out
    (``deploy/package.py --state`` / ``--destination`` build smaller packages)."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"{setting}: {scheme}:// needs the {module} package, which this "
                          "deployment was built without (see deploy/package.py --state and "
                          "--destination)")
