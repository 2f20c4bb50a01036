"""SCF and Lambda trigger events, reduced to one request shape.

HTTP triggers — Tencent SCF function URLs and the older SCF API gateway, AWS API Gateway REST
(v1) and HTTP API (v2), Lambda function URLs — all become one API Gateway REST (v1) proxy
event, which the Powertools resolver in ``shared.http`` serves; the answer goes back in the
plain ``{statusCode, headers, body, isBase64Encoded}`` shape every one of those triggers
accepts.

An SCF function URL sends the gateway shape without ``requestContext`` (Tencent doc 583/96099):
``{body, headers, httpMethod, path, queryString}``, the client address in the
``x-scf-remote-addr`` header. That page drops ``isBase64Encoded`` and says nothing of binary
bodies; we assume (unconfirmed) a base64 body would come flagged as the gateway protocol it
derives from flags it, and honour the flag when present. Courier's API takes JSON text only,
so an unflagged binary body is simply a body that is not JSON: the usual 400.
Timer triggers (SCF timer, EventBridge schedule) become :class:`TimerTrigger`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TimerTrigger:
    name: str  # SCF TriggerName / EventBridge rule name
    time: str | None  # when the platform fired it (ISO 8601)
    message: str | None  # SCF timer Message / EventBridge detail, as text


SCF_REMOTE_ADDR = "x-scf-remote-addr"  # the function URL's client address header


def is_function_url(event: Any) -> bool:
    """An SCF function URL event: method, path and headers, and no ``requestContext``."""
    return (isinstance(event, dict) and "requestContext" not in event
            and isinstance(event.get("httpMethod"), str) and isinstance(event.get("path"), str)
            and isinstance(event.get("headers"), dict))


def is_http(event: Any) -> bool:
    if not isinstance(event, dict):
        return False
    ctx = event.get("requestContext")
    if ctx is None:
        return is_function_url(event)
    return isinstance(ctx, dict) and (
        "httpMethod" in event or "httpMethod" in ctx or isinstance(ctx.get("http"), dict))


def to_rest_event(event: dict[str, Any]) -> dict[str, Any]:
    """Any HTTP trigger event -> an API Gateway REST (v1) proxy event."""
    ctx = event.get("requestContext") or {}
    if not isinstance(ctx, dict):
        ctx = {}
    headers = {str(k): str(v) for k, v in (event.get("headers") or {}).items()}
    if not ctx:  # SCF function URL: no requestContext; client address in a header
        method = str(event.get("httpMethod") or "GET")
        path = str(event.get("path") or "/")
        query = dict(event.get("queryString") or event.get("queryStringParameters") or {})
        lowered = {k.lower(): v for k, v in headers.items()}
        source_ip = lowered.get(SCF_REMOTE_ADDR)
        stage = request_id = None  # the invocation's own id comes from the context
    elif isinstance(ctx.get("http"), dict):  # HTTP API v2 / Lambda function URL
        method = ctx["http"].get("method", "GET")
        path = event.get("rawPath") or ctx["http"].get("path") or "/"
        query = dict(event.get("queryStringParameters") or {})
        if event.get("cookies"):
            headers.setdefault("cookie", "; ".join(event["cookies"]))
        source_ip = ctx["http"].get("sourceIp")
        stage = ctx.get("stage")
        request_id = ctx.get("requestId")
    else:  # REST v1 or SCF API gateway
        method = event.get("httpMethod") or ctx.get("httpMethod") or "GET"
        path = event.get("path") or ctx.get("path") or "/"
        query = dict(event.get("queryStringParameters") or event.get("queryString") or {})
        source_ip = ctx.get("sourceIp") or (ctx.get("identity") or {}).get("sourceIp")
        stage = ctx.get("stage")
        request_id = ctx.get("requestId")
        stage_prefix = f"/{stage}" if stage else None
        # SCF gateways may pass the stage-prefixed path; the routes don't include it.
        if stage_prefix and "serviceId" in ctx and path.startswith(stage_prefix + "/"):
            path = path[len(stage_prefix):]
    query = {str(k): str(v) if not isinstance(v, list) else str(v[-1])
             for k, v in query.items()}
    body, encoded = _text_body(event.get("body"), bool(event.get("isBase64Encoded", False)))
    return {
        "resource": path,
        "path": path,
        "httpMethod": method.upper(),
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} or None,
        "pathParameters": None,
        "stageVariables": None,
        "body": body,
        "isBase64Encoded": encoded,
        "requestContext": {
            "requestId": request_id or "local",
            "stage": stage or "$default",
            "httpMethod": method.upper(),
            "path": path,
            "resourcePath": path,
            "identity": {"sourceIp": source_ip},
        },
    }


def _text_body(body: Any, encoded: bool) -> tuple[str | None, bool]:
    """The body as text, decoded here once when the trigger sent it base64 encoded.

    A body flagged base64 that is not base64, or whose bytes are not UTF-8 text (JSON is
    UTF-8, RFC 8259), is passed on flagged, for the request decoding
    (:mod:`shared.http.decode`) to refuse by name. A stray JSON value (not text) is sent
    back to text.
    """
    if body is not None and not isinstance(body, str):
        import json

        try:
            return json.dumps(body), False
        except (TypeError, ValueError):
            return str(body), False
    if not (encoded and body):
        return body, False
    import base64
    import binascii

    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return body, True
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return body, True


def to_plain_response(response: dict[str, Any]) -> dict[str, Any]:
    """Resolver answer -> ``{statusCode, headers, body, isBase64Encoded}`` for every trigger."""
    headers: dict[str, str] = dict(response.get("headers") or {})
    for name, values in (response.get("multiValueHeaders") or {}).items():
        if values:
            headers[name] = ", ".join(str(v) for v in values)
    return {
        "statusCode": int(response.get("statusCode", 200)),
        "headers": headers,
        "body": response.get("body") or "",
        "isBase64Encoded": bool(response.get("isBase64Encoded", False)),
    }


def timer_trigger(event: Any) -> TimerTrigger | None:
    if not isinstance(event, dict):
        return None
    if event.get("Type") == "Timer":  # SCF timer trigger
        return TimerTrigger(str(event.get("TriggerName") or "timer"), event.get("Time"),
                            event.get("Message"))
    if event.get("detail-type") == "Scheduled Event" or event.get("source") == "aws.events":
        resources = event.get("resources") or ["schedule"]
        name = str(resources[0]).rsplit("/", 1)[-1]
        detail = event.get("detail")
        message = None
        if isinstance(detail, dict) and detail:
            import json

            message = json.dumps(detail)
        elif isinstance(detail, str):
            message = detail
        return TimerTrigger(name, event.get("time"), message)
    return None


def async_payload(event: Any) -> dict[str, Any]:
    """The complete function's payload: ``{"export_id": …}``, however it was delivered."""
    if isinstance(event, dict):
        if "export_id" in event:
            return event
        # SCF async invocations may arrive wrapped; Lambda destinations wrap in requestPayload.
        for key in ("requestPayload", "payload", "Payload", "body"):
            inner = event.get(key)
            if isinstance(inner, str):
                import json

                try:
                    inner = json.loads(inner)
                except (ValueError, RecursionError):  # not JSON, or nested too deep
                    continue
            if isinstance(inner, dict) and "export_id" in inner:
                return inner
    return {}
