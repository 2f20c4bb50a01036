"""Where ``courier`` sends its requests: a deployed HTTP API, or this machine's state.

Both answer with the HTTP API's JSON views, so every command renders one shape:

* :class:`HttpClient` — ``--url`` / ``COURIER_URL``, the key from ``COURIER_API_KEY`` or the
  config file (``COURIER_CONFIG``, default ``~/.config/courier/config``, an INI file with a
  ``[courier]`` section holding ``url`` and ``api_key``); or, with ``COURIER_HMAC_KEY`` (or
  ``hmac_key`` in the file), each request signed with that key instead of sending one
  (:mod:`shared.http.request_signing`);
* :class:`LocalClient` — no URL: the state and destination the ``COURIER_*`` environment
  names (the embedded default: ``.courier/state.db``, ``.courier/bucket``), through the same
  ``shared`` functions the handlers call.

A request that fails raises :class:`RequestFailed` with one line naming the problem.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

ENV_URL = "COURIER_URL"
ENV_API_KEY = "COURIER_API_KEY"
ENV_HMAC_KEY = "COURIER_HMAC_KEY"
ENV_CONFIG = "COURIER_CONFIG"
DEFAULT_CONFIG = "~/.config/courier/config"
REQUEST_TIMEOUT_S = 30.0


class RequestFailed(Exception):
    """The request was made and did not succeed (exit code 1)."""


class NotFound(RequestFailed):
    """No export (or delivery) with that id."""


class UsageError(Exception):
    """The command line or a setting names something that cannot work (exit code 2)."""


class Client(Protocol):
    where: str

    def create(self, body: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]: ...
    def list(self, *, state: str | None = None, provider: str | None = None,
             limit: int = 50, cursor: str | None = None) -> dict[str, Any]: ...
    def get(self, export_id: str) -> dict[str, Any]: ...
    def action(self, export_id: str, verb: str) -> dict[str, Any]: ...
    def deliveries(self, export_id: str, state: str | None = None) -> dict[str, Any]: ...
    def resend(self, delivery_id: str) -> dict[str, Any]: ...
    def recover(self, endpoint: str, since: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Target:
    """What the global options chose: a URL and key, or (no URL) this machine."""

    url: str | None = None
    api_key: str | None = None
    debug: bool = False
    hmac_key: str | None = None

    @classmethod
    def resolve(cls, url: str | None, debug: bool = False,
                env: dict[str, str] | None = None) -> Target:
        """Flag beats environment beats config file."""
        env = dict(os.environ) if env is None else env
        file = read_config(env.get(ENV_CONFIG) or DEFAULT_CONFIG)
        url = url or env.get(ENV_URL) or file.get("url") or None
        key = env.get(ENV_API_KEY) or file.get("api_key") or None
        hmac_key = env.get(ENV_HMAC_KEY) or file.get("hmac_key") or None
        return cls(base_url(url) if url else None, key, debug, hmac_key)

    def client(self, read_only: bool = False) -> Client:
        """``read_only``: the command only reads; on this machine, a state that does not
        exist is then an error rather than a new, empty one."""
        if self.url:
            return HttpClient(self.url, self.api_key, self.hmac_key)
        return LocalClient(read_only=read_only)


def base_url(url: str) -> str:
    """The API's base URL as given, checked: ``http(s)://host[:port][/path]``, without a
    trailing ``/`` or a trailing ``/exports`` (the collection, often pasted with it)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise UsageError(f"--url / {ENV_URL} {url!r} is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url / {ENV_URL} must be the API's base URL, starting with "
                         f"http:// or https:// (got {url!r})")
    out = url.strip().rstrip("/")
    return out.removesuffix("/exports") if parts.path.rstrip("/").endswith("/exports") else out


def read_config(path: str) -> dict[str, str]:
    """``[courier]`` of the INI file at ``path``; empty when there is none."""
    file = Path(path).expanduser()
    if not file.is_file():
        return {}
    parser = configparser.ConfigParser()
    try:
        parser.read(file, encoding="utf-8")
    except configparser.Error as exc:
        raise RequestFailed(f"config file {file}: {exc.message}") from exc
    return dict(parser["courier"]) if parser.has_section("courier") else {}


