"""Deliveries to chat bots: within each bot's limits, coalesced, as the platform's message.

Before a message goes out, the bot's token bucket in the state store (shared by every
container; :mod:`shared.state.bucket`) must have a slot free now: a bot is sent at most 90 %
of its platform's per-minute limit (or its ``per_minute``). A delivery that finds no slot
waits for the next one, untouched. The one that gets a slot takes along every other
delivery pending for the same bot: two or more go as one digest ("12 exports delivered in
the last minute: …"), and each one carried is marked delivered with the carrier's id.

A platform throttle is a wait, not a failure: DingTalk's 130101 holds the bucket for the ten
minutes the robot is blocked; Feishu's 11232 halves the bucket's rate and backs off; WeCom's
limit answer waits a minute. Any other error code is a failure, retried on the schedule and
counted towards disabling the endpoint, like a webhook's non-2xx answer.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from types import ModuleType
from typing import TYPE_CHECKING

from shared import cutoff, netguard
from shared.clock import to_iso
from shared.config import Settings
from shared.errors import NotFoundError, UnsafeTargetError, VersionConflictError
from shared.model import DeliveryState, WebhookDelivery
from shared.setting_values import CHAT_PREFIX, ChatBot
from shared.state.base import TaskStore
from shared.state.bucket import BucketPolicy
from shared.webhooks.chat import dingtalk, feishu, wecom
from shared.webhooks.chat.message import Event, compose
from shared.webhooks.endpoints import scan
from shared.webhooks.outcome import Outcome

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

PLATFORMS: dict[str, ModuleType] = {"wecom": wecom, "dingtalk": dingtalk, "feishu": feishu,
                                    "lark": feishu}
NAMES = {"wecom": "WeCom", "dingtalk": "DingTalk", "feishu": "Feishu", "lark": "Lark"}
SHARE = 0.9  # of the platform's per-minute limit
DIGEST_MAX = 200  # deliveries one message may carry
REQUEST_TIMEOUT_S = 15.0


def is_chat(endpoint: str) -> bool:
    return endpoint.startswith(CHAT_PREFIX)


def per_second(bot: ChatBot) -> float:
    platform = min(PLATFORMS[bot.kind].PER_MINUTE * SHARE, bot.per_minute or 1e9)
    return platform / 60.0


def policy(bot: ChatBot) -> BucketPolicy:
    rate = per_second(bot)
    return BucketPolicy(ceiling=rate, floor=rate / 4, factor=0.5, recover_per_s=rate / 60)


def bucket_of(bot: ChatBot) -> str:
    return f"chat|{bot.name}"


class ChatSender:
    def __init__(self, store: TaskStore, settings: Settings, session: requests.Session,
                 deadline: float | None) -> None:
        self.store = store
        self.settings = settings
        self.session = session
        self.deadline = deadline

    def send(self, d: WebhookDelivery, now: datetime) -> Outcome | None:
        """One message for ``d`` (and what is pending for its bot), or None: no slot yet."""
        started = time.monotonic()
        current = self.store.get_delivery(d.id)
        if current.version != d.version or current.state is not DeliveryState.PENDING:
            return None  # carried in a digest (or resent) since it was claimed
        bot = self.settings.chat_bot(d.endpoint)
        if bot is None:
            return Outcome(None, 0, f"refused: no bot {d.endpoint[len(CHAT_PREFIX):]!r} in "
                                    "COURIER_CHAT_BOTS", refused=True)
        try:
            netguard.check_url(bot.url, allow_hosts=self.settings.allow_private_hosts)
        except UnsafeTargetError as exc:
            return Outcome(None, 0, f"refused: {exc.message}")
        now_s = now.timestamp()
        if not self.store.take_slots(bucket_of(bot), want=1, latest=now_s, now=now_s,
                                     policy=policy(bot)):
            self._wait(d, now + timedelta(seconds=1 / per_second(bot)))
            return None
        carried = self._pending_for(d, now)
        events = [Event(x.payload, self._params(x)) for x in [d, *carried]]
        title, text = compose(events, self.settings.public_url)
        platform = PLATFORMS[bot.kind]
        url, body = platform.request(bot, title, text, time.time())
        outcome = self._post(bot, url, body, now, started)
        if outcome.ok:
            self._carried(carried, d, outcome, now)
        else:
            self._let_go(carried)
        return outcome

    # -- the bucket's waits --------------------------------------------------------------------

    def _wait(self, d: WebhookDelivery, until: datetime) -> None:
        d.release()
        d.due_at = until
        try:
            self.store.update_delivery(d)
        except VersionConflictError:
            log.debug("delivery %s changed while waiting for its bot", d.id)

    def _throttled(self, bot: ChatBot, wait_s: float, now: datetime) -> None:
        now_s = now.timestamp()
        if bot.kind == "feishu" or bot.kind == "lark":
            self.store.slow_bucket(bucket_of(bot), now=now_s, policy=policy(bot))
        self.store.hold_bucket(bucket_of(bot), until=now_s + wait_s, now=now_s,
                               policy=policy(bot))

    # -- digests -------------------------------------------------------------------------------

    def _pending_for(self, d: WebhookDelivery, now: datetime) -> list[WebhookDelivery]:
        out = []
        for other in scan(self.store, (DeliveryState.PENDING,)):
            if other.endpoint != d.endpoint or other.id == d.id:
                continue
            if (other.lease_until is not None and other.lease_until > now
                    and other.lease_owner != d.lease_owner):
                continue  # another sender holds it
            # held while the message goes, so no other sender sends it too
            other.lease_owner, other.lease_until = d.lease_owner, now + timedelta(seconds=60)
            try:
                out.append(self.store.update_delivery(other))
            except VersionConflictError:
                continue
            if len(out) >= DIGEST_MAX - 1:
                break
        out.sort(key=lambda x: x.created_at)
        return out

    def _let_go(self, carried: list[WebhookDelivery]) -> None:
        """The message did not go: the carried deliveries are free again, as they were."""
        for other in carried:
            other.release()
            try:
                self.store.update_delivery(other)
            except VersionConflictError:
                log.debug("delivery %s changed meanwhile", other.id)

    def _carried(self, carried: list[WebhookDelivery], carrier: WebhookDelivery,
                 outcome: Outcome, now: datetime) -> None:
        for other in carried:
            other.attempts.append({"time": to_iso(now), "status": outcome.status,
                                   "latency_ms": outcome.latency_ms, "error": None,
                                   "digest": carrier.id})
            other.state, other.due_at = DeliveryState.DELIVERED, None
            other.release()
            try:
                self.store.update_delivery(other)
            except VersionConflictError:
                log.info("delivery %s changed while carried in a digest; it stays as it is",
                         other.id)

    def _params(self, d: WebhookDelivery) -> dict | None:
        if not d.event_type.startswith("export."):
            return None
        try:
            return self.store.get_task(d.task_id).params
        except NotFoundError:
            return None

    # -- the request ---------------------------------------------------------------------------

    def _post(self, bot: ChatBot, url: str, body: dict, now: datetime,
              started: float) -> Outcome:
        import requests

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        until = started + REQUEST_TIMEOUT_S
        if self.deadline is not None:
            until = max(started, min(until, self.deadline))
        name = NAMES[bot.kind]
        data = json.dumps(body, ensure_ascii=False).encode()
        try:
            with cutoff.cut_off_at(until):
                resp = self.session.post(
                    url, data=data, headers={"content-type": "application/json; charset=utf-8"},
                    timeout=max(0.1, until - time.monotonic()), allow_redirects=False)
        except UnsafeTargetError as exc:
            return Outcome(None, elapsed(), f"refused: {exc.message}")
        except requests.RequestException as exc:
            if isinstance(exc, requests.Timeout) or cutoff.cut_off():
                return Outcome(None, elapsed(), f"timeout: {name} did not answer in time")
            return Outcome(None, elapsed(),
                           f"connection failed: {netguard.failure_words(exc)}")
        status = resp.status_code
        if not 200 <= status < 300:
            return Outcome(status, elapsed(), f"{name} answered HTTP {status}")
        try:
            doc = resp.json()
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            return Outcome(status, elapsed(), f"{name} answered without a JSON result",
                           refused=True)
        reply = PLATFORMS[bot.kind].reply(doc)
        if reply.ok:
            return Outcome(status, elapsed(), None)
        if reply.wait_s is not None:
            self._throttled(bot, reply.wait_s, now)
            return Outcome(status, elapsed(), f"{name} throttled the bot ({reply.code} "
                           f"{reply.message}); waiting {reply.wait_s:.0f} s",
                           retry_at=now + timedelta(seconds=reply.wait_s), throttled=True)
        return Outcome(status, elapsed(), f"{name} refused the message: {reply.code} "
                       f"{reply.message}", refused=True)
