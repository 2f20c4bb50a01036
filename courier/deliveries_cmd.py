"""``courier deliveries list|resend`` and ``courier endpoints recover``: the webhooks."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from courier import ids, output
from courier.common import JSON_HELP, client

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]

deliveries = typer.Typer(help="the webhook deliveries of an export", no_args_is_help=True)
endpoints = typer.Typer(help="webhook endpoints", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(deliveries, name="deliveries", rich_help_panel="Operate")
    app.add_typer(endpoints, name="endpoints", rich_help_panel="Operate")


@deliveries.command("list")
def list_(ctx: typer.Context,
          export_id: Annotated[str, typer.Argument(help="the export's id (exp_…), or any "
                                                        "unique start of it")],
          state: Annotated[Optional[str], typer.Option(
              help="only deliveries in this state (pending, delivered, dead, disabled)")] = None,
          as_json: JsonOpt = False) -> None:
    """An export's webhook deliveries with their attempts (GET /exports/ID/deliveries)."""
    c = client(ctx, read_only=True)
    page = c.deliveries(ids.resolve(c, export_id), state)
    if as_json:
        output.emit_json(page)
    elif not page["items"]:
        output.say(f"no deliveries for {export_id}")
    else:
        con = output.console()
        con.print(output.deliveries_table(page["items"], con.width))


@deliveries.command()
def resend(ctx: typer.Context,
           delivery_id: Annotated[str, typer.Argument(help="the delivery's id (msg_…)")],
           as_json: JsonOpt = False) -> None:
    """Queue a delivery again, with the same webhook-id (POST /deliveries/ID/resend)."""
    view = client(ctx).resend(delivery_id)
    if as_json:
        output.emit_json(view)
        return
    output.say(f"{view['id']} queued again ({view['event_type']} to {view['endpoint']})")


@endpoints.command()
def recover(ctx: typer.Context,
            endpoint: Annotated[str, typer.Argument(help="the webhook URL")],
            since: Annotated[str, typer.Option(
                help="queue again what failed since this ISO 8601 time, e.g. "
                     "2026-11-20T00:00Z")],
            as_json: JsonOpt = False) -> None:
    """Re-enable an endpoint and queue again its failed, dead and disabled deliveries
    (POST /endpoints/recover)."""
    answer = client(ctx).recover(endpoint, since)
    if as_json:
        output.emit_json(answer)
        return
    output.say(f"{answer['endpoint']} enabled; {answer['recovered']} deliveries since "
               f"{answer['since']} queued again")
