"""How ``courier`` shows things: rich tables and bars for people, JSON for scripts.

Results go to stdout, messages and errors to stderr, so ``courier … --json | jq`` works.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

TERMINAL_STATES = ("delivered", "failed", "cancelled")
STATE_STYLE = {"delivered": "green", "failed": "red", "cancelled": "dim", "copying": "cyan",
               "ready": "cyan", "submitted": "yellow", "accepted": "yellow"}


def console(stderr: bool = False) -> Console:
    """A console that, off a terminal (pipes, tests), neither wraps nor colours."""
    stream = sys.stderr if stderr else sys.stdout
    tty = stream.isatty()
    width = None if tty else int(os.environ.get("COLUMNS") or 200)
    return Console(file=stream, width=width, soft_wrap=not tty, highlight=False,
                   no_color=not tty or bool(os.environ.get("NO_COLOR")))


def emit_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, default=str), flush=True)


def emit_line(payload: Any) -> None:
    print(json.dumps(payload, default=str, separators=(",", ":")), flush=True)


def say(text: str) -> None:
    """A message for the person (stderr)."""
    print(text, file=sys.stderr, flush=True)


def mb(n: Any) -> str:
    if not isinstance(n, (int, float)):
        return "-"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def state_label(view: dict[str, Any]) -> Text:
    label = view.get("state", "?") + (f"/{view['stage']}" if view.get("stage") else "")
    return Text(label, style=STATE_STYLE.get(view.get("state", ""), ""))


def copy_of(view: dict[str, Any]) -> dict[str, Any]:
    dest = view.get("destination") or {}
    copy = dest.get("copy") if isinstance(dest, dict) else None
    return copy if isinstance(copy, dict) else {}


def copy_fraction(view: dict[str, Any]) -> tuple[int, int | None]:
    """(bytes done, bytes total) of the copy; a delivered export counts as all done."""
    copy = copy_of(view)
    dest = view.get("destination") or {}
    total = copy.get("bytes_total") or dest.get("size") or (view.get("result") or {}).get("size")
    done = copy.get("bytes_done") or 0
    if view.get("state") == "delivered" and isinstance(dest.get("size"), int):
        done = total = dest["size"]
    return int(done), int(total) if isinstance(total, (int, float)) and total else None


def bar(fraction: float, width: int) -> Text:
    """``━━━━━━────`` as one line of text (it never wraps inside a table cell)."""
    filled = max(0, min(width, round(fraction * width)))
    text = Text("━" * filled, style="green" if fraction >= 1 else "cyan")
    text.append("─" * (width - filled), style="dim")
    return text


def copy_bar(view: dict[str, Any], width: int = 10) -> Text:
    """The copy progress bar with ``done / total`` and the percentage, or ``-``."""
    done, total = copy_fraction(view)
    if not total and not done:
        return Text("-")
    fraction = done / total if total else 0.0
    text = bar(fraction, width)
    pct = f" {100 * fraction:.0f}%" if total else ""
    text.append(f" {mb(done)} / {mb(total)}{pct}")
    return text


def provider_bar(view: dict[str, Any], width: int = 8) -> Text:
    progress = view.get("progress")
    if not isinstance(progress, (int, float)):
        return Text("-")
    text = bar(progress / 100, width)
    text.append(f" {progress:.0f}%")
    return text


def where_landed(view: dict[str, Any]) -> str:
    dest = view.get("destination") or {}
    return str(dest.get("uri") or dest.get("key") or "-")


def exports_table(items: list[dict[str, Any]]) -> Table:
    from courier.client import age

    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("ID", "PROVIDER", "STATE", "PROVIDER %", "COPY", "CREATED", "NEXT CHECK"):
        table.add_column(name, no_wrap=True, min_width=len(name))
    table.add_column("DESTINATION", no_wrap=True, overflow="ellipsis", max_width=60)
    for v in items:
        key = (v.get("destination") or {}).get("key")
        table.add_row(v["id"], v.get("provider", ""), state_label(v), provider_bar(v),
                      copy_bar(v), age(v.get("created_at")),
                      age(v.get("next_check_at")) if v.get("next_check_at") else "-",
                      str(key) if key else "-")
    return table


def export_detail(v: dict[str, Any]) -> Group:
    from courier.client import age

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    done, total = copy_fraction(v)
    rows: list[tuple[str, Any]] = [
        ("id", v["id"]), ("provider", v.get("provider", "")), ("state", state_label(v)),
        ("provider progress", provider_bar(v, 30)), ("copy", copy_bar(v, 30)),
        ("created", f"{v.get('created_at')} ({age(v.get('created_at'))})"),
        ("updated", f"{v.get('updated_at')} ({age(v.get('updated_at'))})"),
    ]
    if v.get("next_check_at"):
        rows.append(("next check", f"{v['next_check_at']} ({age(v['next_check_at'])}); "
                     "`courier exports check ID` looks sooner"))
    copy = copy_of(v)
    if copy.get("throughput_mb_s") is not None:
        rows.append(("copy took", f"{copy.get('duration_s')} s at "
                     f"{copy.get('throughput_mb_s')} MB/s"))
    dest = v.get("destination") or {}
    if dest.get("uri"):
        rows.append(("destination", str(dest["uri"])))
    if dest.get("md5"):
        rows.append(("md5", str(dest["md5"])))
    if v.get("error"):
        err = v["error"]
        rows.append(("error", Text(f"{err.get('code', '')} {err.get('reason', '')}"
                                   f"{' (retryable)' if err.get('retryable') else ''}".strip(),
                                   style="red")))
    for i, part in enumerate(v.get("parts") or [], 1):  # a CLS window split at the cap
        logs = part.get("log_count")
        rows.append((f"part {i} of {len(v['parts'])}", (
            f"{part.get('status') or 'not created yet'}  {part.get('from')}..{part.get('to')}"
            f"  {f'{logs:,} logs' if isinstance(logs, int) else ''}"
            f"  {part.get('export_id') or ''}").rstrip()))
    if v.get("round"):
        rows.append(("retry round", str(v["round"])))
    if v.get("remote"):
        rows.append(("remote", json.dumps(v["remote"], default=str)))
    rows.append(("params", json.dumps(v.get("params"), default=str)))
    for name, value in rows:
        grid.add_row(name, value)
    return Group(grid)


def deliveries_table(items: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in ("DELIVERY", "EVENT", "STATE", "ATTEMPTS", "LAST", "NEXT", "ENDPOINT"):
        table.add_column(name, no_wrap=True)
    for d in items:
        tries = [a for a in d.get("attempts") or [] if "action" not in a]
        last = tries[-1] if tries else None
        last_text = ("-" if last is None else
                     f"HTTP {last['status']}" if last.get("status") else str(last.get("error")))
        table.add_row(d["id"], d.get("event_type", ""), d.get("state", ""),
                      str(d.get("attempt_count", len(tries))), last_text,
                      str(d.get("next_attempt_at") or "-"), d.get("endpoint", ""))
    return table
