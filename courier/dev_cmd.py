"""``courier demo|sandbox|invoke|ui``: this machine, for trying things and developing."""

from __future__ import annotations

import contextlib
import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from courier import output


class Function(str, Enum):
    create = "create"
    poll = "poll"
    complete = "complete"


UI_HELP = """Serve the status page (GET /ui) and the API on 127.0.0.1 over this machine's
state.

The API wants a key: the one made up for this session (printed at start) or one of
COURIER_API_KEYS.

COURIER_AUTH=none (sandbox profile only) drops the key: then every program on this
machine, and every user of a shared machine, can read, create and cancel exports through
the port, with this machine's cloud credentials. Use it on your own machine only. It is
served on loopback only, and the server answers only requests whose Host is localhost,
127.0.0.1 or [::1] with its port (421 otherwise), takes a POST only as application/json
(415 otherwise) and refuses a body over the limit before reading it (413): so a web page
on another site cannot drive it through your browser."""


def register(app: typer.Typer) -> None:
    app.command(help="run every provider's export end to end against the sandbox",
                rich_help_panel="Get started")(demo)
    app.command(help="run the provider emulators in the foreground; prints the variables a "
                "shell needs (options: courier sandbox --help)", add_help_option=False,
                context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
                rich_help_panel="Develop")(sandbox)
    app.command(help="run a handler on this machine with an event file: the result on "
                "stdout, logs on stderr; exit 1 on a 4xx/5xx answer",
                rich_help_panel="Develop")(invoke)
    app.command(help=UI_HELP, rich_help_panel="Get started")(ui)


def demo(timeout: Annotated[float, typer.Option(help="seconds to wait for every "
                                                "export")] = 55.0) -> None:
    from courier.demo import run

    raise typer.Exit(run(timeout_s=timeout))


def sandbox(ctx: typer.Context) -> None:
    import sandbox as emulators

    try:
        code = emulators.main(list(ctx.args), prog="courier sandbox")
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        code = exc.code if isinstance(exc.code, int) else 2
    raise typer.Exit(int(code or 0))


def invoke(function: Annotated[Function, typer.Argument(help="the handler to run")],
           event: Annotated[Path, typer.Argument(help="an event JSON file (see events/)")],
           timeout: Annotated[float, typer.Option(help="the invocation's time budget, "
                                                  "seconds")] = 60.0) -> None:
    from courier.local import invoke as run

    try:
        payload = json.loads(event.read_text(encoding="utf-8"))
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {event}: {exc.strerror}",
                                 param_hint="EVENT") from exc
    except ValueError as exc:
        raise typer.BadParameter(f"{event} is not JSON: {exc}", param_hint="EVENT") from exc
    with contextlib.redirect_stdout(sys.stderr):  # the handlers' logs go to stderr
        result = run(function.value, payload, timeout)
    print(json.dumps(result, indent=2, default=str), flush=True)
    raise typer.Exit(1 if failed(result) else 0)


def failed(result: Any) -> bool:
    """An HTTP answer of 4xx/5xx, or a handler's ``{"error": …}``."""
    if not isinstance(result, dict):
        return False
    status = result.get("statusCode")
    return (isinstance(status, int) and status >= 400) or "error" in result


def ui(port: Annotated[int, typer.Option(help="port on 127.0.0.1 (0 = any free one)")] = 8780,
       tick: Annotated[bool, typer.Option(help="run the timer's work every few seconds, so "
                                          "exports move on")] = True) -> None:
    import secrets
    import threading

    from courier.exports_cmd import Ticker
    from courier.local import local_bundle
    from courier.server import LocalApiServer, page_url

    key = secrets.token_urlsafe(24)
    bundle = local_bundle(session_key=key)
    settings = bundle.settings
    with LocalApiServer(bundle, port) as server, (
            Ticker(2.0) if tick else contextlib.nullcontext()):
        keyed = settings.auth != "none" and key in settings.api_keys
        output.say(f"status page: {page_url(server.url, key if keyed else None)}  "
                   f"(state {settings.state_url})")
        if settings.auth == "none":
            output.say("no API key needed (COURIER_AUTH=none): every program and user on "
                       "this machine can read and create exports here")
        elif key in settings.api_keys:
            output.say(f"API key for this session: {key} (the link above carries it)")
        else:
            output.say("the page asks for one of the COURIER_API_KEYS")
        output.say("Ctrl-C to stop")
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            output.say("stopped")
