"""The export task, its states and legal transitions, and webhook deliveries.

Plain dataclasses; everything that goes to the state table is JSON-friendly. Times are
timezone-aware UTC. ``version`` is the compare-and-set token: every write bumps it, and a
write that names an old version loses (``VersionConflictError``).
"""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Union
from urllib.parse import unquote, urlsplit

from shared.clock import utcnow
from shared.errors import ConflictError
from shared.redact import scrub

# Retries after a failure that can succeed later: exponential, with jitter, capped.
BACKOFF_BASE_S = 5.0
BACKOFF_CAP_S = 15 * 60.0


class TaskState(str, Enum):
    ACCEPTED = "accepted"  # stored, provider not asked yet (or asking failed and will retry)
    SUBMITTED = "submitted"  # the provider has the export; poll until ready
    READY = "ready"  # the file is ready at the provider; hand to complete
    COPYING = "copying"  # complete is copying the file
    DELIVERED = "delivered"  # the file is in the destination and verified
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({TaskState.DELIVERED, TaskState.FAILED, TaskState.CANCELLED})
# How an unpacked archive's CSV/JSON members are stored: gzip'd, or converted to Parquet
# (COURIER_FORMAT, a schedule's or an export's ``format``).
FORMATS = ("gzip", "parquet")

TRANSITIONS: dict[TaskState, frozenset[TaskState]] = {
    TaskState.ACCEPTED: frozenset({TaskState.ACCEPTED, TaskState.SUBMITTED, TaskState.FAILED,
                                   TaskState.CANCELLED}),
    # submitted -> accepted: the provider needs more creates (a CLS part re-split at the cap)
    TaskState.SUBMITTED: frozenset({TaskState.SUBMITTED, TaskState.READY, TaskState.FAILED,
                                    TaskState.CANCELLED, TaskState.ACCEPTED}),
    TaskState.READY: frozenset({TaskState.READY, TaskState.COPYING, TaskState.FAILED,
                                TaskState.CANCELLED}),
    TaskState.COPYING: frozenset({TaskState.COPYING, TaskState.READY, TaskState.DELIVERED,
                                  TaskState.FAILED}),
    TaskState.DELIVERED: frozenset(),
    # A failed export can be retried through the API: it starts over from accepted.
    TaskState.FAILED: frozenset({TaskState.ACCEPTED}),
    TaskState.CANCELLED: frozenset(),
}


class IllegalTransitionError(ConflictError):
    """A change the state machine does not allow (answered 409, never 500)."""


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """How long to wait after the ``attempts``-th failure in a row: exponential backoff with
    jitter (between half and all of the ceiling), at least the vendor's Retry-After."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * (2 ** max(0, attempts - 1)))
    delay = random.uniform(ceiling / 2, ceiling)
    return timedelta(seconds=max(delay, retry_after or 0.0))


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass
class ExportTask:
    provider: str
    params: dict[str, Any]
    id: str = field(default_factory=lambda: new_id("exp"))
    idempotency_key: str | None = None
    state: TaskState = TaskState.ACCEPTED
    stage: str | None = None  # provider-defined sub-stage (e.g. DLC "sql" then "download")
    remote: dict[str, Any] = field(default_factory=dict)  # provider ids and bookkeeping
    progress: int | None = None  # 0-100 where the provider says
    result: dict[str, Any] = field(default_factory=dict)  # file info once ready
    destination: dict[str, Any] = field(default_factory=dict)  # uri, key, size, md5
    error: dict[str, Any] | None = None  # reason, code, retryable
    subscribers: list[str] = field(default_factory=list)  # per-export webhook URLs
    account: str | None = None  # a named account (COURIER_ACCOUNTS); None: the deployment's
    destination_name: str | None = None  # a named destination; None: the deployment's
    poll_group: str | None = None  # the listing group the timer claims it with (submitted)
    attempts: int = 0  # consecutive retryable failures, for backoff
    round: int = 0  # how many times the export was retried through the API (0: never)
    # what the timer last saw of its progress, and what it told about a stall or a long wait
    # (shared.webhooks.watch): mark, since, stalls, stuck, reminded
    watch: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    due_at: datetime | None = None  # when the timer should look at it next
    lease_owner: str | None = None
    lease_until: datetime | None = None

    def move(self, new_state: TaskState) -> None:
        """Change state, refusing transitions the state machine does not allow."""
        if new_state not in TRANSITIONS[self.state]:
            raise IllegalTransitionError(f"{self.state.value} -> {new_state.value}")
        self.state = new_state

    def release(self) -> None:
        """Give up the lease: any invocation may take the task next."""
        self.lease_owner = self.lease_until = None

    def fail(self, reason: str, *, code: str | None = None, retryable: bool = False) -> None:
        self.move(TaskState.FAILED)
        self.note_error(reason, code=code, retryable=retryable)
        self.due_at = None

    def note_error(self, reason: str, *, code: str | None = None,
                   retryable: bool = False) -> None:
        """Record what went wrong (kept, shown by GET and sent in ``export.failed``): a
        provider's own words included, scrubbed of secrets (:mod:`shared.redact`)."""
        self.error = {"reason": scrub(reason), "code": code, "retryable": retryable}


class DeliveryState(str, Enum):
    PENDING = "pending"  # waiting for its next attempt
    DELIVERED = "delivered"  # the receiver answered 2xx
    DEAD = "dead"  # gave up after the whole schedule; kept, can be resent
    DISABLED = "disabled"  # the endpoint is disabled (410 or failing for too long); kept


