"""Which runtime dependencies a package carries (:mod:`deploy.package`).

The dependencies of ``pyproject.toml``, less the SDKs of what a deployment does not use: the
providers (``--providers cls,tcss``), state stores (``--state mysql``), destinations
(``--destination cos``) and secret stores (``--secrets``) it names, and less what the
platform's runtime already carries; ``--with-parquet`` adds the ``parquet`` extra (DuckDB,
the converter of ``format: parquet``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.providers import REGISTRY

ROOT = Path(__file__).resolve().parent.parent

# The vendor SDK each provider needs, from the provider registry, so a package can carry only
# the providers a deployment uses (``--providers cls,tcss``).
PROVIDER_SDKS = {name: entry.sdk for name, entry in REGISTRY.items()}
# The driver each state store and destination needs (``--state mysql``,
# ``--destination cos``). boto3 is also what Lambda dispatch uses; the Lambda runtime has it.
STATE_DRIVERS = {"sqlite": (), "postgresql": ("psycopg",), "mysql": ("pymysql",),
                 "dynamodb": ("boto3",)}
DESTINATION_DRIVERS = {"file": (), "cos": (), "s3": ("boto3",),
                       "oss": ("alibabacloud-oss-v2",)}
# The SDK each secret store a setting may name needs (shared/secret_stores/; ``--secrets``).
SECRET_STORE_SDKS: dict[str, tuple[str, ...]] = {
    "secretsmanager": ("boto3",), "ssm": ("boto3",),
    "tencent-ssm": ("tencentcloud-sdk-python-ssm",)}


@dataclass(frozen=True)
class Selection:
    """What a deployment uses, and the distributions that therefore stay out."""

    providers: tuple[str, ...]
    state: tuple[str, ...]
    destinations: tuple[str, ...]
    secret_stores: tuple[str, ...]
    left_out: frozenset[str]  # distribution names, as in pyproject.toml

    def requirements(self, provided: tuple[str, ...]) -> list[str]:
        """The requirements to install for a runtime that already has the top-level
        packages ``provided`` (what they pull in comes from the lock: deploy/lockfile.py)."""
        return [r for r in runtime_requirements()
                if dist_name(r) not in {p.replace("_", "-") for p in provided}
                and dist_name(r) not in self.left_out]


def select(providers: tuple[str, ...] | None = None, state: tuple[str, ...] | None = None,
           destinations: tuple[str, ...] | None = None,
           secret_stores: tuple[str, ...] | None = None) -> Selection:
    """Check the names (None: all of them; ``secret_stores=()``: none) against the tables."""
    chosen = tuple(providers or PROVIDER_SDKS)
    unknown = [p for p in chosen if p not in PROVIDER_SDKS]
    if unknown:
        raise SystemExit(f"unknown provider {unknown[0]!r} (have: {', '.join(PROVIDER_SDKS)})")
    left_sdks = {sdk for name, sdks in PROVIDER_SDKS.items() if name not in chosen
                 for sdk in sdks}
    stores = _choose("state", state, STATE_DRIVERS)
    dests = _choose("destination", destinations, DESTINATION_DRIVERS)
    vaults = () if secret_stores == () else _choose("secret store", secret_stores,
                                                    SECRET_STORE_SDKS)
    needed = {d for k in stores for d in STATE_DRIVERS[k]}
    needed |= {d for k in dests for d in DESTINATION_DRIVERS[k]}
    needed |= {d for k in vaults for d in SECRET_STORE_SDKS[k]}
    left_sdks |= {d for table in (STATE_DRIVERS, DESTINATION_DRIVERS, SECRET_STORE_SDKS)
                  for drivers in table.values() for d in drivers} - needed
    return Selection(chosen, stores, dests, tuple(vaults), frozenset(left_sdks))


def _choose(what: str, picked: tuple[str, ...] | None,
            table: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    chosen = tuple(picked or table)
    unknown = [p for p in chosen if p not in table]
    if unknown:
        raise SystemExit(f"unknown {what} {unknown[0]!r} (have: {', '.join(table)})")
    return chosen


PARQUET_EXTRA = "parquet"  # pyproject.toml's extra a package built --with-parquet carries


def _project(pyproject: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        import tomli as tomllib  # type: ignore[no-redef]
    project: dict[str, Any] = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    return project


def runtime_requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    return list(_project(pyproject)["dependencies"])


def extra_requirements(extra: str, pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The requirements of one of ``pyproject.toml``'s extras (``parquet``)."""
    return list(_project(pyproject)["optional-dependencies"][extra])


def dist_name(requirement: str) -> str:
    name = requirement
    for stop in "[<>=!~; ":
        name = name.split(stop, 1)[0]
    return name.strip().lower().replace("_", "-")
