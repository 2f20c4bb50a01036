"""Copy a result of several files (a :class:`SourceSet`), then list them in a manifest.

Every file is copied by :func:`~shared.storage.copy.copy_source` (server-side where the
store can, verified, skipped if it already landed) into the export's folder — the folder of
the manifest's key — under its own relative name, in the set's order. Each finished file is
journalled (``journal.files()`` / ``journal.file_done(entry)``, optional methods), so a copy
that was killed continues with the first file not yet done; the one in flight resumes from
its recorded parts as any single copy does.

The manifest (``manifest.json`` beside the files) is written last::

    {"export_id": …, "provider": …,
     "objects": [{"name": "000-app/stream-a/000000.gz",
                  "key": "…/000-app/stream-a/000000.gz", "size": 812, "md5": "…"}, …],
     "totals": {"objects": 2, "bytes": 1624}}

``name`` is the file's name in the result as the provider gave it, ``key`` where it was
stored. Its presence means every object listed in it is in place and verified.

Keys never collide (:func:`object_keys`): a file's key is its name made safe (each segment as
:func:`~shared.storage.keys.sanitize_file_name` makes a file name: ``.`` and ``..`` become
``_``, long segments are shortened); when that key is already taken — by the manifest or by
an earlier file of the set — the file gets ``-2`` (``-3``, …) before its extension, the first
number whose key no file of the set and not the manifest uses. So ``app/../x``, ``app/./x``
and ``app/_/x`` land at ``app/_/x``, ``app/_/x-2`` and ``app/_/x-3``, and a file named
``manifest.json`` at ``manifest-2.json``.

Members of an archive come one at a time (a ``.tar.gz`` is read front to back), so their
keys follow the same rule with one difference (:class:`KeyAllocator`): a key is checked
against the manifest's and those given out before it only, as later names are not known yet.
The keys depend only on the names and their order, so an unpacking that resumes finds the
same ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from shared.errors import IntegrityError
from shared.keys import check_key, fit_name, sanitize_file_name, split_extension
from shared.model import SourceSet
from shared.storage.base import ObjectStore

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class SetResult:
    """What a set copy made; ``key``/``uri``/``md5`` are the manifest's, ``size`` the bytes
    of all objects and ``parts`` their number (read as a single copy's result is)."""

    key: str
    uri: str
    size: int
    md5: str
    parts: int
    manifest_size: int
    objects: list[dict[str, Any]] = field(default_factory=list)
    server_side: bool = False


def object_key(manifest_key: str, name: str) -> str:
    """The key of the file ``name`` (a relative path) beside ``manifest_key``."""
    folder = manifest_key.rsplit("/", 1)[0] if "/" in manifest_key else ""
    segments = [sanitize_file_name(part, fallback="_") for part in name.split("/") if part]
    return check_key("/".join(filter(None, [folder, *segments])) or "file", "key")


def object_keys(manifest_key: str, names: list[str]) -> list[str]:
    """The key of each of ``names``, in order, none used twice and none the manifest's (see
    the module doc for the rule)."""
    natural = [object_key(manifest_key, name) for name in names]
    reserved = {manifest_key, *natural}
    taken = {manifest_key}
    keys: list[str] = []
    for key in natural:
        candidate, n = key, 1
        while candidate in taken or (n > 1 and candidate in reserved):
            n += 1
            candidate = _numbered(key, n)
        taken.add(candidate)
        keys.append(candidate)
    return keys


class KeyAllocator:
    """Keys for names that come one at a time (see the module doc)."""

    def __init__(self, manifest_key: str) -> None:
        self.manifest_key = manifest_key
        self.taken = {manifest_key}

    def next(self, name: str) -> str:
        natural = object_key(self.manifest_key, name)
        candidate, n = natural, 1
        while candidate in self.taken:
            n += 1
            candidate = _numbered(natural, n)
        self.taken.add(candidate)
        return candidate


def _numbered(key: str, n: int) -> str:
    folder, _, name = key.rpartition("/")
    stem, ext = split_extension(name)
    return check_key("/".join(filter(None, [folder, fit_name(f"{stem}-{n}{ext}")])), "key")


def copy_set(sources: SourceSet, store: ObjectStore, manifest_key: str, *,
             journal: Any = None, export_id: str = "", provider: str = "",
             metadata: dict[str, str] | None = None, **copy_args: Any) -> SetResult:
    """Copy every file of ``sources`` beside ``manifest_key``, then write the manifest."""
    from shared.storage.copy import copy_source

    done = {e["key"]: e for e in (_call(journal, "files") or [])}
    entries: list[dict[str, Any]] = []
    all_server_side = bool(sources.items)
    names = [source.file_name or f"part-{i:05d}" for i, source in enumerate(sources.items)]
    for source, name, key in zip(sources.items, names, object_keys(manifest_key, names)):
        entry = done.get(key)
        if entry is None or entry.get("name") != name:
            result = copy_source(source, store, key, journal=journal,
                                 metadata=dict(metadata or {}), **copy_args)
            entry = {"name": name, "key": result.key, "size": result.size, "md5": result.md5,
                     "server_side": result.server_side}
            _call(journal, "file_done", entry)
        all_server_side = all_server_side and bool(entry.get("server_side"))
        entries.append(entry)
    total = sum(int(e["size"]) for e in entries)
    listed = [{"name": e["name"], "key": e["key"], "size": e["size"], "md5": e["md5"]}
              for e in entries]
    body = json.dumps({"export_id": export_id, "provider": provider, "objects": listed,
                       "totals": {"objects": len(listed), "bytes": total},
                       **protection_entry(store)}, indent=2, sort_keys=True).encode()
    md5 = hashlib.md5(body).hexdigest()  # noqa: S324 - an integrity check, not security
    info = store.put_object(manifest_key, body, {**(metadata or {}), "md5": md5})
    if info.size != len(body):
        raise IntegrityError(f"the manifest holds {info.size} bytes, expected {len(body)}")
    return SetResult(key=manifest_key, uri=store.uri(manifest_key), size=total, md5=md5,
                     parts=len(entries), manifest_size=len(body), objects=listed,
                     server_side=all_server_side)


def protection_entry(store: ObjectStore) -> dict[str, Any]:
    """The manifest's ``protection``: the write options every object listed (and the
    manifest itself) was written with and checked to carry; nothing when none were asked."""
    asked = store.protection()
    return {"protection": {**asked, "verified": "head"}} if asked else {}


def _call(journal: Any, method: str, *args: Any) -> Any:
    fn = getattr(journal, method, None)
    return fn(*args) if callable(fn) else None
