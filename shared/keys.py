"""Destination keys: render the operator's key template and keep every key inside the store.

A template such as ``exports/{provider}/{yyyy}/{mm}/{dd}/{export_id}/{file_name}`` is filled
in with :func:`render_key`. Templates come from configuration, file names from providers:
neither may climb out of the destination prefix, so both are checked here.

* The template may use only the placeholders in :data:`PLACEHOLDERS`; ``{{``/``}}`` give
  literal braces.
* The rendered key is relative, uses ``/`` only, and has no empty, ``.`` or ``..`` segment
  (:func:`check_key`), else :class:`~shared.errors.ValidationError` on ``key_template``.
* The provider's file name is reduced to its last path component and stripped of control
  characters (:func:`sanitize_file_name`) before it is put in.
* A name longer than :data:`MAX_NAME_BYTES` (UTF-8) is shortened by one rule
  (:func:`fit_name`): its stem is cut at a character boundary and ``~`` plus 8 hex digits of
  the SHA-256 of the whole name are added before its extension (``.csv``, ``.tar.gz``), so
  two long names that share a beginning stay apart. File systems take 255 bytes a name, and
  the folder destination adds up to 19 for its temporary and sidecar files; the rule applies
  to every destination, so a key does not depend on where it lands. The original name is
  kept with the export (and listed in a several-file manifest).

Placeholders from the export's data (:class:`DataWindow`, which each provider fills in):
``{dt}`` (the window's start date, ``YYYY-MM-DD``) and ``{hour}`` (``HH``), both in the
schedule's time zone or UTC; ``{window_start}`` / ``{window_end}`` (ISO 8601 basic,
``20261206T030000Z`` or ``…+0800``); ``{source}`` (topic, instance, log group, database,
action or tenant); ``{account}`` and ``{region}`` (``unknown`` where the provider cannot
tell). They are rendered once per export, so every file of one export lands under the same
partition (:func:`partition_span` says which placeholders cut time finer than a window).
"""

from __future__ import annotations

import hashlib
import re
import string
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from shared.errors import ValidationError

CLOCK_PLACEHOLDERS = frozenset({"provider", "export_id", "file_name", "yyyy", "mm", "dd",
                                "hh"})
DATA_PLACEHOLDERS = frozenset({"dt", "hour", "window_start", "window_end", "source",
                               "account", "region"})
PLACEHOLDERS = CLOCK_PLACEHOLDERS | DATA_PLACEHOLDERS
# How much time one partition of each time placeholder holds: a window longer than that
# would put rows of several partitions under one.
PARTITION_SPANS = {"hour": timedelta(hours=1), "dt": timedelta(days=1)}
UNKNOWN = "unknown"


@dataclass(frozen=True)
class DataWindow:
    """The data an export holds: its time window (``start`` ≤ rows < ``end``, aware
    datetimes), the time zone its partitions are named in, and its source."""

    start: datetime
    end: datetime
    source: str | None = None
    account: str | None = None
    region: str | None = None
    tz: tzinfo = timezone.utc


def partition_span(template: str) -> tuple[str, timedelta] | None:
    """The finest time placeholder of ``template`` and the span one of its partitions
    holds, or None when the template has no such placeholder."""
    names = {name for _lit, name, _spec, _conv in _formatter.parse(template) if name}
    spans = [(PARTITION_SPANS[n], n) for n in names if n in PARTITION_SPANS]
    if not spans:
        return None
    span, name = min(spans)
    return name, span
MAX_KEY_BYTES = 1024  # S3 and COS both cap object keys at 1024 bytes (UTF-8)
RESERVED_PREFIXES = (".courier-",)  # the local store's staging and metadata folders
MAX_NAME_BYTES = 200  # a file name in a key (one path segment), UTF-8
_EXTENSION = re.compile(r"(?:\.[A-Za-z0-9]{1,10}){1,2}$")

_FIELD = "key_template"
_formatter = string.Formatter()


def sanitize_file_name(name: str | None, fallback: str = "export.dat") -> str:
    """The last path component of ``name`` without control characters; ``fallback`` if
    nothing usable is left (empty, ``.``, ``..``)."""
    text = "" if name is None else str(name)
    text = text.replace("\\", "/").rstrip("/")
    text = text.rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = text.strip()
    if text in ("", ".", "..") or text.startswith(RESERVED_PREFIXES):
        return fallback
    return fit_name(text)


def split_extension(name: str) -> tuple[str, str]:
    """(stem, extension) of a file name; the extension is up to two short alphanumeric
    suffixes (``.csv``, ``.tar.gz``), empty when there is none."""
    match = _EXTENSION.search(name)
    if match is None or match.start() == 0:
        return name, ""
    return name[:match.start()], match.group(0)


