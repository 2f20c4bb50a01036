"""WeCom (企业微信) group bot: ``…/cgi-bin/webhook/send?key=<key>``; the key is its only
secret. A markdown message (content at most 4,096 bytes), 20 messages a minute per bot."""

from __future__ import annotations

from typing import Any

from shared.setting_values import ChatBot
from shared.webhooks.chat.message import Reply, fit

LIMIT_BYTES = 4096  # markdown content
PER_MINUTE = 20
# errcode of "over the frequency limit" (an assumption: not on the pages read); wait a minute
THROTTLE_WAITS = {45009: 60.0}


def request(bot: ChatBot, title: str, text: str, now_s: float) -> tuple[str, dict[str, Any]]:
    return bot.url, {"msgtype": "markdown", "markdown": {"content": fit(text, LIMIT_BYTES)}}


def reply(doc: dict[str, Any]) -> Reply:
    code = doc.get("errcode")
    code = code if isinstance(code, int) else None
    return Reply(code, str(doc.get("errmsg") or "")[:200], THROTTLE_WAITS.get(code or 0))
