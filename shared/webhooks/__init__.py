"""Outgoing webhooks, from a task's state change to a signed, retried delivery.

* :mod:`~shared.webhooks.notify` — which events a task change raises, for which endpoints;
* :mod:`~shared.webhooks.delivery` — the queue: enqueue, claim, POST, retry, give up;
* :mod:`~shared.webhooks.endpoints` — endpoint health and the operator's resend / recover;
* :mod:`~shared.webhooks.signing` — Standard Webhooks signatures and headers;
* :mod:`~shared.webhooks.chat` — WeCom, DingTalk and Feishu/Lark bots as subscribers;
* :mod:`~shared.webhooks.operator` — the operator's events (endpoint disabled / recovered,
  delivery dead-lettered).
"""
