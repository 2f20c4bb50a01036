"""``courier exports create|list|get|watch|cancel|retry|check`` and ``courier watch ID``."""

from __future__ import annotations

import json
import threading
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from courier import ids, output
from courier.client import Client, LocalClient, RequestFailed
from courier.common import JSON_HELP, client, parse_value, target
from courier.output import TERMINAL_STATES
from shared.providers import REGISTRY

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
ExportId = Annotated[str, typer.Argument(help="the export's id (exp_…), or any unique start "
                                               "of it")]
Interval = Annotated[float, typer.Option(min=0.2, help="seconds between looks")]
Timeout = Annotated[Optional[float], typer.Option(
    help="give up (exit 1) after this many seconds; default: until the export ends")]
Tick = Annotated[bool, typer.Option(
    help="local state only: run the timer's work between looks (nothing else polls a "
         "state on this machine)")]

exports = typer.Typer(help="create, look at and steer exports", no_args_is_help=True)
NO_TICK = ("nothing polls this machine's state while you watch unless you add --tick (or "
           "keep `courier ui` running, which ticks)")


# every registered provider, offered as the commands' choices (shown in --help)
ProviderName = Enum(  # type: ignore[misc]
    "ProviderName", {name: name for name in sorted(REGISTRY)}, type=str)


class Format(str, Enum):
    """How unpacked CSV/JSON members land (the request's ``format``)."""

    gzip = "gzip"
    parquet = "parquet"


def register(app: typer.Typer) -> None:
    app.add_typer(exports, name="exports", rich_help_panel="Operate")
    app.command("watch", help="live state, stage, provider and copy progress of one export, "
                "until it ends (exit 0 delivered, 1 otherwise)",
                rich_help_panel="Operate")(watch)


@exports.command()
def create(ctx: typer.Context,
           provider: Annotated[ProviderName, typer.Argument(help="the provider to export "
                                                            "from")],
           param: Annotated[Optional[list[str]], typer.Option(
               "--param", "-p", help="one parameter, KEY=VALUE (VALUE as JSON where it "
               "parses: numbers, lists); repeat for more")] = None,
           params: Annotated[Optional[str], typer.Option(
               help="all parameters as a JSON object, or @file.json")] = None,
           subscriber: Annotated[Optional[list[str]], typer.Option(
               help="webhook URL for this export; repeat for more")] = None,
           idempotency_key: Annotated[Optional[str], typer.Option(
               help="a repeated request with the same key returns the first export")] = None,
           destination: Annotated[Optional[str], typer.Option(
               help="a named destination of COURIER_DESTINATIONS to deliver into (default: "
               "the deployment's COURIER_DESTINATION)")] = None,
           account: Annotated[Optional[str], typer.Option(
               help="a named account of COURIER_ACCOUNTS to export in (default: the "
               "deployment's own)")] = None,
           unpack: Annotated[Optional[bool], typer.Option(
               "--unpack/--no-unpack", show_default=False,
               help="deliver an archive result (.tar.gz, .zip) as one gzip object per member "
               "beside manifest.json, or as the vendor ships it (default: the destination's: "
               "its unpack, else COURIER_UNPACK)")] = None,
           fmt: Annotated[Optional[Format], typer.Option(
               "--format", help="how an unpacked archive's CSV/JSON members land: gzip'd, or "
               "one Parquet file each (needs unpacking; default: the destination's format, "
               "else COURIER_FORMAT)")] = None,
           then_watch: Annotated[bool, typer.Option("--watch", help="watch it until it "
                                                    "ends")] = False,
           tick: Tick = False,
           as_json: JsonOpt = False) -> None:
    """Create an export (POST /exports)."""
    body: dict[str, Any] = {"provider": provider.value,
                            "params": read_params(params, param or [])}
    if subscriber:
        body["subscribers"] = list(subscriber)
    if destination:
        body["destination"] = destination
    if account is not None:
        body["account"] = account
    if unpack is not None:
        body["unpack"] = unpack
    if fmt is not None:
        body["format"] = fmt.value
    c = client(ctx)
    view = c.create(body, idempotency_key)
    if as_json and not then_watch:
        output.emit_json(view)
    elif not as_json:
        output.console().print(output.export_detail(view))
    if then_watch:
        raise typer.Exit(watch_export(ctx, c, view["id"], interval=1.0, timeout=None,
                                      as_json=as_json, tick=tick))


