"""How ``courier`` shows things: rich tables and bars for people, JSON for scripts.

Results go to stdout, messages and errors to stderr, so ``courier … --json | jq`` works.

Every value that comes from a vendor or a caller (ids, params, file names, URLs, error texts)
is shown as plain text: table cells are rich ``Text`` objects, never markup strings, so
``[bold]`` or ``[/]`` in a value is shown as written; and control characters (escape
sequences that would retitle or clear the terminal, newlines that would forge a line) are
shown escaped, ``\x1b`` as the four characters ``\x1b``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

TERMINAL_STATES = ("delivered", "failed", "cancelled")
STATE_STYLE = {"delivered": "green", "failed": "red", "cancelled": "dim", "copying": "cyan",
               "ready": "cyan", "submitted": "yellow", "accepted": "yellow"}
# C0 controls, DEL, C1 controls, and the bidirectional overrides that reorder what is shown
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: Any) -> str:
    """``value`` as one line of text with every control character shown escaped."""
    return _CONTROL.sub(_escaped, str(value))


def plain(value: Any, style: str = "") -> Text:
    """``value`` as a table cell: plain text (never markup), control characters escaped."""
    return value if isinstance(value, Text) else Text(clean(value), style=style)


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
    """A message for the person (stderr), one line, control characters escaped."""
    print(clean(text), file=sys.stderr, flush=True)


def line(text: str) -> None:
    """A line of a result for people (stdout), control characters escaped."""
    print(clean(text), flush=True)


def mb(n: Any) -> str:
    if not isinstance(n, (int, float)):
        return "-"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def state_label(view: dict[str, Any]) -> Text:
    label = f"{view.get('state', '?')}" + (f"/{view['stage']}" if view.get("stage") else "")
    return plain(label, STATE_STYLE.get(str(view.get("state", "")), ""))


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


# The columns of ``courier exports list``, in order, with the rank by which they are dropped
# when the table is wider than the terminal (highest first). ID and STATE are never dropped.
EXPORT_COLUMNS = (("ID", 0), ("PROVIDER", 2), ("STATE", 0), ("PROVIDER %", 5), ("COPY", 4),
                  ("CREATED", 3), ("NEXT CHECK", 6), ("DESTINATION", 7))
GAP = 2  # between two columns (a borderless table pads each side of a cell by one)
DESTINATION_MIN = 16  # the destination column shrinks (with an ellipsis) down to this


def export_cells(v: dict[str, Any]) -> dict[str, Text]:
    from courier.client import age

    key = (v.get("destination") or {}).get("key")
    named = f"{v['destination_name']}: " if v.get("destination_name") else ""
    return {"ID": plain(v["id"]), "PROVIDER": plain(v.get("provider", "")),
            "STATE": state_label(v), "PROVIDER %": provider_bar(v), "COPY": copy_bar(v),
            "CREATED": plain(age(v.get("created_at"))),
            "NEXT CHECK": plain(age(v.get("next_check_at")) if v.get("next_check_at")
                                else "-"),
            "DESTINATION": plain(named + (key if key else "-"))}


def fitting_columns(rows: list[dict[str, Text]], width: int,
                    columns: tuple[tuple[str, int], ...] = EXPORT_COLUMNS,
                    shrinks: str = "DESTINATION") -> list[str]:
    """The ``columns`` (name, drop rank; 0: never dropped, shown whole) that fit ``width``
    cells, dropping the highest rank first; ``shrinks`` may be cut down to DESTINATION_MIN."""
    need = {name: max([len(name)] + [cell.cell_len for cell in (r[name] for r in rows)])
            for name, _ in columns}
    need[shrinks] = min(need[shrinks], DESTINATION_MIN)
    shown = [name for name, _ in columns]
    droppable = sorted((rank, name) for name, rank in columns if rank)
    while sum(need[n] for n in shown) + GAP * (len(shown) - 1) > width and droppable:
        shown.remove(droppable.pop()[1])
    return shown


def fitted_table(rows: list[dict[str, Text]], width: int | None,
                 columns: tuple[tuple[str, int], ...], shrinks: str) -> Table:
    """``rows`` under the columns that fit ``width`` (none: every column)."""
    shown = fitting_columns(rows, width, columns, shrinks) if width else [n for n, _ in columns]
    whole = {name for name, rank in columns if rank == 0}
    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in shown:
        if name == shrinks:
            table.add_column(name, no_wrap=True, overflow="ellipsis", max_width=60,
                             min_width=min(DESTINATION_MIN, len(name)))
        elif name in whole:  # shown whole
            table.add_column(name, no_wrap=True, min_width=max(
                [len(name)] + [r[name].cell_len for r in rows]))
        else:
            table.add_column(name, no_wrap=True, min_width=len(name))
    for row in rows:
        table.add_row(*(row[name] for name in shown))
    return table


def exports_table(items: list[dict[str, Any]], width: int | None = None) -> Table:
    """The exports as a table that fits ``width`` cells (none: every column)."""
    return fitted_table([export_cells(v) for v in items], width, EXPORT_COLUMNS,
                        "DESTINATION")


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
    if v.get("destination_name") or dest.get("uri"):
        named = f"{v['destination_name']} " if v.get("destination_name") else ""
        rows.append(("destination", f"{named}{dest.get('uri') or '(not yet copied)'}".strip()))
    if dest.get("md5"):
        rows.append(("md5", str(dest["md5"])))
    if v.get("error"):
        err = v["error"]
        rows.append(("error", plain(f"{err.get('code', '')} {err.get('reason', '')}"
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
        grid.add_row(plain(name), plain(value))
    return Group(grid)


# ``courier deliveries list``: the delivery id and its state are never dropped
DELIVERY_COLUMNS = (("DELIVERY", 0), ("EVENT", 2), ("STATE", 0), ("ATTEMPTS", 4),
                    ("LAST", 3), ("NEXT", 5), ("ENDPOINT", 6))


def deliveries_table(items: list[dict[str, Any]], width: int | None = None) -> Table:
    rows = []
    for d in items:
        tries = [a for a in d.get("attempts") or [] if "action" not in a]
        last = tries[-1] if tries else None
        last_text = ("-" if last is None else
                     f"HTTP {last['status']}" if last.get("status") else str(last.get("error")))
        cells = (d["id"], d.get("event_type", ""), d.get("state", ""),
                 d.get("attempt_count", len(tries)), last_text,
                 d.get("next_attempt_at") or "-", d.get("endpoint", ""))
        rows.append({name: plain(cell) for (name, _), cell in zip(DELIVERY_COLUMNS, cells)})
    return fitted_table(rows, width, DELIVERY_COLUMNS, "ENDPOINT")
