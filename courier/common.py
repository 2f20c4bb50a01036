"""What every ``courier`` subcommand module shares: the ``--json`` option and the client."""

from __future__ import annotations

from typing import Any

import typer

from courier.client import Client, LocalClient, Target

JSON_HELP = "print JSON (the API's shape) instead of a table"


def target(ctx: typer.Context) -> Target:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, Target) else Target.resolve(None)


def client(ctx: typer.Context, read_only: bool = False) -> Client:
    """The client of the target; ``read_only``: the command only reads (a local state that
    does not exist is then an error, never made)."""
    return target(ctx).client(read_only)


def local_client(ctx: typer.Context, what: str, read_only: bool = False) -> LocalClient:
    """The local state, or a usage error when a URL was given for something the HTTP API
    does not serve."""
    if target(ctx).url:
        raise typer.BadParameter(f"{what} works on this machine's state only (the HTTP API "
                                 "has no route for it): run it without --url / COURIER_URL, "
                                 "with the deployment's COURIER_* settings")
    return LocalClient(read_only=read_only)


def parse_value(raw: str) -> Any:
    """``K=V`` values: JSON where they parse as JSON (numbers, lists), text otherwise."""
    import json

    try:
        return json.loads(raw)
    except ValueError:
        return raw
