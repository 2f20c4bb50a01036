"""What one delivery attempt came to, and the waits that follow from it.

An :class:`Outcome` is the same for a Standard Webhooks POST and for a chat bot message:
the HTTP status (None when no answer came), how long it took, the error in words, and when
to try again if the receiver said so (``Retry-After``, a chat platform's throttle).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

JITTER = 0.10  # each delay is stretched or shrunk by up to this fraction
MAX_RETRY_AFTER_S = 24 * 3600.0  # a Retry-After further out than this is capped


@dataclass
class Outcome:
    status: int | None
    latency_ms: int
    error: str | None
    retry_at: datetime | None = None
    # the receiver is busy, not broken (a chat platform's rate limit): wait until
    # ``retry_at``; the attempt counts neither as a failure nor towards the schedule
    throttled: bool = False
    refused: bool = False  # answered, but said no (a chat platform's error code)

    @property
    def ok(self) -> bool:
        return (self.status is not None and 200 <= self.status < 300 and not self.throttled
                and not self.refused)


def jittered(seconds: float) -> float:
    return seconds * (1 + random.uniform(-JITTER, JITTER))


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """``Retry-After`` as an absolute time (delta-seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return now + timedelta(seconds=min(float(value), MAX_RETRY_AFTER_S))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return min(when.astimezone(timezone.utc), now + timedelta(seconds=MAX_RETRY_AFTER_S))