def problem(status: int, body: Any) -> str:
    """One line from an error answer (the API's ``{error, message, field}`` or a
    problem+json ``{title, detail}``)."""
    if not isinstance(body, dict):
        return f"HTTP {status}"
    kind = body.get("error") or body.get("title") or ""
    message = body.get("detail") or body.get("message") or ""
    field = body.get("field")
    text = f"{field}: {message}" if field and message else message
    return f"HTTP {status} {kind}: {text}".rstrip(": ") if text or kind else f"HTTP {status}"


def unreachable(exc: Exception) -> str:
    """Why a request got no answer, in words (no exception class names)."""
    import requests

    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed (a certificate the machine does not trust?)"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no answer within {REQUEST_TIMEOUT_S:g} s"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "nothing answered there (is the URL right, and the service up?)"
    return "the request could not be sent (check the URL)"


class HttpClient:
    def __init__(self, url: str, api_key: str | None, hmac_key: str | None = None) -> None:
        import requests

        self.where = url
        self.hmac_key = hmac_key
        self.session = requests.Session()
        if api_key and not hmac_key:
            self.session.headers["X-Api-Key"] = api_key

    def _call(self, method: str, path: str, body: Any = None,
              params: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None) -> dict[str, Any]:
        import json

        import requests

        headers = dict(headers or {})
        if method != "GET":  # a POST is always JSON, even an empty one
            headers["Content-Type"] = "application/json"
        data = b"" if body is None else json.dumps(body).encode()
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        if self.hmac_key:
            from urllib.parse import urlsplit

            from shared.http.request_signing import signed_headers

            headers.update(signed_headers(
                self.hmac_key, method, urlsplit(self.where + path).path, query, data,
                headers.get("Idempotency-Key")))
        try:
            answer = self.session.request(
                method, self.where + path, data=data or None, headers=headers,
                timeout=REQUEST_TIMEOUT_S, params=query)
        except requests.RequestException as exc:
            raise RequestFailed(f"cannot reach {self.where}: {unreachable(exc)}") from exc
        try:
            payload = answer.json()
        except ValueError:
            payload = None
        if answer.status_code == 404 and isinstance(payload, dict) and \
                payload.get("error") == "not_found":
            raise NotFound(problem(answer.status_code, payload))
        if answer.status_code >= 400:
            raise RequestFailed(problem(answer.status_code, payload))
        if not isinstance(payload, dict):
            raise RequestFailed(f"{method} {path}: the answer is not a JSON object")
        return payload

    def create(self, body: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._call("POST", "/exports", body, headers=headers)

    def list(self, *, state: str | None = None, provider: str | None = None,
             limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        return self._call("GET", "/exports", params={"state": state, "provider": provider,
                                                     "limit": limit, "cursor": cursor})

    def get(self, export_id: str) -> dict[str, Any]:
        return self._call("GET", f"/exports/{export_id}")

    def action(self, export_id: str, verb: str) -> dict[str, Any]:
        return self._call("POST", f"/exports/{export_id}/{verb}")

    def deliveries(self, export_id: str, state: str | None = None) -> dict[str, Any]:
        return self._call("GET", f"/exports/{export_id}/deliveries",
                          params={"state": state, "limit": 200})

    def resend(self, delivery_id: str) -> dict[str, Any]:
        return self._call("POST", f"/deliveries/{delivery_id}/resend")

    def recover(self, endpoint: str, since: str) -> dict[str, Any]:
        return self._call("POST", "/endpoints/recover", {"endpoint": endpoint, "since": since})


class LocalClient:
    """This machine's state, through the functions the handlers call (no HTTP door, so no
    API key: whoever can read the state file can already read the exports)."""

    def __init__(self, read_only: bool = False) -> None:
        from courier.local import local_bundle
        from shared.checks import missing_state
        from shared.setting_names import ENV_STATE_URL

        self._bundle = local_bundle()
        self.where = self._bundle.settings.state_url
        missing = missing_state(self.where) if read_only else None
        if missing:
            raise UsageError(
                f"{missing}: nothing to read. Set {ENV_STATE_URL} to your exports' state "
                "(sqlite:///absolute/path/state.db), run from the folder that holds "
                ".courier/, or give --url / COURIER_URL for a deployed API")

    @property
    def bundle(self) -> Any:
        return self._bundle

    def _run(self, call: Any, *args: Any, **kwargs: Any) -> Any:
        from shared.errors import CourierError, NotFoundError, ValidationError

        try:
            return call(*args, **kwargs)
        except NotFoundError as exc:
            raise NotFound(str(exc)) from exc
        except ValidationError as exc:
            raise RequestFailed(f"{exc.field}: {exc.detail}") from exc
        except CourierError as exc:
            raise RequestFailed(str(exc)) from exc

    def create(self, body: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
        from shared import exports

        b = self._bundle
        accepted = self._run(exports.accept, b.store(), b.providers, body,
                             idempotency_key=idempotency_key, owner="create:cli",
                             poll_interval_s=b.settings.poll_interval_s)
        view = exports.public_view(accepted.task)
        if accepted.task.state.value == "failed" and accepted.created:
            reason = (accepted.task.error or {}).get("reason")
            raise RequestFailed(f"the provider refused the export {accepted.task.id}: {reason}")
        return view

    def list(self, *, state: str | None = None, provider: str | None = None,
             limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
        from shared import exports
        from shared.http.paging import list_args
        from shared.model import TaskState

        query = {k: str(v) for k, v in (("state", state), ("limit", limit),
                                        ("cursor", cursor)) if v is not None}
        args = self._run(list_args, query, TaskState)
        page = self._run(self._bundle.store().list_tasks, state=args.state, provider=provider,
                         limit=args.limit, cursor=args.cursor)
        return {"items": exports.public_views(self._bundle.store(), page.items),
                "next_cursor": page.next_cursor}

    def get(self, export_id: str) -> dict[str, Any]:
        from shared import exports

        store = self._bundle.store()
        return exports.public_views(store, [self._run(store.get_task, export_id)])[0]

    def action(self, export_id: str, verb: str) -> dict[str, Any]:
        from shared import exports

        b = self._bundle
        calls = {"cancel": lambda: exports.cancel(b.store(), b.providers, export_id),
                 "retry": lambda: exports.retry(b.store(), export_id),
                 "check": lambda: exports.check_now(b.store(), export_id)}
        return exports.public_view(self._run(calls[verb]))

    def deliveries(self, export_id: str, state: str | None = None) -> dict[str, Any]:
        from shared.http.deliveries import delivery_view
        from shared.http.paging import list_args
        from shared.model import DeliveryState

        store = self._bundle.store()
        self._run(store.get_task, export_id)
        query = {"state": state, "limit": "200"} if state else {"limit": "200"}
        args = self._run(list_args, query, DeliveryState)
        page = self._run(store.list_deliveries, task_id=export_id, state=args.state,
                         limit=args.limit, cursor=args.cursor)
        return {"items": [delivery_view(d) for d in page.items],
                "next_cursor": page.next_cursor}

    def resend(self, delivery_id: str) -> dict[str, Any]:
        from shared.http.deliveries import delivery_view
        from shared.webhooks import endpoints

        return delivery_view(self._run(endpoints.resend, self._bundle.store(), delivery_id))

    def recover(self, endpoint: str, since: str) -> dict[str, Any]:
        from shared.clock import to_iso, utcnow
        from shared.http.deliveries import recover_args
        from shared.http.views import safe_url
        from shared.webhooks import endpoints

        now = utcnow()
        url, when = self._run(recover_args, {"endpoint": endpoint, "since": since}, now)
        count = self._run(endpoints.recover, self._bundle.store(), url, when, now=now)
        return {"endpoint": safe_url(url), "endpoint_id": endpoints.endpoint_id(url),
                "since": to_iso(when), "recovered": count}

    def tick(self, owner: str = "poll:cli") -> dict[str, Any]:
        """One timer tick (the poll function's work) on this machine's state."""
        import time
        from dataclasses import asdict

        stats = self._run(self._bundle.poller.tick, deadline=time.monotonic() + 25,
                          owner=owner)
        return asdict(stats)

    def close(self) -> None:
        self._bundle.store().close()


def age(iso: str | None, now: datetime | None = None) -> str:
    """``12s``, ``4m``, ``3h``, ``2d`` since (or ``in 12s`` until) an ISO time."""
    if not iso:
        return "-"
    from shared.clock import from_iso, utcnow

    when = from_iso(iso)
    if when is None:
        return "-"
    delta = ((now or utcnow()) - when).total_seconds()
    future, delta = delta < 0, abs(delta)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if delta >= size or unit == "s":
            text = f"{int(delta // size)}{unit}"
            return f"in {text}" if future else f"{text} ago"
    return "-"