def read_params(raw: str | None, pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if raw:
        text = raw
        if raw.startswith("@"):
            try:
                text = Path(raw[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise typer.BadParameter(f"cannot read {raw[1:]}: {exc.strerror}",
                                         param_hint="--params") from exc
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise typer.BadParameter("is not valid JSON", param_hint="--params") from exc
        if not isinstance(loaded, dict):
            raise typer.BadParameter("must be a JSON object", param_hint="--params")
        out.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--param")
        out[key] = parse_value(value)
    return out


@exports.command("list")
def list_(ctx: typer.Context,
          state: Annotated[Optional[str], typer.Option(
              help="only exports in this state (accepted, submitted, ready, copying, "
                   "delivered, failed, cancelled)")] = None,
          provider: Annotated[Optional[ProviderName], typer.Option(
              help="only this provider's")] = None,
          limit: Annotated[int, typer.Option(min=1, max=200, help="exports per page")] = 50,
          cursor: Annotated[Optional[str], typer.Option(
              help="continue after a previous page (its next_cursor)")] = None,
          every: Annotated[bool, typer.Option("--all", help="every page, following the "
                                              "cursor")] = False,
          live: Annotated[bool, typer.Option("--watch", help="keep the table up to date "
                                             "until every listed export has ended")] = False,
          interval: Interval = 2.0,
          as_json: JsonOpt = False) -> None:
    """A page of exports (GET /exports), in the API's order; --all for every page."""
    c = client(ctx, read_only=True)
    wanted = {"state": state, "provider": provider.value if provider else None}

    def fetch() -> dict[str, Any]:
        if every:
            return {"items": list(ids.every_export(c, **wanted)), "next_cursor": None}
        return c.list(limit=limit, cursor=cursor, **wanted)

    page = fetch()
    if not live:
        if as_json:
            output.emit_json(page)
            return
        show_page(page)
        return
    watch_list(fetch, page, interval, as_json)


def show_page(page: dict[str, Any]) -> None:
    if not page["items"]:
        output.say("no exports")
        return
    output.console().print(output.exports_table(page["items"], output.console().width))
    if page.get("next_cursor"):
        output.say(f"more: --cursor {page['next_cursor']}")


def watch_list(fetch: Any, page: dict[str, Any], interval: float, as_json: bool) -> None:
    def ended(p: dict[str, Any]) -> bool:
        return all(v["state"] in TERMINAL_STATES for v in p["items"])

    con = output.console()
    if con.is_terminal and not as_json:
        from rich.live import Live

        with Live(output.exports_table(page["items"], con.width), console=con,
                  refresh_per_second=4) as screen:
            while not ended(page):
                time.sleep(interval)
                page = fetch()
                screen.update(output.exports_table(page["items"], con.width))
        return
    shown = None
    while True:
        marks = [(v["id"], v["state"], v.get("stage"), v.get("progress"),
                  output.copy_fraction(v)) for v in page["items"]]
        if marks != shown:
            shown = marks
            if as_json:
                output.emit_line(page)
            else:
                show_page(page)
        if ended(page):
            return
        time.sleep(interval)
        page = fetch()


@exports.command()
def get(ctx: typer.Context, export_id: ExportId, as_json: JsonOpt = False) -> None:
    """One export: state, stage, progress, copy, destination, error (GET /exports/ID)."""
    c = client(ctx, read_only=True)
    view = c.get(ids.resolve(c, export_id))
    if as_json:
        output.emit_json(view)
    else:
        output.console().print(output.export_detail(view))


def _action(ctx: typer.Context, export_id: str, verb: str, as_json: bool, done: str) -> None:
    c = client(ctx)
    view = c.action(ids.resolve(c, export_id), verb)
    if as_json:
        output.emit_json(view)
        return
    output.say(f"{view['id']} {done}")
    output.console().print(output.export_detail(view))


@exports.command()
def cancel(ctx: typer.Context, export_id: ExportId, as_json: JsonOpt = False) -> None:
    """Cancel a pending export, also at the provider (POST /exports/ID/cancel)."""
    _action(ctx, export_id, "cancel", as_json, "cancelled")


@exports.command()
def retry(ctx: typer.Context, export_id: ExportId, as_json: JsonOpt = False) -> None:
    """Start a failed export over (POST /exports/ID/retry)."""
    _action(ctx, export_id, "retry", as_json, "accepted again")


@exports.command()
def check(ctx: typer.Context, export_id: ExportId, as_json: JsonOpt = False) -> None:
    """Ask the provider again at the next tick, e.g. after approving a DMS ticket
    (POST /exports/ID/check)."""
    _action(ctx, export_id, "check", as_json, "will be looked at on the next tick")


@exports.command("watch")
def watch(ctx: typer.Context, export_id: ExportId, interval: Interval = 1.0,
          timeout: Timeout = None, tick: Tick = False, as_json: JsonOpt = False) -> None:
    """Live state, stage, provider and copy progress until the export ends
    (exit 0 delivered, 1 failed, cancelled or timed out)."""
    c = client(ctx, read_only=True)
    raise typer.Exit(watch_export(ctx, c, ids.resolve(c, export_id), interval=interval,
                                  timeout=timeout, as_json=as_json, tick=tick))


class Ticker:
    """The timer's work on this machine's state, in a thread with its own bundle."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="courier-tick", daemon=True)

    def _run(self) -> None:
        ticker = LocalClient()
        try:
            while not self.stop.is_set():
                try:
                    ticker.tick(owner="poll:cli-watch")
                except RequestFailed as exc:
                    output.say(f"courier: tick failed: {exc}")
                self.stop.wait(self.interval)
        finally:
            ticker.close()

    def __enter__(self) -> Ticker:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def watch_export(ctx: typer.Context, c: Client, export_id: str, *, interval: float,
                 timeout: float | None, as_json: bool, tick: bool) -> int:
    if tick and target(ctx).url:
        raise typer.BadParameter("--tick drives this machine's state; a deployed API has "
                                 "its own timer", param_hint="--tick")
    deadline = None if timeout is None else time.monotonic() + timeout
    unpolled = not tick and not target(ctx).url
    if unpolled and c.get(export_id)["state"] not in TERMINAL_STATES:
        output.say(f"courier: {NO_TICK}")
    if tick:
        with Ticker(interval):
            view = _follow(c, export_id, interval, deadline, as_json)
    else:
        view = _follow(c, export_id, interval, deadline, as_json)
    if view["state"] not in TERMINAL_STATES:
        hint = f"; {NO_TICK}" if unpolled else ""
        output.say(f"courier: {export_id} is still {view['state']} after {timeout:g} s{hint}")
        return 1
    if not as_json:
        output.say(final_line(view))
    return 0 if view["state"] == "delivered" else 1


def _follow(c: Client, export_id: str, interval: float, deadline: float | None,
            as_json: bool) -> dict[str, Any]:
    con = output.console()

    def over() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    view = c.get(export_id)
    if con.is_terminal and not as_json:
        from rich.live import Live

        with Live(output.export_detail(view), console=con, refresh_per_second=4) as screen:
            while view["state"] not in TERMINAL_STATES and not over():
                time.sleep(interval)
                view = c.get(export_id)
                screen.update(output.export_detail(view))
        return view
    shown = None
    while True:
        mark = (view["state"], view.get("stage"), view.get("progress"),
                output.copy_fraction(view))
        if mark != shown:
            shown = mark
            if as_json:
                output.emit_line(view)
            else:
                output.line(progress_line(view))
        if view["state"] in TERMINAL_STATES or over():
            return view
        time.sleep(interval)
        view = c.get(export_id)


def progress_line(view: dict[str, Any]) -> str:
    """``HH:MM:SS exp_… state/stage  provider 40%  copy 3.0 MB / 8.0 MB 37%`` for logs."""
    parts = [time.strftime("%H:%M:%S"), view["id"], output.state_label(view).plain]
    if isinstance(view.get("progress"), (int, float)):
        parts.append(f"provider {view['progress']:.0f}%")
    done, total = output.copy_fraction(view)
    if done or total:
        pct = f" {100 * done / total:.0f}%" if total else ""
        parts.append(f"copy {output.mb(done)} / {output.mb(total)}{pct}")
    return "  ".join(parts)


def final_line(view: dict[str, Any]) -> str:
    if view["state"] == "delivered":
        copy = output.copy_of(view)
        dest = view.get("destination") or {}
        speed = (f" in {copy['duration_s']} s ({copy['throughput_mb_s']} MB/s)"
                 if copy.get("throughput_mb_s") is not None else "")
        return (f"{view['id']} delivered: {output.mb(dest.get('size'))}{speed} -> "
                f"{output.where_landed(view)}")
    err = view.get("error") or {}
    return f"{view['id']} {view['state']}: {err.get('reason') or err.get('code') or ''}".rstrip(
        ": ")