@dataclass
class WebhookDelivery:
    task_id: str
    endpoint: str
    event_type: str
    payload: dict[str, Any]
    id: str = field(default_factory=lambda: new_id("msg"))  # the webhook-id, same on every retry
    round: int = 0  # the export's retry round the event belongs to (ExportTask.round)
    repeat: int = 0  # the n-th of an event told again (a reminder, a later stall); 0: the first
    state: DeliveryState = DeliveryState.PENDING
    attempts: list[dict[str, Any]] = field(default_factory=list)  # time, status, latency, error
    version: int = 0
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    due_at: datetime | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = None

    def release(self) -> None:
        """Give up the lease: any invocation may send the delivery next."""
        self.lease_owner = self.lease_until = None

    @property
    def key(self) -> str:
        """One delivery per export, event, endpoint and retry round: a duplicate event is a
        no-op, while the same event after ``POST /exports/{id}/retry`` is a new delivery, and
        so is an event told again (``repeat``: an ``export.waiting`` reminder, a later stall).
        The first round keeps the key deliveries had before rounds existed."""
        base = f"{self.task_id}|{self.event_type}|{self.endpoint}"
        base = base if not self.round else f"{base}|round:{self.round}"
        return base if not self.repeat else f"{base}|repeat:{self.repeat}"


@dataclass(frozen=True)
class PartRecord:
    """One finished part of a multipart upload, so a later invocation can resume."""

    part_number: int
    etag: str
    start: int  # first byte offset in the source (inclusive)
    end: int  # last byte offset (exclusive)


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None


# --- where a finished export is read from (what a provider's ``result`` returns) ------------
# Sources hold secrets (presigned URLs, tokens): their ``repr`` never shows them.


@dataclass(frozen=True)
class UrlSource:
    """A file behind an HTTP(S) URL (CLS CosPath, MongoDB Url, TCSS DownloadURL, DMS URL)."""

    url: str = field(repr=False)
    file_name: str | None = None
    size: int | None = None  # what the provider says, if it says

    def __repr__(self) -> str:
        return f"UrlSource(file_name={self.file_name!r}, size={self.size!r})"


@dataclass(frozen=True)
class CosObjectSource:
    """A COS object readable with temporary credentials (DLC result downloads)."""

    bucket: str
    region: str
    key: str
    secret_id: str = field(repr=False)
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    file_name: str | None = None
    size: int | None = None
    # Where to reach COS; None means the real service. The sandbox sets scheme/host/port.
    endpoint: str | None = None  # e.g. "http://127.0.0.1:9000"


@dataclass(frozen=True, repr=False)
class S3ObjectSource(UrlSource):
    """An object in an S3 bucket, behind a presigned ``url`` (CloudWatch Logs' staging
    bucket). It streams as any URL does; an S3 destination on the same ``endpoint`` (None:
    AWS) copies it server-side instead, where its role may read the bucket."""

    bucket: str = ""
    key: str = ""
    endpoint: str | None = None

    def __repr__(self) -> str:
        return f"S3ObjectSource({self.bucket!r}, {self.key!r}, size={self.size!r})"


@dataclass(frozen=True, repr=False)
class OssObjectSource(UrlSource):
    """An object in an OSS bucket, behind a presigned ``url`` (a DMS result). It streams as
    any URL does; an OSS destination on the same ``endpoint`` (None: Alibaba Cloud's) in the
    same ``region`` copies it server-side instead, where its keys may read the bucket."""

    bucket: str = ""
    key: str = ""
    region: str = ""
    endpoint: str | None = None

    def __repr__(self) -> str:
        return f"OssObjectSource({self.bucket!r}, {self.key!r}, size={self.size!r})"

    @classmethod
    def of_url(cls, url: str, file_name: str | None, *, endpoint: str | None = None,
               region: str = "") -> UrlSource:
        """The source behind a download URL: an OSS object when the URL is one, at OSS's own
        host (``<bucket>.oss-<region>[-internal].aliyuncs.com/<key>``) or path-style under
        ``endpoint`` (another OSS server, in ``region``); a plain URL otherwise."""
        parts = urlsplit(url)
        found = OSS_HOST.fullmatch(parts.hostname or "")
        if found and parts.scheme in ("http", "https"):
            return cls(url=url, file_name=file_name, bucket=found.group(1),
                       key=unquote(parts.path.lstrip("/")), region=found.group(2))
        base = urlsplit(endpoint or "")
        if endpoint and (parts.scheme, parts.netloc) == (base.scheme, base.netloc):
            bucket, _, key = parts.path.lstrip("/").partition("/")
            if bucket and key:
                return cls(url=url, file_name=file_name, bucket=unquote(bucket),
                           key=unquote(key), region=region, endpoint=endpoint)
        return UrlSource(url=url, file_name=file_name)


OSS_HOST = re.compile(r"([a-z0-9][a-z0-9-]{1,61}[a-z0-9])\.oss-([a-z0-9-]+?)(?:-internal)?"
                      r"\.aliyuncs\.com")


Source = Union[UrlSource, CosObjectSource]


@dataclass(frozen=True)
class SourceSet:
    """A result of several files (CloudWatch Logs writes one object per log stream). Each
    item's ``file_name`` is its path relative to the export's folder (``/`` between
    segments); the completion copies them in this order, each verified, and writes a
    manifest beside them."""

    items: tuple[Source, ...]
