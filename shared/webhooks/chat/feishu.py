"""Feishu (飞书) and Lark custom bots: ``…/open-apis/bot/v2/hook/<id>``; with signing on, the
body carries ``timestamp`` (s) and ``sign``: base64 of HMAC-SHA256 keyed by
``timestamp + "\\n" + secret`` over an empty message. The message is a card with a markdown
element; the body stays within 20 KB. 100 messages a minute and 5 a second per bot; over
that the answer is code 11232, and the sender backs off."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from shared.setting_values import ChatBot
from shared.webhooks.chat.message import Reply, fit

BODY_LIMIT = 20 * 1024
LIMIT_BYTES = BODY_LIMIT - 2048  # the markdown, leaving room for the card around it
PER_MINUTE = 100
THROTTLED = 11232
BACK_OFF_S = 30.0


def sign(secret: str, timestamp_s: int) -> str:
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def request(bot: ChatBot, title: str, text: str, now_s: float) -> tuple[str, dict[str, Any]]:
    failed = any(w in title for w in ("failed", "disabled", "dead", "stuck"))
    limit = LIMIT_BYTES
    while True:  # JSON escapes may grow the text: cut further until the body fits
        body: dict[str, Any] = {
            "msg_type": "interactive",
            "card": {"header": {"title": {"tag": "plain_text", "content": title[:100]},
                                "template": "red" if failed else "green"},
                     "elements": [{"tag": "markdown", "content": fit(text, limit)}]}}
        if bot.secret:
            ts = int(now_s)
            body = {"timestamp": str(ts), "sign": sign(bot.secret, ts), **body}
        if len(json.dumps(body, ensure_ascii=False).encode()) <= BODY_LIMIT or limit < 512:
            return bot.url, body
        limit = int(limit * 0.8)


def reply(doc: dict[str, Any]) -> Reply:
    code = doc.get("code", doc.get("StatusCode"))
    code = code if isinstance(code, int) else None
    message = str(doc.get("msg") or doc.get("StatusMessage") or "")[:200]
    return Reply(code, message, BACK_OFF_S if code == THROTTLED else None)
