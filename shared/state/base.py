"""TaskStore: the one interface to the state table.

The base class holds the public, typed methods and the rules; a backend fills in a few small
record-level methods (``_insert``, ``_get``, ``_get_by_key``, ``_cas``, ``_claim``, ``_list``
and the part methods). Every kind of thing the product keeps — export tasks, webhook
deliveries, endpoint health, locks — is stored as a :class:`Record`:

* ``kind``    ``"task"`` | ``"delivery"`` | ``"endpoint"`` | ``"lock"``
* ``id``      primary key within the kind
* ``key``     optional unique key within the kind (idempotency key); inserting a second record
              with the same key returns the first one instead
* ``state``   plain string, filterable
* ``ref``     plain string, filterable (tasks: provider; deliveries: task id)
* ``version`` compare-and-set token, bumped by every write
* ``due_at``  when the record is due for work (None = never); ``claim_due`` picks due ones
* ``lease_owner`` / ``lease_until``: who is working on it until when
* ``data``    the rest, as a JSON object
* ``group``   optional listing group (tasks: while submitted); ``claim_group`` takes a group's
              due records together, under a lease on a record of kind ``group``

Race rules every backend must keep (the conformance suite checks them):

* ``_claim`` never hands one record to two claimers while a lease is live: it only takes records
  with ``due_at <= now`` whose lease is absent or expired, and takes each with a conditional
  write (version match, or ``SKIP LOCKED``) that bumps ``version``.
* ``_cas`` writes only if the stored version equals ``expected_version``.
* A group is held by one owner at a time (``take_lease``: a conditional insert or write of its
  ``group`` record); its tasks are claimed under the same rules as any.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from shared.clock import utcnow
from shared.errors import NotFoundError, VersionConflictError
from shared.model import DeliveryState, ExportTask, Page, PartRecord, TaskState, WebhookDelivery
from shared.state.bucket import BUCKET, Bucket, BucketPolicy
from shared.state.codec import decode_cursor, encode_cursor
from shared.state.records import (
    DELIVERY,
    GROUP,
    TASK,
    Record,
    delivery_to_record,
    record_to_delivery,
    record_to_task,
    task_to_record,
)
from shared.state.summary import HOURS, SummaryRows, TaskSummary, build

ANY_GROUP = "*"  # ``_claim``'s ``group``: records of any group or none


class TaskStore(ABC):
    """Public interface. Backends implement the ``_``-methods below."""

    # ------------------------------------------------------------------ tasks
    def insert_task(self, task: ExportTask) -> tuple[ExportTask, bool]:
        """Store a new task. If its idempotency key is taken, return the stored one, False."""
        stored, created = self._insert(task_to_record(task))
        return record_to_task(stored), created

    def get_task(self, task_id: str) -> ExportTask:
        rec = self._get(TASK, task_id)
        if rec is None:
            raise NotFoundError(f"no export with id {task_id!r}")
        return record_to_task(rec)

    def update_task(self, task: ExportTask) -> ExportTask:
        """Compare-and-set on ``task.version``; returns the task with its new version."""
        return record_to_task(self._update(task_to_record(task)))

    def update_tasks(self, tasks: list[ExportTask]) -> list[ExportTask | None]:
        """:meth:`update_task` for each of ``tasks`` (one transaction where the backend has
        them): each task with its new version, or None where its compare-and-set lost."""
        recs = [task_to_record(t) for t in tasks]
        at = utcnow()
        new = [replace(r, version=r.version + 1, updated_at=at) for r in recs]
        done = self._cas_many([(n, r.version) for n, r in zip(new, recs)])
        return [record_to_task(n) if ok else None for n, ok in zip(new, done)]

    def claim_due_tasks(
        self, *, limit: int, lease_s: float, owner: str, now: datetime | None = None,
        solo: bool = False,
    ) -> list[ExportTask]:
        """Up to ``limit`` due tasks, the one due longest first, leased to ``owner``; with
        ``solo`` only those of no listing group (the rest go group by group,
        :meth:`claim_group`)."""
        now = now or utcnow()
        recs = self._claim(TASK, now, limit, now + timedelta(seconds=lease_s), owner,
                           group=None if solo else ANY_GROUP)
        return [record_to_task(r) for r in recs]

    # --------------------------------------------------------- listing groups
    def due_groups(self, *, limit: int, now: datetime | None = None) -> list[str]:
        """Listing groups holding a claimable due task, the one due longest first."""
        return self._due_groups(TASK, now or utcnow(), limit)

    def claim_group(self, group: str, *, limit: int, lease_s: float, owner: str,
                    now: datetime | None = None, early_s: float = 0.0) -> list[ExportTask]:
        """Take ``group`` for ``owner`` (its lease, unless somebody else's is live), then up
        to ``limit`` of its tasks due (or due within ``early_s``: they ride along on the
        same listing), the one due longest first, leased like :meth:`claim_due_tasks`; []
        when another holds the group. :meth:`release_group` gives it back; a holder that
        dies loses it when the lease lapses."""
        now = now or utcnow()
        until = now + timedelta(seconds=lease_s)
        if not self.take_lease(GROUP, group, owner, until=until, now=now):
            return []
        recs = self._claim(TASK, now, limit, until, owner, group=group,
                           due_by=now + timedelta(seconds=early_s))
        if not recs:  # taken meanwhile, or nothing due: not kept from the next claimer
            self.drop_lease(GROUP, group, owner)
        return [record_to_task(r) for r in recs]

    def group_next_due(self, group: str, *, after: datetime,
                       until: datetime) -> datetime | None:
        """The earliest ``due_at`` within [``after``, ``until``] of ``group``'s task records
        (a look at the group already scheduled then), or None: one indexed read."""
        return self._group_next_due(TASK, group, after, until)

    def release_group(self, group: str, owner: str) -> None:
        self.drop_lease(GROUP, group, owner)

    def take_lease(self, kind: str, name: str, owner: str, *, until: datetime,
                   now: datetime) -> bool:
        """Lease the record ``kind``/``name`` (made if missing) to ``owner`` until ``until``,
        unless another owner's lease is live; whether it is ``owner``'s now."""
        rec = self._get(kind, name)
        if rec is None:
            _, created = self._insert(Record(
                kind=kind, id=name, key=None, state="held", ref=None, version=0, due_at=None,
                lease_owner=owner, lease_until=until, created_at=now, updated_at=now))
            return created
        if rec.lease_owner not in (None, owner) and rec.lease_until and rec.lease_until > now:
            return False
        try:
            self._update(replace(rec, lease_owner=owner, lease_until=until, state="held"))
        except VersionConflictError:
            return False
        return True

    def drop_lease(self, kind: str, name: str, owner: str) -> None:
        """Give up ``owner``'s lease on ``kind``/``name`` (nothing if it is not theirs)."""
        rec = self._get(kind, name)
        if rec is None or rec.lease_owner != owner:
            return
        try:
            self._update(replace(rec, lease_owner=None, lease_until=None, state="free"))
        except VersionConflictError:
            pass  # somebody took it after it lapsed; theirs now

    def list_tasks(
        self,
        *,
        state: TaskState | None = None,
        provider: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        """Newest first; a cursor continues below the last export it saw, so exports made
        meanwhile never shift the pages that follow (they are above it)."""
        return self._page(TASK, state.value if state else None, provider, limit, cursor,
                          record_to_task, newest_first=True)

    def summarize_tasks(self, now: datetime | None = None) -> TaskSummary:
        """Exports per state and provider, the oldest one waiting, and the last 24 hours'
        finished exports per hour (see :mod:`shared.state.summary`)."""
        now = now or utcnow()
        since = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=HOURS - 1)
        rows = self._summarize(TASK, since)
        oldest = self._get(TASK, rows.oldest_waiting) if rows.oldest_waiting else None
        return build(rows, since, record_to_task(oldest) if oldest else None)

    # ------------------------------------------------------------- deliveries
    def insert_delivery(self, delivery: WebhookDelivery) -> tuple[WebhookDelivery, bool]:
        stored, created = self._insert(delivery_to_record(delivery))
        return record_to_delivery(stored), created

    def get_delivery(self, delivery_id: str) -> WebhookDelivery:
        rec = self._get(DELIVERY, delivery_id)
        if rec is None:
            raise NotFoundError(f"no delivery with id {delivery_id!r}")
        return record_to_delivery(rec)

    def update_delivery(self, delivery: WebhookDelivery) -> WebhookDelivery:
        return record_to_delivery(self._update(delivery_to_record(delivery)))

    def claim_due_deliveries(
        self, *, limit: int, lease_s: float, owner: str, now: datetime | None = None
    ) -> list[WebhookDelivery]:
        now = now or utcnow()
        recs = self._claim(DELIVERY, now, limit, now + timedelta(seconds=lease_s), owner)
        return [record_to_delivery(r) for r in recs]

    def list_deliveries(
        self,
        *,
        task_id: str | None = None,
        state: DeliveryState | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page:
        return self._page(DELIVERY, state.value if state else None, task_id, limit, cursor,
                          record_to_delivery)

    # -------------------------------------------------------------- generic
    def put_record(self, rec: Record) -> tuple[Record, bool]:
        """Insert a raw record (schedule bookkeeping and other small kinds)."""
        return self._insert(rec)

    def get_record(self, kind: str, record_id: str) -> Record | None:
        return self._get(kind, record_id)

    def list_records(self, kind: str, *, state: str | None = None, limit: int = 50,
                     cursor: str | None = None) -> Page:
        """Raw records of one kind (oldest first), optionally in one state."""
        return self._page(kind, state, None, limit, cursor, lambda r: r)

    def update_record(self, rec: Record) -> Record:
        return self._update(rec)

    # ---------------------------------------------------------- rate budget
    def take_slots(self, bucket: str, *, want: int, latest: float, now: float,
                   policy: BucketPolicy) -> list[float]:
        """Up to ``want`` call slots (epoch seconds, none after ``latest``) from the shared
        bucket ``bucket``, in one compare-and-set; [] when none is free by ``latest`` (or
        the bucket stayed contended)."""
        return self._change_bucket(bucket, now, policy,
                                   lambda b: b.take(now, want, latest, policy)) or []

    def slow_bucket(self, bucket: str, *, now: float, policy: BucketPolicy) -> None:
        """The vendor throttled a call drawn from ``bucket``: slow it down for everyone."""
        def slow(b: Bucket) -> list[float]:
            b.slow_down(now, policy)
            return [b.tat]

        self._change_bucket(bucket, now, policy, slow)

    def hold_bucket(self, bucket: str, *, until: float, now: float,
                    policy: BucketPolicy) -> None:
        """The vendor named a wait (a chat bot throttled for minutes): no slot before it."""
        self._change_bucket(bucket, now, policy, lambda b: [b.hold(until)])

    def _change_bucket(self, bucket: str, now: float, policy: BucketPolicy,
                       change: Callable[[Bucket], list[float]],
                       tries: int = 8) -> list[float] | None:
        """Read the bucket, ``change`` it, write it back if nobody else did meanwhile;
        ``change``'s answer, or None when every try lost or it answered nothing."""
        for _ in range(tries):
            rec = self._get(BUCKET, bucket)
            state = Bucket.from_data(rec.data, now, policy) if rec else Bucket.fresh(now, policy)
            answer = change(state)
            if not answer:
                return None
            at = utcnow()
            if rec is None:
                _, created = self._insert(Record(
                    kind=BUCKET, id=bucket, key=None, state="live", ref=None, version=0,
                    due_at=None, lease_owner=None, lease_until=None, created_at=at,
                    updated_at=at, data=state.data()))
                if created:
                    return list(answer)
                continue
            try:
                self._update(replace(rec, data=state.data()))
            except VersionConflictError:
                continue
            return list(answer)
        return None

    # ---------------------------------------------------------------- parts
    def record_part(self, task_id: str, upload_id: str, part: PartRecord) -> None:
        """Remember a finished part (idempotent: same number overwrites)."""
        self._put_part(task_id, upload_id, part)

    def list_parts(self, task_id: str, upload_id: str) -> list[PartRecord]:
        return sorted(self._list_parts(task_id, upload_id), key=lambda p: p.part_number)

    def clear_parts(self, task_id: str) -> None:
        self._delete_parts(task_id)

    # ---------------------------------------------------------------- rules
    def _update(self, rec: Record) -> Record:
        expected = rec.version
        new = replace(rec, version=expected + 1, updated_at=utcnow())
        if not self._cas(new, expected):
            raise VersionConflictError(
                f"{rec.kind} {rec.id} changed since version {expected}"
            )
        return new

    def _page(self, kind, state, ref, limit, cursor, convert,  # type: ignore[no-untyped-def]
              newest_first=False) -> Page:
        limit = max(1, min(int(limit), 200))
        after = decode_cursor(cursor) if cursor else None
        recs = self._list(kind, state, ref, limit + 1, after, newest_first)
        more = len(recs) > limit
        recs = recs[:limit]
        nxt = encode_cursor(recs[-1].created_at, recs[-1].id) if more and recs else None
        return Page(items=[convert(r) for r in recs], next_cursor=nxt)

    def close(self) -> None:  # noqa: B027 - optional for backends
        """Release connections (backends that hold any override this)."""

    # ------------------------------------------------------- backend methods
    @abstractmethod
    def _insert(self, rec: Record) -> tuple[Record, bool]:
        """Insert ``rec`` (version as given). If (kind, key) exists, return (existing, False)."""

    @abstractmethod
    def _get(self, kind: str, record_id: str) -> Record | None: ...

    @abstractmethod
    def _get_by_key(self, kind: str, key: str) -> Record | None: ...

    @abstractmethod
    def _cas(self, rec: Record, expected_version: int) -> bool:
        """Replace the stored record with ``rec`` iff its stored version == expected."""

    def _cas_many(self, writes: list[tuple[Record, int]]) -> list[bool]:
        """``_cas`` of each (record, expected version); a backend with transactions makes
        them in one."""
        return [self._cas(rec, expected) for rec, expected in writes]

    @abstractmethod
    def _claim(
        self, kind: str, now: datetime, limit: int, lease_until: datetime, owner: str,
        group: str | None = ANY_GROUP, due_by: datetime | None = None,
    ) -> list[Record]:
        """Take up to ``limit`` due records (oldest ``due_at`` first; due by ``due_by``, by
        default ``now``) whose lease is absent or lapsed at ``now``, leasing them to
        ``owner`` until ``lease_until`` and bumping their version; return them as stored.
        ``group``: only records of that group; None: only records of none; ``ANY_GROUP``:
        either."""

    @abstractmethod
    def _due_groups(self, kind: str, now: datetime, limit: int) -> list[str]:
        """Up to ``limit`` groups of ``kind`` records that ``_claim`` would take now, ordered
        by their longest-due record."""

    @abstractmethod
    def _group_next_due(self, kind: str, group: str, after: datetime,
                        until: datetime) -> datetime | None:
        """The earliest ``due_at`` in [after, until] of ``group``'s ``kind`` records."""

    @abstractmethod
    def _list(
        self,
        kind: str,
        state: str | None,
        ref: str | None,
        limit: int,
        after: tuple[datetime, str] | None,
        newest_first: bool = False,
    ) -> list[Record]:
        """Records ordered by (created_at, id), strictly after ``after`` in that order; with
        ``newest_first`` the other way round (strictly below ``after``)."""

    @abstractmethod
    def _summarize(self, kind: str, since: datetime) -> SummaryRows:
        """The counts, oldest waiting id and per-hour finished rows of ``kind`` since
        ``since`` (hour index 0 starts at ``since``)."""

    @abstractmethod
    def _put_part(self, task_id: str, upload_id: str, part: PartRecord) -> None: ...

    @abstractmethod
    def _list_parts(self, task_id: str, upload_id: str) -> list[PartRecord]: ...

    @abstractmethod
    def _delete_parts(self, task_id: str) -> None: ...
