"""DLC's times: the ``StartTime``/``EndTime`` windows ``DescribeTasks`` is asked with, and
the times it answers in (epoch milliseconds, or Beijing time as ``yyyy-mm-dd HH:MM:SS``).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

# DescribeTasks window: ≤ 30 days long, ≤ 45 days back; kept a day inside both, and a day of
# margin before a task's creation, for clock skew and the zone of the times (Beijing time,
# as DLC shows CreateTime: an assumption the margins make harmless).
WINDOW_SPAN = timedelta(days=29)
WINDOW_BACK = timedelta(days=44)
WINDOW_MARGIN = timedelta(days=1)
CHINA = timezone(timedelta(hours=8))
DLC_TIME = "%Y-%m-%d %H:%M:%S"


def windows(oldest: datetime | None, now: datetime) -> list[dict[str, str]]:
    """DescribeTasks ``StartTime``/``EndTime`` to try, in order, for tasks created since
    ``oldest`` (None: unknown, as far back as DLC lists). Without ``EndTime`` the service's
    own "now" ends the window, so a clock ahead of ours loses nothing."""
    recent = now - WINDOW_SPAN
    if oldest is None:
        older = now - WINDOW_BACK
        return [{"StartTime": fmt(recent)},
                {"StartTime": fmt(older), "EndTime": fmt(older + WINDOW_SPAN)}]
    start = max(oldest - WINDOW_MARGIN, now - WINDOW_BACK)
    if start >= recent:
        return [{"StartTime": fmt(start)}]
    return [{"StartTime": fmt(start), "EndTime": fmt(start + WINDOW_SPAN)}]


def fmt(when: datetime) -> str:
    return when.astimezone(CHINA).strftime(DLC_TIME)


def dlc_time(value: Any) -> datetime | None:
    """A DLC time: epoch milliseconds (``TaskResponseInfo.CreateTime``, ``1611646962000``) or
    seconds, or ``yyyy-mm-dd HH:MM:SS`` (Beijing time; request windows). None otherwise."""
    text = str(value or "").strip()
    if text.isdigit() and len(text) >= 10:
        return datetime.fromtimestamp(int(text) / (1000 if len(text) > 11 else 1), timezone.utc)
    try:
        return datetime.strptime(text, DLC_TIME).replace(tzinfo=CHINA)
    except ValueError:
        return None
