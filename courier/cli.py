"""``courier``, the operator's command line: see :data:`HELP`.

Each subcommand group is a module with ``register(app)``; adding one is one entry in
:data:`COMMANDS`. :func:`main` turns every failure into one line and an exit code.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import typer

from courier import deliveries_cmd, deploy, dev_cmd, doctor_cmd, exports_cmd, schedules_cmd
from courier.client import ENV_URL, RequestFailed, Target, UsageError
from courier.output import say

# one line per subcommand module: ``module.register(app)`` adds its commands
COMMANDS = (doctor_cmd, exports_cmd, deliveries_cmd, schedules_cmd, dev_cmd, deploy)

HELP = """The operator's tool for Export Courier.

Against a deployed API (--url or COURIER_URL; the key from COURIER_API_KEY or the config
file COURIER_CONFIG, default ~/.config/courier/config, section [courier] with url and
api_key; or COURIER_HMAC_KEY / hmac_key: every request signed with it, the key never sent)
or, with no URL, this machine's state and destination (the COURIER_* settings;
by default .courier/state.db and .courier/bucket).

Exit codes: 0 ok, 1 the request failed (or the watched export did not deliver), 2 usage.
"""

# the panels of ``courier --help``, in order; each command names its own (rich_help_panel)
PANELS = ("Get started", "Operate", "Deploy", "Develop")


class PanelGroup(typer.core.TyperGroup):
    """Lists the commands under their panels, as plain text (no markup is interpreted in
    the help texts, which quote ``[courier]`` and the like)."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        panels: dict[str, list[tuple[str, Any]]] = {}
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                panel = getattr(cmd, "rich_help_panel", None) or "Commands"
                panels.setdefault(panel, []).append((name, cmd))
        if not panels:
            return
        limit = formatter.width - 6 - max(len(n) for rows in panels.values() for n, _ in rows)
        for panel in [*PANELS, *sorted(set(panels) - set(PANELS))]:
            if panel in panels:
                with formatter.section(panel):
                    formatter.write_dl([(n, c.get_short_help_str(limit))
                                        for n, c in panels[panel]])


app = typer.Typer(
    name="courier", help=HELP, no_args_is_help=True, add_completion=False, cls=PanelGroup,
    pretty_exceptions_enable=False, rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True})


@app.callback()
def root(ctx: typer.Context,
         url: Annotated[Optional[str], typer.Option(
             envvar=ENV_URL, show_envvar=True,
             help="the deployed API's base URL; without one, this machine's state")] = None,
         debug: Annotated[bool, typer.Option(
             "--debug", help="show the traceback of an unexpected error")] = False) -> None:
    ctx.obj = Target.resolve(url, debug)


for _module in COMMANDS:
    _module.register(app)


def in_words(exc: BaseException) -> str | None:
    """What an error of this machine means for the person, or None when unknown."""
    import errno

    name = type(exc).__name__
    if name == "NoRegionError":
        return ("no AWS region is set: set AWS_REGION (or COURIER_S3_REGION for an s3:// "
                "destination)")
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return "no AWS credentials found: set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or " \
               "AWS_PROFILE"
    if isinstance(exc, OSError):
        if exc.errno == errno.EADDRINUSE:
            return ("that port is already in use by another program: choose another with "
                    "--port (0 picks a free one)")
        if exc.strerror:
            return f"{exc.strerror}" + (f": {exc.filename}" if exc.filename else "")
    return None


def main(argv: list[str] | None = None) -> int:
    """Run ``courier`` with ``argv``; the exit code (never raises but with ``--debug``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="courier", standalone_mode=False)
    except typer.Abort:
        print("courier: interrupted", file=sys.stderr)
        return 130
    except RequestFailed as exc:
        say(f"courier: {exc}")
        return 1
    except UsageError as exc:
        say(f"courier: {exc}")
        return 2
    except Exception as exc:  # noqa: BLE001 - one line for the person, unless --debug
        from shared.errors import CourierError

        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()  # click's usage errors (exit 2) and other command-line errors
            return int(exc.exit_code)  # type: ignore[attr-defined]
        if "--debug" in args:
            raise
        words = in_words(exc)
        if isinstance(exc, CourierError):
            say(f"courier: {exc}")
        elif words:
            say(f"courier: {words}")
        else:
            say(f"courier: unexpected {type(exc).__name__}: {exc} (--debug shows where)")
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
