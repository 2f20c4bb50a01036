"""A small Tencent Cloud API endpoint on 127.0.0.1 that checks TC3-HMAC-SHA256 signatures.

Written from the documented algorithm (handbook PROVIDER_FACTS.md), not from the SDK: it
recomputes the signature from the raw request and answers like the cloud does, with the
``{"Response": …}`` envelope and ``Content-Type: application/json`` exactly. Each test decides
the answer per action through ``answers``; every accepted request is kept in ``requests``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests import servers

Answer = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Received:
    action: str
    version: str
    region: str
    token: str | None
    service: str
    secret_id: str
    body: dict[str, Any]


@dataclass
class Tc3Endpoint:
    secrets: dict[str, str]  # SecretId -> SecretKey
    url: str = ""
    requests: list[Received] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _error(code: str, message: str) -> dict[str, Any]:
    return {"Error": {"Code": code, "Message": message}}


def _check(endpoint: Tc3Endpoint, headers: dict[str, str], raw: bytes) -> Received | str:
    auth = headers.get("authorization", "")
    algorithm, _, rest = auth.partition(" ")
    if algorithm != "TC3-HMAC-SHA256":
        return "unsupported signature algorithm"
    parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
    try:
        secret_id, date, service, terminator = parts["Credential"].split("/")
        signed_names = parts["SignedHeaders"].split(";")
        signature = parts["Signature"]
        stamp = int(headers["x-tc-timestamp"])
    except (KeyError, ValueError):
        return "malformed Authorization header"
    if terminator != "tc3_request" or secret_id not in endpoint.secrets:
        return "unknown SecretId"
    if abs(time.time() - stamp) > 300:
        return "request timestamp is too far from now"
    if datetime.fromtimestamp(stamp, tz=timezone.utc).strftime("%Y-%m-%d") != date:
        return "credential date does not match the timestamp"
    canonical_headers = "".join(f"{n}:{headers.get(n, '').strip().lower()}\n"
                                for n in signed_names)
    canonical = "\n".join(["POST", "/", "", canonical_headers, ";".join(signed_names),
                           hashlib.sha256(raw).hexdigest()])
    to_sign = "\n".join(["TC3-HMAC-SHA256", str(stamp), f"{date}/{service}/tc3_request",
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("TC3" + endpoint.secrets[secret_id]).encode(), date)
    key = _hmac(_hmac(key, service), "tc3_request")
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "signature does not match"
    return Received(action=headers.get("x-tc-action", ""), version=headers.get("x-tc-version", ""),
                    region=headers.get("x-tc-region", ""), token=headers.get("x-tc-token"),
                    service=service, secret_id=secret_id, body=json.loads(raw or b"{}"))


@contextmanager
def tc3_endpoint(secrets: dict[str, str]) -> Iterator[Tc3Endpoint]:
    endpoint = Tc3Endpoint(secrets=dict(secrets))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            checked = _check(endpoint, headers, raw)
            if isinstance(checked, str):
                reply = _error("AuthFailure.SignatureFailure", checked)
            else:
                endpoint.requests.append(checked)
                answer = endpoint.answers.get(checked.action)
                reply = answer(checked.body) if answer else _error(
                    "InvalidAction", f"no such action: {checked.action}")
            reply.setdefault("RequestId", str(uuid.uuid4()))  # a recorded answer keeps its own
            data = json.dumps({"Response": reply}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    with servers.serving(Handler) as url:
        endpoint.url = url
        yield endpoint
