"""Progress of a provider-side task over sandbox time, shared by the MongoDB and TCSS
emulators: queued for ``queue_s``, running for ``process_s`` (percent rising linearly), then
done (succeeded or failed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from sandbox.cls import CHINA, format_time
from sandbox.errors import ApiError

URL_LIFETIME_S = 3600
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


@dataclass
class Job:
    job_id: str
    owner: str  # MongoDB InstanceId, or the TCSS action that created it
    created: float
    size: int
    fails: bool
    file_name: str
    params: dict[str, Any] = field(default_factory=dict)
    kind: int = 0
    window: Optional[tuple[float, float]] = None  # a MongoDB task's log time range
    name: str = ""  # a TCSS job's JobName


def new_id(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex


def phase(job: Job, now: float, queue_s: float, process_s: float) -> tuple[str, int]:
    """("queued" | "running" | "succeeded" | "failed", percent 0-100)."""
    age = now - job.created
    if age < queue_s:
        return "queued", 0
    if age < queue_s + process_s:
        done = (age - queue_s) / process_s if process_s > 0 else 1.0
        return "running", min(99, int(done * 100))
    return ("failed", 100) if job.fails else ("succeeded", 100)


def finished_at(job: Job, queue_s: float, process_s: float) -> float:
    return job.created + queue_s + process_s


def download_url(sb: Any, job: Job, now: float) -> str:
    """Register the job's result file and mint a URL valid one hour of sandbox time."""
    entry = sb.files.register(job.job_id, job.file_name, job.size, job.job_id,
                              finished_at(job, sb.queue_s, sb.process_s))
    return sb.files.url(sb.url, entry.token, entry.name, int(now) + URL_LIFETIME_S)


def parse_time(name: str, value: Optional[str]) -> Optional[float]:
    """A ``yyyy-mm-dd hh:mm:ss`` (Beijing time) parameter as unix seconds."""
    if value is None:
        return None
    try:
        return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=CHINA).timestamp()
    except ValueError:
        raise ApiError("InvalidParameterValue.TimeFormatErr",
                       f"`{name}` must look like yyyy-mm-dd hh:mm:ss, got {value!r}") from None


__all__ = ["Job", "download_url", "format_time", "new_id", "parse_time", "phase"]
