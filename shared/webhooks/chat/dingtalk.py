"""DingTalk (钉钉) custom robot: ``…/robot/send?access_token=…``; with signing on, the query
also carries ``timestamp`` (ms) and ``sign``: base64 of HMAC-SHA256 keyed by the secret over
``timestamp + "\\n" + secret``, URL-encoded. 20 messages a minute per robot; one that sends
faster is throttled for 10 minutes (errcode 130101): the whole wait is sat out."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import quote_plus

from shared.setting_values import ChatBot
from shared.webhooks.chat.message import Reply, fit

LIMIT_BYTES = 5000  # markdown text: an assumption, below what the pages let through
PER_MINUTE = 20
THROTTLED = 130101
THROTTLE_WAITS = {THROTTLED: 600.0}


def sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def request(bot: ChatBot, title: str, text: str, now_s: float) -> tuple[str, dict[str, Any]]:
    url = bot.url
    if bot.secret:
        ts = int(now_s * 1000)
        url += ("&" if "?" in url else "?") + f"timestamp={ts}&sign={sign(bot.secret, ts)}"
    return url, {"msgtype": "markdown",
                 "markdown": {"title": title[:64], "text": fit(text, LIMIT_BYTES)}}


def reply(doc: dict[str, Any]) -> Reply:
    code = doc.get("errcode")
    code = code if isinstance(code, int) else None
    return Reply(code, str(doc.get("errmsg") or "")[:200], THROTTLE_WAITS.get(code or 0))
