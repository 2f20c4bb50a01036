"""``courier schedules list|fire|backfill``: the schedules of this deployment's settings,
fired now or over past windows (against the state and providers the environment names; the
HTTP API has no schedule routes)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from courier import output
from courier.common import JSON_HELP, local_client

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]

schedules = typer.Typer(help="scheduled exports (COURIER_SCHEDULES): list, fire, backfill",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(schedules, name="schedules", rich_help_panel="Operate")


@schedules.command("list")
def list_(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """The schedules in COURIER_SCHEDULES and the end of the last window each made."""
    from shared.schedules import SCHEDULE_KIND
    from shared.windows import parse_schedules

    bundle = local_client(ctx, "schedules list", read_only=True).bundle
    rows = []
    for s in parse_schedules(bundle.settings.schedules):
        rec = bundle.store().get_record(SCHEDULE_KIND, s.name)
        rows.append({"name": s.name, "provider": s.provider, "every_s": s.every_s,
                     "cron": s.cron.text if s.cron else None, "timezone": str(s.tz),
                     "destination": s.destination,
                     "last_window_end": rec.data.get("last_end") if rec else None})
    if as_json:
        output.emit_json(rows)
        return
    if not rows:
        output.say("no schedules (COURIER_SCHEDULES is empty)")
        return
    table = _table(("NAME", "PROVIDER", "EVERY", "CRON", "TIME ZONE", "DESTINATION",
                    "LAST WINDOW END"))
    for r in rows:
        table.add_row(*(output.plain(cell) for cell in (
            r["name"], r["provider"], f"{r['every_s']} s" if r["every_s"] else "-",
            r["cron"] or "-", r["timezone"], r["destination"] or "-",
            r["last_window_end"] or "-")))
    output.console().print(table)


@schedules.command()
def fire(ctx: typer.Context,
         name: Annotated[Optional[str], typer.Argument(
             help="the schedule to fire; all of them when omitted")] = None,
         as_json: JsonOpt = False) -> None:
    """Fire now, as the cron trigger does: every window that ended since the last one made."""
    from shared import schedules as sched
    from shared.clock import to_iso, utcnow
    from shared.runtime.events import TimerTrigger

    bundle = local_client(ctx, "schedules fire").bundle
    trigger = TimerTrigger(name="courier-cli", time=to_iso(utcnow()), message=name)
    outcomes = sched.fire(bundle.store(), bundle.providers, bundle.settings, trigger)
    _report(outcomes, as_json, "")


@schedules.command()
def backfill(ctx: typer.Context,
             name: Annotated[str, typer.Argument(help="the schedule's name")],
             start: Annotated[str, typer.Option("--from", help="ISO 8601 time, e.g. "
                                                "2026-11-01T00:00Z")],
             end: Annotated[str, typer.Option("--to", help="ISO 8601 time")],
             limit: Annotated[int, typer.Option(min=1, help="most windows to create")] = 1000,
             as_json: JsonOpt = False) -> None:
    """Create the windows of a schedule that end in (--from, --to], once each."""
    from shared.clock import from_iso, to_iso
    from shared.schedules import backfill as make

    times = []
    for flag, raw in (("--from", start), ("--to", end)):
        try:
            when = from_iso(raw)
        except ValueError:
            when = None
        if when is None:
            raise typer.BadParameter("must be an ISO 8601 time, e.g. 2026-11-01T00:00Z",
                                     param_hint=flag)
        times.append(when)
    bundle = local_client(ctx, "schedules backfill").bundle
    from shared.errors import ValidationError

    try:
        outcomes = make(bundle.store(), bundle.providers, bundle.settings, name, times[0],
                        times[1], limit=limit)
    except ValidationError as exc:
        raise typer.BadParameter(exc.detail, param_hint=exc.field) from exc
    _report(outcomes, as_json, f" ({to_iso(times[0])} .. {to_iso(times[1])})")


def _table(columns: tuple[str, ...]) -> Any:
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for c in columns:
        table.add_column(c, no_wrap=True)
    return table


def _report(outcomes: list[dict[str, Any]], as_json: bool, span: str) -> None:
    if as_json:
        output.emit_json(outcomes)
    elif outcomes:
        table = _table(("SCHEDULE", "WINDOW END", "EXPORT", "OUTCOME"))
        for o in outcomes:
            what = (f"error: {o['error']}" if "error" in o else
                    "created" if o.get("created") else "already made")
            table.add_row(*(output.plain(cell) for cell in (
                o["schedule"], o["window_end"], o.get("export_id", "-"), what)))
        output.console().print(table)
    created = sum(1 for o in outcomes if o.get("created"))
    made = sum(1 for o in outcomes if "export_id" in o and not o.get("created"))
    failed = sum(1 for o in outcomes if "error" in o)
    output.say(f"{created} created, {made} already made, {failed} failed{span}")
    if failed:
        raise typer.Exit(1)
