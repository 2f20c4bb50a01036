"""The chat platforms' group bots, as their pages describe them (sources: SOURCES.md, "Chat
bots"): WeCom, DingTalk and Feishu/Lark custom bots on 127.0.0.1.

Each bot checks what its platform checks (the key or token in the address; DingTalk's and
Feishu's signature and timestamp when signing is on; the message's form and size), enforces
the platform's rate limit with the platform's error code, and records what it accepted and
what it refused. Answers are HTTP 200 with the platform's JSON result (code 0 = accepted).
Time is the sandbox clock, so a test can sit out DingTalk's ten-minute block in a moment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

from sandbox.clock import Clock

# -- what each platform answers (codes marked "assumed" in SOURCES.md are not on the pages)
WECOM_BAD_KEY = (93000, "invalid webhook url")  # assumed
WECOM_TOO_FAST = (45009, "api freq out of limit")  # assumed
WECOM_TOO_LONG = (40058, "markdown.content exceed max length 4096")  # assumed
DING_BAD_TOKEN = (300001, "token is not exist")  # assumed
DING_BAD_SIGN = (310000, "sign not match")  # assumed
DING_TOO_FAST = (130101, "send too fast, exceed 20 times per minute")
FEISHU_BAD_HOOK = (19001, "param invalid: incoming webhook access token invalid")  # assumed
FEISHU_BAD_SIGN = (19021, "sign match fail or timestamp is not within one hour from "
                          "current time")  # assumed
FEISHU_TOO_FAST = (11232, "frequency limited psm")
FEISHU_TOO_BIG = (9499, "Bad Request: body exceeds 20 KB")  # assumed code

SIGN_WINDOW_S = 3600.0  # DingTalk: within an hour; Feishu: assumed the same
DING_BLOCK_S = 600.0


@dataclass
class Bot:
    kind: str  # wecom | dingtalk | feishu | lark
    token: str  # the key / access_token / hook id
    secret: str | None = None
    url: str = ""
    sent: deque[float] = field(default_factory=deque)  # times of accepted messages
    blocked_until: float = 0.0  # DingTalk's ten-minute block


@dataclass
class Message:
    bot: str  # the bot's token
    kind: str
    text: str  # the markdown the message carried
    title: str | None
    at: float


@dataclass
class Refusal:
    bot: str
    kind: str
    code: int
    message: str
    at: float


class ChatBots:
    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.bots: dict[str, Bot] = {}
        self.messages: list[Message] = []
        self.refused: list[Refusal] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- setting up --------------------------------------------------------------------------

    def start(self) -> ChatBots:
        bots = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = bots.handle(self.path, body)
                raw = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, kind: str, secret: str | None = None) -> Bot:
        """A new bot of ``kind``; its ``url`` is what the platform would show its owner."""
        token = secrets.token_hex(16)
        paths = {"wecom": f"/cgi-bin/webhook/send?key={token}",
                 "dingtalk": f"/robot/send?access_token={token}",
                 "feishu": f"/open-apis/bot/v2/hook/{token}",
                 "lark": f"/open-apis/bot/v2/hook/{token}"}
        bot = Bot(kind, token, secret, self.base + paths[kind])
        with self._lock:
            self.bots[token] = bot
        return bot

    def received(self, bot: Bot) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.bot == bot.token]

    def refusals(self, bot: Bot) -> list[Refusal]:
        with self._lock:
            return [r for r in self.refused if r.bot == bot.token]

    # -- answering ---------------------------------------------------------------------------

    def handle(self, path: str, body: bytes) -> dict[str, Any]:
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/cgi-bin/webhook/send":
            return self._wecom(query.get("key", ""), body)
        if parts.path == "/robot/send":
            return self._dingtalk(query, body)
        if parts.path.startswith("/open-apis/bot/v2/hook/"):
            return self._feishu(parts.path.rsplit("/", 1)[-1], body)
        return {"errcode": 404, "errmsg": "no such path"}

    def _doc(self, body: bytes) -> dict[str, Any]:
        try:
            doc = json.loads(body)
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}

    def _refuse(self, bot: Bot | None, kind: str, answer: tuple[int, str],
                field_names: tuple[str, str]) -> dict[str, Any]:
        code, message = answer
        with self._lock:
            self.refused.append(Refusal(bot.token if bot else "?", kind, code, message,
                                        self.clock.now()))
        return {field_names[0]: code, field_names[1]: message}

    def _within(self, bot: Bot, per_minute: int, per_second: int | None = None) -> bool:
        """Count a message against the bot's limits; False if it is one too many."""
        now = self.clock.now()
        with self._lock:
            while bot.sent and bot.sent[0] <= now - 60:
                bot.sent.popleft()
            if len(bot.sent) >= per_minute:
                return False
            if per_second is not None and sum(1 for t in bot.sent if t > now - 1) >= per_second:
                return False
            bot.sent.append(now)
            return True

    def _keep(self, bot: Bot, text: str, title: str | None) -> None:
        with self._lock:
            self.messages.append(Message(bot.token, bot.kind, text, title, self.clock.now()))

    def _wecom(self, key: str, body: bytes) -> dict[str, Any]:
        names = ("errcode", "errmsg")
        bot = self.bots.get(key)
        if bot is None or bot.kind != "wecom":
            return self._refuse(None, "wecom", WECOM_BAD_KEY, names)
        doc = self._doc(body)
        content = str((doc.get("markdown") or {}).get("content") or "")
        if len(content.encode()) > 4096:
            return self._refuse(bot, "wecom", WECOM_TOO_LONG, names)
        if not self._within(bot, 20):
            return self._refuse(bot, "wecom", WECOM_TOO_FAST, names)
        self._keep(bot, content, None)
        return {"errcode": 0, "errmsg": "ok"}

    def _dingtalk(self, query: dict[str, str], body: bytes) -> dict[str, Any]:
        names = ("errcode", "errmsg")
        bot = self.bots.get(query.get("access_token", ""))
        if bot is None or bot.kind != "dingtalk":
            return self._refuse(None, "dingtalk", DING_BAD_TOKEN, names)
        now = self.clock.now()
        if bot.secret is not None:
            ts, sign = query.get("timestamp", ""), query.get("sign", "")
            want = base64.b64encode(hmac.new(bot.secret.encode(), f"{ts}\n{bot.secret}".encode(),
                                             hashlib.sha256).digest()).decode()
            # parse_qs decoded the query once; the sign was URL-encoded once more
            fresh = ts.isdigit() and abs(now - int(ts) / 1000) <= SIGN_WINDOW_S
            if not fresh or not hmac.compare_digest(unquote_plus(sign), want) and not (
                    hmac.compare_digest(sign, want)):
                return self._refuse(bot, "dingtalk", DING_BAD_SIGN, names)
        if now < bot.blocked_until:
            return self._refuse(bot, "dingtalk", DING_TOO_FAST, names)
        if not self._within(bot, 20):
            bot.blocked_until = now + DING_BLOCK_S
            return self._refuse(bot, "dingtalk", DING_TOO_FAST, names)
        md = self._doc(body).get("markdown") or {}
        self._keep(bot, str(md.get("text") or ""), md.get("title"))
        return {"errcode": 0, "errmsg": "ok"}

    def _feishu(self, hook: str, body: bytes) -> dict[str, Any]:
        names = ("code", "msg")
        bot = self.bots.get(hook)
        if bot is None or bot.kind not in ("feishu", "lark"):
            return self._refuse(None, "feishu", FEISHU_BAD_HOOK, names)
        if len(body) > 20 * 1024:
            return self._refuse(bot, bot.kind, FEISHU_TOO_BIG, names)
        doc = self._doc(body)
        if bot.secret is not None:
            ts, sign = str(doc.get("timestamp") or ""), str(doc.get("sign") or "")
            want = base64.b64encode(hmac.new(f"{ts}\n{bot.secret}".encode(), b"",
                                             hashlib.sha256).digest()).decode()
            fresh = ts.isdigit() and abs(self.clock.now() - int(ts)) <= SIGN_WINDOW_S
            if not fresh or not hmac.compare_digest(sign, want):
                return self._refuse(bot, bot.kind, FEISHU_BAD_SIGN, names)
        if not self._within(bot, 100, per_second=5):
            return self._refuse(bot, bot.kind, FEISHU_TOO_FAST, names)
        card = doc.get("card") or {}
        title = ((card.get("header") or {}).get("title") or {}).get("content")
        text = "\n".join(str(e.get("content") or "") for e in card.get("elements") or []
                         if isinstance(e, dict))
        self._keep(bot, text, title)
        return {"code": 0, "msg": "success", "data": {}}
