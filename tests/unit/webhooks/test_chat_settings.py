"""Chat bots and operator subscribers in the settings: parsed, checked, kept out of logs."""

from __future__ import annotations

import json

import pytest

from shared.config import Settings
from shared.errors import ConfigError
from shared.secret_stores.references import parts
from shared.webhooks.chat.message import CUT_NOTE, fit

BASE = {"COURIER_PROFILE": "sandbox", "COURIER_AUTH": "none"}
BOTS = {"team": {"kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?"
                 "access_token=tok123", "secret": "SECabc"},
        "ops": {"kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?"
                "key=k-456", "per_minute": 10}}


def test_bots_endpoints_and_operators_are_read() -> None:
    s = Settings.from_env({**BASE, "COURIER_CHAT_BOTS": json.dumps(BOTS),
                           "COURIER_WEBHOOK_ENDPOINTS": json.dumps(
                               [{"chat": "team", "events": ["export.failed"]}]),
                           "COURIER_OPERATOR_SUBSCRIBERS": "https://ops.example.com/h, chat:ops",
                           "COURIER_PUBLIC_URL": "https://courier.example.com/"})
    assert s.webhook_endpoints == ({"events": ["export.failed"], "url": "chat:team"},)
    assert s.operator_subscribers == ("https://ops.example.com/h", "chat:ops")
    team = s.chat_bot("chat:team")
    assert team is not None and team.kind == "dingtalk" and team.secret == "SECabc"
    assert s.public_url == "https://courier.example.com"
    assert "tok123" not in repr(s) and "SECabc" not in repr(s)
    for secret in (BOTS["team"]["url"], "SECabc", BOTS["ops"]["url"]):
        assert secret in s.secret_values()
        assert secret in parts("COURIER_CHAT_BOTS", json.dumps(BOTS))


@pytest.mark.parametrize("env,problem", [
    ({"COURIER_CHAT_BOTS": "[1]"}, "COURIER_CHAT_BOTS: must be a JSON object of bots by name"),
    ({"COURIER_CHAT_BOTS": '{"a": {"kind": "slack", "url": "https://x"}}'},
     "COURIER_CHAT_BOTS.a.kind: must be one of wecom, dingtalk, feishu, lark"),
    ({"COURIER_CHAT_BOTS": '{"a": {"kind": "wecom", "url": "ftp://x"}}'},
     "COURIER_CHAT_BOTS.a.url: needs the bot's http(s) webhook address"),
    ({"COURIER_CHAT_BOTS": '{"a": {"kind": "wecom", "url": "https://x", "secret": "s"}}'},
     "COURIER_CHAT_BOTS.a.secret: WeCom bots do not sign"),
    ({"COURIER_CHAT_BOTS": '{"a": {"kind": "feishu", "url": "https://x", "per_minute": 500}}'},
     "COURIER_CHAT_BOTS.a.per_minute: must be a number above 0, at most 100"),
    ({"COURIER_WEBHOOK_ENDPOINTS": '[{"chat": "nobody"}]'},
     "COURIER_WEBHOOK_ENDPOINTS[0]: chat:nobody names no bot of COURIER_CHAT_BOTS"),
    ({"COURIER_WEBHOOK_ENDPOINTS": '[{"chat": "a", "url": "https://x"}]'},
     "COURIER_WEBHOOK_ENDPOINTS[0]: give either \"url\" or \"chat\""),
    ({"COURIER_OPERATOR_SUBSCRIBERS": "ops@example.com"},
     "COURIER_OPERATOR_SUBSCRIBERS: item 1 must be an http(s) URL or chat:<bot name>"),
    ({"COURIER_OPERATOR_SUBSCRIBERS": "chat:ops"},
     "COURIER_OPERATOR_SUBSCRIBERS: chat:ops names no bot of COURIER_CHAT_BOTS"),
    ({"COURIER_WEBHOOK_URLS": "https://hooks.example.com/a,chat:team"},
     "COURIER_WEBHOOK_URLS: chat:team names no bot of COURIER_CHAT_BOTS"),
    ({"COURIER_SCHEDULES": json.dumps([{"name": "daily", "provider": "cls", "every_s": 3600,
                                        "params": {}, "subscribers": ["chat:night-shift"]}])},
     "COURIER_SCHEDULES[0].subscribers: chat:night-shift names no bot of COURIER_CHAT_BOTS"),
    ({"COURIER_WEBHOOK_ENDPOINTS": '[{"chat": "a", "per_minute": 5}]'},
     "COURIER_WEBHOOK_ENDPOINTS[0].per_minute: a chat bot's rate is set on the bot: "
     "COURIER_CHAT_BOTS.a.per_minute"),
], ids=["not-object", "kind", "url", "wecom-secret", "rate", "unknown-bot", "both",
        "operator-form", "operator-bot", "urls-bot", "schedule-bot", "rate-on-chat-entry"])
def test_bad_chat_settings_stop_the_cold_start(env: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as exc:
        Settings.from_env({**BASE, **env})
    assert problem in exc.value.message


def test_fit_cuts_on_a_line_within_the_limit() -> None:
    text = "\n".join(f"- line {i} 导出" for i in range(1000))
    cut = fit(text, 4096)
    assert len(cut.encode()) <= 4096 and cut.endswith(CUT_NOTE)
    assert cut[: -len(CUT_NOTE)].splitlines()[-1].startswith("- line ")
    assert fit("short", 4096) == "short"


@pytest.mark.parametrize("kind,per_minute,rate", [
    ("wecom", None, 0.3), ("dingtalk", None, 0.3), ("feishu", None, 1.5), ("lark", None, 1.5),
    ("feishu", 6, 0.1), ("wecom", 60, 0.3)], ids=["wecom", "dingtalk", "feishu", "lark",
                                                  "own-lower", "own-higher-capped"])
def test_a_bot_is_sent_at_most_90_percent_of_its_limit(kind: str, per_minute: float | None,
                                                      rate: float) -> None:
    from shared.setting_values import ChatBot
    from shared.webhooks.chat.sender import per_second

    assert per_second(ChatBot("b", kind, "https://x", None, per_minute)) == pytest.approx(rate)
