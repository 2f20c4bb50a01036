"""The export routes, over :mod:`shared.exports`.

``POST /exports`` (202 with the task), ``GET /exports/<id>``, ``GET /exports``,
``POST /exports/<id>/cancel``, ``POST /exports/<id>/retry``, ``POST /exports/<id>/check``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from shared import exports
from shared.config import Settings
from shared.errors import DestinationUnusableError
from shared.http import idempotency
from shared.http.paging import list_args, one_of
from shared.http.problem import PROBLEM_JSON, Problem
from shared.http.views import json_response, problem_response, request_body
from shared.model import TaskState
from shared.providers import Providers
from shared.state.base import TaskStore


def request_id(event: Any) -> str:
    """The gateway's id of this request (``local`` when it gave none)."""
    return str(event.request_context.request_id or "local")


def router(settings: Settings, store: Callable[[], TaskStore], providers: Providers,
           destination_problem: Callable[[str | None], str | None] | None = None) -> Router:
    """The export routes of one app, over its store and providers. ``destination_problem``:
    why the destination of that name (None: the deployment's own) is known to be unusable
    (None while it is usable); a create into it is then refused with a 503 naming it
    (:class:`shared.storage.probe.DestinationHealth`)."""
    r = Router()

    @r.post("/exports")
    def create() -> Response:
        body = request_body(r)
        name = body.get("destination") if isinstance(body, dict) else None
        known = name is None or (isinstance(name, str)
                                 and settings.named_destination(name) is not None)
        # an unknown name is not probed: the create answers 400 naming it
        problem_text = destination_problem(name) if destination_problem and known else None
        if problem_text:
            which = "the destination" if name is None else f"destination {name!r}"
            raise DestinationUnusableError(
                f"new exports are refused until {which} works: {problem_text}")
        key = idempotency.caller_key(r.current_event.headers or {}, body)
        st = store()
        accepted = exports.accept(
            st, providers, body, idempotency_key=key,
            owner=f"create:{request_id(r.current_event)}",
            poll_interval_s=settings.poll_interval_s)
        task = accepted.task
        location = {"Location": f"/exports/{task.id}"}
        if not accepted.created:
            kept = idempotency.replay(st, task)
            status, payload = kept or (202, exports.public_view(task))
            response = json_response(status, payload,
                                     {**location, idempotency.REPLAYED_HEADER: "true"})
            if status >= 400:
                response.headers["Content-Type"] = PROBLEM_JSON
            return response
        view = exports.public_view(task)
        if task.state is TaskState.FAILED:
            problem = Problem(422, "provider_refused",
                              str((task.error or {}).get("reason") or "refused"),
                              {"export": view})
            response = problem_response(problem, instance="/exports",
                                        request_id=request_id(r.current_event))
            response.headers.update(location)
            if task.idempotency_key:
                idempotency.keep(st, task, 422, problem.body("/exports", request_id(
                    r.current_event)))
            return response
        if task.idempotency_key:
            idempotency.keep(st, task, 202, view)
        return json_response(202, view, location)

    @r.get("/exports/<export_id>")
    def get(export_id: str) -> Response:
        return json_response(200, exports.public_views(store(), [store().get_task(export_id)])[0])

    @r.get("/exports")
    def list_() -> Response:
        q = r.current_event.query_string_parameters or {}
        args = list_args(q, TaskState)
        page = store().list_tasks(state=args.state, provider=one_of(q, "provider",
                                                                    providers.names),
                                  limit=args.limit, cursor=args.cursor)
        return json_response(200, {"items": exports.public_views(store(), page.items),
                                   "next_cursor": page.next_cursor})

    @r.post("/exports/<export_id>/cancel")
    def cancel(export_id: str) -> Response:
        return json_response(200, exports.public_view(exports.cancel(store(), providers,
                                                                     export_id)))

    @r.post("/exports/<export_id>/retry")
    def retry(export_id: str) -> Response:
        return json_response(202, exports.public_view(exports.retry(store(), export_id)))

    @r.post("/exports/<export_id>/check")
    def check(export_id: str) -> Response:
        return json_response(202, exports.public_view(exports.check_now(store(), export_id)))

    return r
