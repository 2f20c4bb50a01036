"""What this deployment package was built with: ``deploy/package.py --state`` and
``--destination`` build smaller packages that leave out the drivers a deployment does not use;
only ``--with-parquet`` adds DuckDB, which ``format: parquet`` converts with.
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


PARQUET_MISSING = ("this package was built without the Parquet converter "
                   "(make package PACKAGE_ARGS=--with-parquet)")


def converter_missing() -> str | None:
    """Why ``format: parquet`` cannot be delivered here (the converter's DuckDB is left out
    of packages not built ``--with-parquet``), or None."""
    import importlib.util

    return None if importlib.util.find_spec("duckdb") is not None else PARQUET_MISSING
