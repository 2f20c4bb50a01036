"""The lock files a package installs from (:mod:`deploy.package`; written by ``make lock``).

One lock per deployment target and Python, ``deploy/locks/<target>-py<python>.txt``: every
runtime dependency of ``pyproject.toml`` and everything they pull in, resolved for that
Python on ``manylinux2014_x86_64``, each pinned with ``==`` and the SHA-256 of every file
PyPI publishes for that version. A package that leaves some SDKs out installs the part of
the lock its own requirements reach, following the lock's ``# via`` notes; nothing is
resolved again at build time, and pip refuses a file whose hash the lock does not list.
The ``parquet`` extra (DuckDB, for packages built ``--with-parquet``) has a lock of its own
per target, ``<target>-py<python>-parquet.txt``, wheels only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "deploy" / "locks"
# The build backend for the dependencies published only as source (deploy/wheels.py), pinned
# so their wheels come out the same on every machine.
BUILD_LOCK = LOCKS / "build.txt"
ROOT_MARK = "export-courier"  # ``# via export-courier (pyproject.toml)``: a direct dependency
REFRESH = "make lock"
# The first release past a published advisory, for what the packages carry (directly or
# pulled in): a lock that pins an older one is refused. pyproject.toml holds our direct
# dependencies to the same floors.
ADVISORY_FLOORS = {
    "requests": ("2.32.4", "CVE-2024-47081"),
    "pymysql": ("1.1.1", "CVE-2024-36039"),
    "urllib3": ("2.6.3", "CVE-2026-21441"),
    "aiohttp": ("3.12.14", "CVE-2025-53643"),
    "cryptography": ("44.0.1", "CVE-2024-12797"),
    "pycryptodome": ("3.19.1", "CVE-2023-52323"),
    "idna": ("3.7", "CVE-2024-3651"),
    "certifi": ("2024.7.4", "CVE-2024-39689"),
    "setuptools": ("78.1.1", "CVE-2025-47273"),  # the build backend (build.txt)
}


@dataclass(frozen=True)
class Pin:
    name: str  # normalised (PEP 503)
    version: str
    text: str  # the lock's lines for it: ``name==version \ --hash=sha256:…``
    via: frozenset[str]  # normalised names of what needs it; ROOT_MARK for pyproject.toml


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def lock_path(target: str, python: str, extra: str | None = None) -> Path:
    """``<target>-py<python>.txt``; an extra's own lock (``--with-parquet``) beside it as
    ``<target>-py<python>-<extra>.txt``, so the core lock and package stay as they were."""
    return LOCKS / f"{target}-py{python}{'-' + extra if extra else ''}.txt"


def read(path: Path) -> dict[str, Pin]:
    """The pins of a lock written by ``uv pip compile --generate-hashes`` (with its notes)."""
    if not path.is_file():
        raise SystemExit(f"no lock file {path.relative_to(ROOT)}: run `{REFRESH}` (another "
                         "Python: python deploy/lock.py --target NAME --python-version X.Y)")
    pins: dict[str, Pin] = {}
    entry: list[str] = []
    via: list[str] = []

    def close() -> None:
        if not entry:
            return
        head = entry[0].split(";", 1)[0].split("\\", 1)[0].strip()
        name, _, version = head.partition("==")
        if not version:
            raise SystemExit(f"{path.name}: {head!r} is not pinned with == (run `{REFRESH}`)")
        text = "\n".join(line for line in entry if not line.lstrip().startswith("#"))
        if "--hash=sha256:" not in text:
            raise SystemExit(f"{path.name}: {name} carries no hash (run `{REFRESH}`)")
        parents = {normalise(v.split("(", 1)[0]) for v in via if v.strip()}
        pins[normalise(name)] = Pin(normalise(name), version.strip(), text, frozenset(parents))
        entry.clear()
        via.clear()

    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not line[0].isspace() and not line.startswith("#"):
            close()
            entry.append(line)
        elif entry and stripped.startswith("# via"):
            via.append(stripped[len("# via"):])
        elif entry and stripped.startswith("#   "):
            via.append(stripped[1:])
        elif entry and not stripped.startswith("#"):
            entry.append(line)
    close()
    for pin in pins.values():
        _above_advisories(pin, path)
    return pins


def _above_advisories(pin: Pin, path: Path) -> None:
    from packaging.version import Version

    floor = ADVISORY_FLOORS.get(pin.name)
    if floor and Version(pin.version) < Version(floor[0]):
        raise SystemExit(f"{path.name} pins {pin.name}=={pin.version}, below {floor[0]} "
                         f"({floor[1]}): run `{REFRESH} LOCK_ARGS=--upgrade`; a pin that "
                         "stays is held back by pyproject.toml or the runtime's Python")


def reach(pins: dict[str, Pin], wanted: list[str], python: str) -> list[Pin]:
    """The pins the requirements ``wanted`` (``pyproject.toml`` lines) need on a runtime of
    ``python``: theirs and, repeatedly, every pin that a pin already in needs. Sorted by
    name. A lock that misses one of them or pins a version outside its range is refused."""
    from packaging.requirements import Requirement

    needed: set[str] = set()
    for line in wanted:
        requirement = Requirement(line)
        if requirement.marker and not requirement.marker.evaluate(_runtime(python)):
            continue
        name = normalise(requirement.name)
        pin = pins.get(name)
        if pin is None or not requirement.specifier.contains(pin.version, prereleases=True):
            found = f"pins {name}=={pin.version}" if pin else f"pins no {name}"
            raise SystemExit(f"the lock {found}, but pyproject.toml asks for {line!r}: run "
                             f"`{REFRESH}`")
        needed.add(name)
    grew = True
    while grew:
        more = {p.name for p in pins.values() if p.name not in needed and p.via & needed}
        needed |= more
        grew = bool(more)
    return [pins[name] for name in sorted(needed)]


def _runtime(python: str) -> dict[str, str]:
    """The environment markers of the platform runtime (CPython ``python`` on Linux x86_64)."""
    return {"python_version": python, "python_full_version": f"{python}.0",
            "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
            "platform_machine": "x86_64", "implementation_name": "cpython",
            "platform_python_implementation": "CPython"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
