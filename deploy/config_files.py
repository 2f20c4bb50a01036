"""The settings files ``deploy/package.py --settings`` puts in a package's ``config/``.

A JSON setting too big for the platforms' 4 KB environment (``COURIER_SCHEDULES``,
``COURIER_WEBHOOK_ENDPOINTS``) then names its file: ``file:config/schedules.json``, read at
cold start relative to the package root (shared/secret_stores/resolve.py).
"""

from __future__ import annotations

import json
from pathlib import Path

CONFIG_DIR = "config"


def config_files(paths: tuple[Path, ...]) -> dict[str, Path]:
    """``config/<name>`` -> source for every ``--settings`` file (a folder: the JSON files in
    it, by their path inside it); each must be valid JSON, and no two may share a name."""
    found: dict[str, Path] = {}
    for given in paths:
        if given.is_dir():
            pairs = [(p.relative_to(given).as_posix(), p) for p in sorted(given.rglob("*.json"))]
        elif given.is_file():
            pairs = [(given.name, given)]
        else:
            raise SystemExit(f"--settings {given}: no such file or folder")
        for name, path in pairs:
            try:
                json.loads(path.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise SystemExit(f"--settings {path}: not valid JSON") from None
            key = f"{CONFIG_DIR}/{name}"
            if key in found:
                raise SystemExit(f"--settings: two files would be {key} ({found[key]}, {path})")
            found[key] = path
    return found
