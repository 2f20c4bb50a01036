"""``courier doctor``: check this deployment's settings and parts (:mod:`shared.doctor`)."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from courier import output
from courier.common import JSON_HELP, target

PANEL = "Get started"
DOCTOR_HELP = """check this deployment's settings and parts, one line per check.

Checks what the COURIER_* settings describe: secret stores read, settings parsed, the
state store reachable with its schema current, the destination writable (a probe object
written, read back and deleted), each provider's credentials accepted by one cheap read,
webhook endpoints resolving to allowed addresses, schedules able to fire. Exit 1 when any
check is an error. Never prints a secret."""


def register(app: typer.Typer) -> None:
    app.command(help=DOCTOR_HELP, rich_help_panel=PANEL)(doctor)


def doctor(ctx: typer.Context,
           as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False) -> None:
    if target(ctx).url:
        raise typer.BadParameter("doctor checks this machine's settings (the COURIER_* "
                                 "variables of the deployment): run it without --url / "
                                 "COURIER_URL")
    from shared import doctor as checks

    # each check says what it found; the library's own warnings would say it twice
    logging.getLogger("shared").setLevel(logging.ERROR)
    found = checks.run(os.environ)
    failed = any(c.status == checks.ERROR for c in found)
    if as_json:
        output.emit_json({"ok": not failed, "checks": [c.as_dict() for c in found]})
    else:
        for check in found:
            output.line(check.line())
        errors = sum(c.status == checks.ERROR for c in found)
        warnings = sum(c.status == checks.WARNING for c in found)
        output.say(f"{len(found)} checks: {errors} error(s), {warnings} warning(s)")
    raise typer.Exit(1 if failed else 0)
