"""Events as chat messages: one event in full, or several as one digest; cut to a size.

The text is the markdown subset the three platforms share (bold, links, inline code, list
lines). :func:`compose` says what happened, the export, provider, window, size, where the
file is and the status page, and for a failure the reason and what to do; :func:`fit` cuts
it on a line to a byte limit, with a note, so a message is never refused for its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from shared.clock import from_iso

CUT_NOTE = "\n… (cut to fit the chat platform's limit: see the status page for the rest)"
DIGEST_LINES = 40  # events listed one a line in a digest; the rest are counted


@dataclass
class Reply:
    """What a platform answered: ``code`` 0 is success; ``wait_s`` set means throttled."""

    code: int | None
    message: str
    wait_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass
class Event:
    payload: dict[str, Any]  # the webhook payload: type, timestamp, data
    params: dict[str, Any] | None = None  # the export's parameters (for its window)

    @property
    def type(self) -> str:
        return str(self.payload.get("type") or "event")

    @property
    def data(self) -> dict[str, Any]:
        data = self.payload.get("data")
        return data if isinstance(data, dict) else {}


TITLES = {"export.delivered": "Export delivered", "export.failed": "Export failed",
          "export.cancelled": "Export cancelled", "export.waiting": "Export waiting",
          "export.stuck": "Export stuck",
          "endpoint.disabled": "Endpoint disabled", "endpoint.recovered": "Endpoint recovered",
          "delivery.dead_lettered": "Delivery dead-lettered"}
VERBS = {"export.delivered": "delivered", "export.failed": "failed",
         "export.cancelled": "cancelled", "export.waiting": "waiting", "export.stuck": "stuck"}


def size_text(size: Any) -> str | None:
    if not isinstance(size, (int, float)) or isinstance(size, bool):
        return None
    value, unit = float(size), "bytes"
    for unit_name in ("KB", "MB", "GB", "TB"):
        if value < 1024:
            break
        value, unit = value / 1024, unit_name
    return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


# the window's start and end, as the providers name them in their parameters
WINDOW_KEYS = (("From", "To"), ("StartTime", "EndTime"), ("from", "to"),
               ("start_time", "end_time"), ("startTime", "endTime"))


def _when(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value  # ms or s
        at = datetime.fromtimestamp(seconds, tz=timezone.utc)
    elif isinstance(value, str) and value.strip():
        parsed = from_iso(value) if "T" in value else None
        if parsed is None:
            return value.strip()[:40]
        at = parsed
    else:
        return None
    return at.strftime("%Y-%m-%d %H:%M UTC")


def window_text(params: dict[str, Any] | None) -> str | None:
    for start, end in WINDOW_KEYS:
        if params and start in params and end in params:
            a, b = _when(params[start]), _when(params[end])
            if a and b:
                return f"{a} → {b}"
    return None


def what_to_do(data: dict[str, Any]) -> str:
    if data.get("retryable"):
        return (f"it may pass on a second try: POST /exports/{data.get('export_id')}/retry "
                "(or courier exports retry)")
    return "fix the cause named above, then create the export again"


def _lines(event: Event, public_url: str | None) -> list[str]:
    d = event.data
    rows: list[tuple[str, Any]] = []
    if event.type.startswith("export."):
        rows += [("export", f"`{d.get('export_id')}`"), ("provider", d.get("provider")),
                 ("account", d.get("account")), ("window", window_text(event.params)),
                 ("size", size_text(d.get("size")))]
        if d.get("uri"):
            rows.append(("destination", f"`{d['uri']}`"))
        if d.get("download_url"):
            rows.append(("download", f"[link]({d['download_url']}) (expires)"))
        if event.type in ("export.failed", "export.cancelled"):
            rows += [("reason", d.get("reason")), ("code", d.get("code"))]
        if event.type == "export.failed":
            rows.append(("what to do", what_to_do(d)))
        rows += _still(event.type, d)
    else:
        rows += [(k.replace("_", " "), v) for k, v in d.items()
                 if k not in ("endpoint_id",) and v is not None]
    lines = [f"**{title_of(event)}**"]
    lines += [f"- {k}: {v}" for k, v in rows if v not in (None, "", "`None`")]
    if public_url:
        lines.append(f"- [status page]({public_url}/ui)")
    return lines


def _still(event_type: str, d: dict[str, Any]) -> list[tuple[str, Any]]:
    """The rows of an export that stopped moving (stuck) or still waits (a reminder)."""
    if event_type == "export.stuck":
        where = d.get("state") if not d.get("stage") else f"{d.get('state')} ({d['stage']})"
        return [("where it is", where),
                ("progress", f"{d['progress']} %" if d.get("progress") is not None else None),
                ("no progress since", _since(d.get("stalled_since"), d.get("stuck_after_s"))),
                ("last error", d.get("last_error")), ("what to do", d.get("what_to_do"))]
    if event_type == "export.waiting":
        return [("reason", d.get("reason")),
                ("waiting since", _since(d.get("waiting_since"))),
                ("what to do", d.get("what_to_do"))]
    return []


def _since(at: Any, after_s: Any = None) -> str | None:
    when = _when(at)
    if when is None:
        return None
    if isinstance(after_s, (int, float)) and not isinstance(after_s, bool) and after_s:
        return f"{when} (stuck after {after_s / 3600:g} h)"
    return when


def title_of(event: Event) -> str:
    """The event's title: an ``export.waiting`` told again says which reminder it is."""
    reminder = event.data.get("reminder")
    if event.type == "export.waiting" and isinstance(reminder, int) and reminder:
        return f"Export still waiting (reminder {reminder})"
    return TITLES.get(event.type, event.type)


