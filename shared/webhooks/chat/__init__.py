"""Chat bots as subscribers: WeCom, DingTalk and Feishu/Lark group bots.

A subscriber ``chat:<name>`` is a bot of ``COURIER_CHAT_BOTS``. Its deliveries go through
the same outbox, retries, disabling and resend as webhooks (:mod:`shared.webhooks.delivery`);
:mod:`.sender` turns them into messages within the bot's limits (a token bucket per bot in
the state store, bursts coalesced into one digest, the platform's throttle codes obeyed);
:mod:`.message` writes the text; one module per platform builds its request and reads its
answer (:mod:`.wecom`, :mod:`.dingtalk`, :mod:`.feishu` for Feishu and Lark).
"""
