"""A destination's write options: the bucket's protections every object Courier writes
there is asked to carry (plain values, no I/O).

``COURIER_DESTINATION_WRITE`` (JSON) holds them for the deployment's own destination, a
named destination's ``write`` object (``COURIER_DESTINATIONS``) for that one::

    {"sse": "kms", "kms_key_id": "arn:aws:kms:…:key/…", "storage_class": "STANDARD_IA",
     "tags": {"team": "data"}, "retention": {"mode": "GOVERNANCE", "days": 30}}

* ``sse``: ``AES256`` (keys the store manages: SSE-S3, SSE-COS, SSE-OSS) or ``kms``
  (SSE-KMS; also spelt ``aws:kms``, ``cos/kms`` or OSS's ``KMS``), with ``kms_key_id`` for a
  key of the user's own;
* ``storage_class``: the store's own name for it (S3 ``STANDARD_IA``, COS ``MAZ_STANDARD``,
  OSS ``IA``, …), which the store checks; not an archive class (its objects cannot be read
  back);
* ``tags``: up to 9 object tags (S3, COS and OSS take 10 per object; Courier keeps the
  object's MD5 in the tag ``md5`` where it learns it only after the upload);
* ``retention``: S3 Object Lock, ``mode`` ``GOVERNANCE`` or ``COMPLIANCE`` and either
  ``days`` (from each object's writing) or ``until`` (an ISO 8601 time with its zone).

:func:`write_options` reads them (errors name ``<setting>.<field>``); :func:`check_backend`
refuses an option a kind of store cannot honour, naming it. The object stores apply them to
every write (uploads, multipart starts, server-side copies) and check them on the stored
object (:mod:`shared.storage.protection`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.errors import ConfigError
from shared.fleet import NamedDestination
from shared.setting_values import parse_destination

FIELDS = ("sse", "kms_key_id", "storage_class", "tags", "retention")
SSE_NAMES = {"aes256": "AES256", "sse-s3": "AES256", "sse-cos": "AES256", "sse-oss": "AES256",
             "kms": "kms", "aws:kms": "kms", "cos/kms": "kms", "sse-kms": "kms"}
LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")
MAX_TAGS = 9  # S3, COS and OSS: 10 tags per object, one left for Courier's md5 tag
RESERVED_TAGS = frozenset({"md5"})
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
TAG_CHARS = re.compile(r"^[\w\s+\-=.:/@]*$")  # S3's and COS's allowed tag characters
# a kind of store that takes fewer tag characters: OSS names no @ ("letters, digits, spaces,
# and + - = . _ : /", its object tagging rules)
TAG_CHARS_OF = {"oss": (re.compile(r"^[\w\s+\-=.:/]*$"), "+ - = . _ : /")}
STORAGE_CLASS = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")
# classes whose objects cannot be read before a restore (S3 GLACIER and DEEP_ARCHIVE, COS
# ARCHIVE and DEEP_ARCHIVE, OSS Archive, ColdArchive and DeepColdArchive)
ARCHIVE_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE", "ARCHIVE", "COLDARCHIVE",
                             "DEEPCOLDARCHIVE"})
MAX_RETENTION_DAYS = 36500
# what each kind of destination can honour (a scheme not listed: nothing)
SUPPORTED = {
    "s3": frozenset(FIELDS),
    "cos": frozenset({"sse", "kms_key_id", "storage_class", "tags"}),
    "oss": frozenset({"sse", "kms_key_id", "storage_class", "tags"}),
    "file": frozenset(),
}
_WHY_NOT = {
    ("cos", "retention"): "COS has no per-object retention (its object lock is a bucket "
                          "setting); remove it, or lock the bucket itself",
    ("oss", "retention"): "OSS locks objects with a bucket's retention policy (WORM), set on "
                          "the bucket, not by the writer of each object (its object-level "
                          "retention is by invitation only and not written by Courier); "
                          "remove it, or give the bucket a retention policy",
    ("file", None): "a local folder keeps no encryption, storage class, tags or retention; "
                    "remove the option (or write to a bucket)",
}


@dataclass(frozen=True)
class Retention:
    """S3 Object Lock retention: ``mode`` until ``until``, or for ``days`` from writing."""

    mode: str
    days: int | None = None
    until: datetime | None = None

    def retain_until(self, now: datetime) -> datetime:
        """When an object written at ``now`` may go, to the second."""
        end = self.until if self.until is not None else now + timedelta(days=self.days or 0)
        return end.astimezone(timezone.utc).replace(microsecond=0)

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode}
        if self.days is not None:
            out["days"] = self.days
        if self.until is not None:
            out["until"] = self.until.astimezone(timezone.utc).isoformat().replace(
                "+00:00", "Z")
        return out


@dataclass(frozen=True)
class WriteOptions:
    """What every object written to one destination must carry; ``setting`` names where
    the options came from, so an error can point at the field (``<setting>.<field>``)."""

    setting: str = ""
    sse: str | None = None  # "AES256" | "kms"
    kms_key_id: str | None = None
    storage_class: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    retention: Retention | None = None

    @property
    def empty(self) -> bool:
        return not self.asked()

    def asked(self) -> list[str]:
        """The fields set, in :data:`FIELDS` order."""
        return [name for name in FIELDS if getattr(self, name)]

    def where(self, name: str) -> str:
        """``<setting>.<field>``: how errors name an option."""
        return f"{self.setting}.{name}" if self.setting else name

    def record(self) -> dict[str, Any]:
        """The options as JSON (for ``manifest.json`` and the export's destination)."""
        out: dict[str, Any] = {}
        if self.sse:
            out["sse"] = self.sse
        if self.kms_key_id:
            out["kms_key_id"] = self.kms_key_id
        if self.storage_class:
            out["storage_class"] = self.storage_class
        if self.tags:
            out["tags"] = dict(self.tags)
        if self.retention is not None:
            out["retention"] = self.retention.record()
        return out


NO_OPTIONS = WriteOptions()


def write_options(setting: str, raw: Any, now: datetime | None = None) -> WriteOptions:
    """The write options ``raw`` (a JSON object, or None for none) holds; ConfigError naming
    ``<setting>.<field>`` when one is wrong. ``now``: a retention ``until`` must be after it."""
    if raw is None:
        return WriteOptions(setting=setting)
    if not isinstance(raw, dict):
        raise ConfigError(f"{setting}: must be a JSON object of write options "
                          f"({', '.join(FIELDS)})")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ConfigError(f"{setting}.{unknown[0]}: unknown write option (known: "
                          f"{', '.join(FIELDS)})")
    sse = _sse(setting, raw.get("sse"))
    kms_key_id = raw.get("kms_key_id")
    if kms_key_id is not None:
        if not isinstance(kms_key_id, str) or not kms_key_id.strip() or len(kms_key_id) > 2048:
            raise ConfigError(f"{setting}.kms_key_id: must be the KMS key's id or ARN (text)")
        if sse != "kms":
            raise ConfigError(f"{setting}.kms_key_id: a KMS key needs \"sse\": \"kms\"")
        if "alias/" in kms_key_id:
            raise ConfigError(f"{setting}.kms_key_id: give the key's id or ARN, not an alias "
                              "(a stored object names its key, and Courier checks it)")
        kms_key_id = kms_key_id.strip()
    storage_class = raw.get("storage_class")
    if storage_class is not None:
        if not isinstance(storage_class, str) or not STORAGE_CLASS.match(
                storage_class.strip().upper()):
            raise ConfigError(f"{setting}.storage_class: must be a storage class name such "
                              "as STANDARD_IA or ARCHIVE")
        storage_class = storage_class.strip().upper()
        if storage_class in ARCHIVE_CLASSES:
            raise ConfigError(f"{setting}.storage_class: {storage_class} objects cannot be "
                              "read before a restore, and Courier reads what it writes (the "
                              "destination probe, unpacking, a resumed copy); write "
                              "STANDARD_IA (OSS: IA) or the like and let a lifecycle rule "
                              "archive them")
    return WriteOptions(setting=setting, sse=sse, kms_key_id=kms_key_id,
                        storage_class=storage_class, tags=_tags(setting, raw.get("tags")),
                        retention=_retention(setting, raw.get("retention"), now))


def _sse(setting: str, value: Any) -> str | None:
    if value is None:
        return None
    name = SSE_NAMES.get(value.strip().lower()) if isinstance(value, str) else None
    if name is None:
        raise ConfigError(f"{setting}.sse: must be \"AES256\" (keys the store manages) or "
                          "\"kms\" (a KMS key)")
    return name


def _tags(setting: str, value: Any) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    where = f"{setting}.tags"
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be an object of tag names and values")
    if len(value) > MAX_TAGS:
        raise ConfigError(f"{where}: at most {MAX_TAGS} tags (the stores take 10 per object "
                          "and Courier keeps one, md5)")
    out = []
    for key, text in value.items():
        if key.lower() in RESERVED_TAGS:
            raise ConfigError(f"{where}.{key}: the tag md5 is Courier's own")
        if not 1 <= len(key) <= MAX_TAG_KEY or not TAG_CHARS.match(key):
            raise ConfigError(f"{where}.{key}: a tag name is 1 to {MAX_TAG_KEY} letters, "
                              "digits, spaces and + - = . _ : / @")
        if not isinstance(text, str) or len(text) > MAX_TAG_VALUE or not TAG_CHARS.match(text):
            raise ConfigError(f"{where}.{key}: a tag value is text of at most "
                              f"{MAX_TAG_VALUE} letters, digits, spaces and + - = . _ : / @")
        out.append((key, text))
    return tuple(out)


def _retention(setting: str, value: Any, now: datetime | None) -> Retention | None:
    if value is None:
        return None
    where = f"{setting}.retention"
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be an object with mode and days or until")
    unknown = sorted(set(value) - {"mode", "days", "until"})
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown field (mode, days, until)")
    mode = value.get("mode")
    if not isinstance(mode, str) or mode.strip().upper() not in LOCK_MODES:
        raise ConfigError(f"{where}.mode: must be GOVERNANCE or COMPLIANCE")
    days, until = value.get("days"), value.get("until")
    if (days is None) == (until is None):
        raise ConfigError(f"{where}: give either days or until")
    if days is not None:
        if isinstance(days, bool) or not isinstance(days, int) or not (
                1 <= days <= MAX_RETENTION_DAYS):
            raise ConfigError(f"{where}.days: must be a whole number of days, 1 to "
                              f"{MAX_RETENTION_DAYS}")
        return Retention(mode.strip().upper(), days=days)
    try:
        when = datetime.fromisoformat(str(until).replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{where}.until: must be an ISO 8601 time such as "
                          "2030-01-01T00:00:00Z") from None
    if when.tzinfo is None:
        raise ConfigError(f"{where}.until: give the time zone (e.g. Z for UTC)")
    if when <= (now or datetime.now(timezone.utc)):
        raise ConfigError(f"{where}.until: is already past")
    return Retention(mode.strip().upper(), until=when.astimezone(timezone.utc))


def check_backend(options: WriteOptions, scheme: str) -> None:
    """ConfigError naming the first option a ``scheme`` destination cannot honour."""
    supported = SUPPORTED.get(scheme, frozenset())
    for name in options.asked():
        if name not in supported:
            why = _WHY_NOT.get((scheme, name)) or _WHY_NOT.get((scheme, None)) or (
                f"{scheme}:// destinations do not support it yet")
            raise ConfigError(f"{options.where(name)}: {why}")
    allowed = TAG_CHARS_OF.get(scheme)
    if allowed is not None:
        pattern, listed = allowed
        for key, text in options.tags:
            if not (pattern.match(key) and pattern.match(text)):
                raise ConfigError(f"{options.where('tags')}.{key}: {scheme}:// tag names and "
                                  f"values take letters, digits, spaces and {listed} only")


def named_write(setting: str, named: NamedDestination) -> WriteOptions:
    """The write options of a named destination (its ``write``, errors naming
    ``<setting>[<name>].write.<field>``)."""
    return write_options(f"{setting}[{named.name}].write", named.write or None)


def check_named_writes(setting: str, destinations: Iterable[NamedDestination],
                       cos_region: str | None) -> None:
    """Every named destination's write options read and honoured by its kind of store
    (at the cold start); ConfigError naming the first wrong one."""
    for named in destinations:
        scheme = parse_destination(f"{setting}[{named.name}].url", named.url, cos_region).scheme
        check_backend(named_write(setting, named), scheme)