def _span(events: list[Event]) -> str:
    times = [t for t in (from_iso(e.payload.get("timestamp")) for e in events) if t]
    minutes = (max(times) - min(times)).total_seconds() / 60 if times else 0
    return "the last minute" if minutes <= 1 else f"the last {int(minutes + 0.999)} minutes"


def _digest_line(event: Event) -> str:
    d = event.data
    verb = VERBS.get(event.type, event.type)
    bits = [f"- {verb} `{d.get('export_id') or d.get('delivery_id') or d.get('endpoint')}`"]
    bits += [str(v) for v in (d.get("provider"), size_text(d.get("size"))) if v]
    if event.type == "export.failed" and d.get("reason"):
        bits.append(f"— {d['reason']}")
    return " ".join(bits)


def compose(events: list[Event], public_url: str | None = None) -> tuple[str, str]:
    """``(title, markdown)`` for one event, or a digest of several."""
    if len(events) == 1:
        lines = _lines(events[0], public_url)
        return title_of(events[0]), "\n".join(lines)
    counts: dict[str, int] = {}
    for e in events:
        counts[e.type] = counts.get(e.type, 0) + 1
    if len(counts) == 1 and events[0].type in VERBS:
        title = f"{len(events)} exports {VERBS[events[0].type]} in {_span(events)}"
    else:
        parts = ", ".join(f"{n} {VERBS.get(t, t)}" for t, n in counts.items())
        title = f"{len(events)} events in {_span(events)} ({parts})"
    lines = [f"**{title}:**", *(_digest_line(e) for e in events[:DIGEST_LINES])]
    if len(events) > DIGEST_LINES:
        lines.append(f"- … and {len(events) - DIGEST_LINES} more")
    if public_url:
        lines.append(f"- [status page]({public_url}/ui)")
    return title, "\n".join(lines)


def fit(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-8 bytes: cut on a line (or a character) with a note."""
    if len(text.encode()) <= limit:
        return text
    room = limit - len(CUT_NOTE.encode())
    out = text.encode()[:room].decode("utf-8", errors="ignore")
    if "\n" in out:
        out = out[:out.rindex("\n")]
    return out + CUT_NOTE