def fit_name(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """``name`` if it takes at most ``limit`` bytes in UTF-8, else shortened by the rule in
    the module doc: cut stem + ``~`` + 8 hex digits of the name's SHA-256 + extension."""
    raw = name.encode("utf-8")
    if len(raw) <= limit:
        return name
    stem, ext = split_extension(name)
    tag = "~" + hashlib.sha256(raw).hexdigest()[:8]
    room = limit - len(ext.encode()) - len(tag)
    return stem.encode("utf-8")[:room].decode("utf-8", "ignore") + tag + ext


def check_key(key: str, field: str = _FIELD) -> str:
    """``key`` if it is a safe relative object key, else :class:`ValidationError`."""
    if not isinstance(key, str) or not key:
        raise ValidationError(field, "the key is empty")
    if "\\" in key:
        raise ValidationError(field, "backslashes are not allowed in keys")
    if key.startswith("/") or re.match(r"^[A-Za-z]:", key):
        raise ValidationError(field, "the key must be relative, not an absolute path")
    if any(unicodedata.category(ch) == "Cc" for ch in key):
        raise ValidationError(field, "control characters are not allowed in keys")
    segments = key.split("/")
    for seg in segments:
        if seg == "":
            raise ValidationError(field, "empty path segments ('//' or a trailing '/') "
                                         "are not allowed")
        if seg in (".", ".."):
            raise ValidationError(field, "'.' and '..' segments are not allowed")
    if segments[0].startswith(RESERVED_PREFIXES):
        raise ValidationError(field, f"keys may not start with {RESERVED_PREFIXES[0]!r}")
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise ValidationError(field, f"the key is longer than {MAX_KEY_BYTES} bytes")
    return key


def check_template(template: str) -> None:
    """Refuse unknown placeholders, format specs and malformed braces."""
    if not isinstance(template, str) or not template.strip():
        raise ValidationError(_FIELD, "the key template is empty")
    try:
        parsed = list(_formatter.parse(template))
    except ValueError as exc:
        raise ValidationError(_FIELD, f"malformed template: {exc}") from exc
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            allowed = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
            raise ValidationError(_FIELD, f"unknown placeholder {{{name}}}; use {allowed}")
        if spec or conversion:
            raise ValidationError(_FIELD, f"placeholder {{{name}}} takes no format spec")


def render_key(template: str, *, provider: str, export_id: str, file_name: str | None,
               when: datetime, window: DataWindow | None = None) -> str:
    """Fill in ``template`` and return a checked relative key (no leading slash). Without a
    ``window`` the data placeholders take ``when`` as the window and ``unknown`` as source."""
    check_template(template)
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    data = window or DataWindow(start=when, end=when)
    start, end = data.start.astimezone(data.tz), data.end.astimezone(data.tz)
    values = {
        "provider": _segment_value("provider", provider),
        "export_id": _segment_value("export_id", export_id),
        "file_name": sanitize_file_name(file_name, fallback=f"{export_id}.dat"),
        "yyyy": f"{when.year:04d}",
        "mm": f"{when.month:02d}",
        "dd": f"{when.day:02d}",
        "hh": f"{when.hour:02d}",
        "dt": start.strftime("%Y-%m-%d"),
        "hour": start.strftime("%H"),
        "window_start": _basic(start),
        "window_end": _basic(end),
        "source": _data_value("source", data.source),
        "account": _data_value("account", data.account),
        "region": _data_value("region", data.region),
    }
    return check_key(template.format(**values))


def _basic(moment: datetime) -> str:
    """ISO 8601 basic format, ``Z`` for UTC: no ``:`` (awkward in paths and URLs)."""
    offset = moment.utcoffset()
    zone = "Z" if not offset else moment.strftime("%z")
    return moment.strftime("%Y%m%dT%H%M%S") + zone


def _data_value(name: str, value: str | None) -> str:
    """A source, account or region as one path segment: ``/`` (CloudWatch log groups) and
    other unsafe characters become ``_``; nothing known becomes ``unknown``."""
    text = "" if value is None else str(value)
    text = "".join("_" if ch in "/\\" or unicodedata.category(ch)[0] == "C" else ch
                   for ch in text).strip("_ ")
    if text in ("", ".", ".."):
        return UNKNOWN
    return fit_name(text)


def _segment_value(name: str, value: str) -> str:
    """Identifiers are single path segments: no slashes, no control characters."""
    text = str(value)
    if not text or "/" in text or "\\" in text or text in (".", "..") \
            or any(unicodedata.category(ch)[0] == "C" for ch in text):
        raise ValidationError(_FIELD, f"{name} {text!r} cannot be used in a key")
    return text


def window_fits(template: str, start: datetime, end: datetime, tz: tzinfo) -> str | None:
    """Why the window ``start``..``end`` does not fit in one partition of ``template``'s
    finest time placeholder (``{hour}``, ``{dt}``), or None when it does (or the template
    has none). An export is filed whole under its window's start: a window longer than a
    partition, or one that crosses a partition's edge (in ``tz``), would put rows of
    several partitions under one."""
    finest = partition_span(template)
    if finest is None or end <= start:
        return None
    name, span = finest
    local = start.astimezone(tz)
    edge = local.replace(minute=0, second=0, microsecond=0)
    if name == "dt":
        edge = edge.replace(hour=0)
    if end - start > span or end.astimezone(tz) > (edge + span):
        return (f"{{{name}}} names one {'hour' if name == 'hour' else 'day'}, but this window "
                f"({_basic(local)} to {_basic(end.astimezone(tz))}) spans more than one; "
                "Courier files an export whole under its window's start, so its rows would "
                f"sit in the wrong partition (no provider's files say which window they "
                f"hold): use a coarser placeholder or windows that fit within one")
    return None
