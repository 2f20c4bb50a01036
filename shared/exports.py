"""Accept, validate, submit, cancel and retry exports — idempotently.

The create function calls :func:`accept`: it validates the request, stores the task (once per
idempotency key) holding a short lease, and makes the provider's create call. If that call
fails in a way that can succeed later, the task stays ``accepted`` and the timer submits it;
nothing accepted is lost. A duplicate request (same ``Idempotency-Key``) returns the first
task and creates nothing at the provider.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared import groups, locks, owners, queues
from shared.clock import to_iso, utcnow
from shared.errors import (
    ConflictError,
    CourierError,
    IdempotencyKeyReusedError,
    ProviderError,
    ValidationError,
    VersionConflictError,
)
from shared.export_request import named, parquet_possible, parse_request
from shared.keys import window_fits
from shared.model import ExportTask, TaskState, backoff
from shared.providers import ACCOUNT_CODES, Providers
from shared.providers.base import (
    CLAIM_LOST_CODE,
    CREATE_DOUBT,
    DELIVERY,
    SECRET_RESULT_FIELDS,
    Provider,
    Submission,
    adoption_guard,
)
from shared.runtime import metrics
from shared.runtime.context import export_context, export_keys
from shared.state.base import TaskStore
from shared.webhooks import notify

log = logging.getLogger(__name__)

CREATE_LEASE_S = 60.0
LOCK_RETRY_S = 2.0
MAX_STEPS = 25  # create steps (e.g. parts of a split CLS window) one invocation makes
# Set in ``task.remote`` while a create call may be in flight (see :func:`submit`).
CREATE_OPEN = "create_open_since"
NO_CREATE_CHECK = ("none: the vendor gives no way to look for an export a create left in "
                   "doubt; one may be made twice")


@dataclass(frozen=True)
class Accepted:
    task: ExportTask
    created: bool  # False: an earlier request with the same idempotency key


def accept(
    store: TaskStore,
    providers: Providers,
    body: Any,
    *,
    idempotency_key: str | None = None,
    owner: str = "create",
    now: datetime | None = None,
    poll_interval_s: float = 30.0,
    window: dict[str, Any] | None = None,
) -> Accepted:
    """``window``: the schedule window (start, end, tz) the export is made for."""
    provider_name, raw_params, subscribers, key = parse_request(
        body, idempotency_key, providers.settings.allow_private_hosts,
        [bot.endpoint for bot in providers.settings.chat_bots])
    account, destination_name = named(providers.settings, body)
    if body.get("format") == "parquet":
        parquet_possible(providers.settings, body.get("unpack"), destination_name)
    try:
        provider = providers.get(provider_name, account)
    except ProviderError as exc:  # an account of another cloud than the provider's
        if exc.code not in ACCOUNT_CODES:
            raise
        raise ValidationError("account", exc.detail) from None
    params = provider.validate(raw_params)
    now = now or utcnow()
    task = ExportTask(provider=provider.name, params=params, idempotency_key=key,
                      subscribers=subscribers, account=account,
                      destination_name=destination_name, created_at=now, updated_at=now,
                      due_at=now, lease_owner=owner,
                      lease_until=now + timedelta(seconds=CREATE_LEASE_S))
    options = {k: v for k, v in (("unpack", body.get("unpack")), ("format", body.get("format")),
                                 ("window", window)) if v is not None}
    if options:
        task.destination[DELIVERY] = options
    data = provider.data_window(task)
    target = providers.settings.delivery(destination_name)
    problem = window_fits(target.key_template or "", data.start, data.end, data.tz)
    if problem:
        named_too = f" of destination {target.name!r}" if target.name else ""
        raise ValidationError("params", f"does not fit the key template{named_too}: {problem}")
    stored, created = store.insert_task(task)
    if not created:
        if (stored.provider, stored.params, stored.subscribers, stored.account,
                stored.destination_name) != (provider.name, params, subscribers, account,
                                             destination_name):
            raise IdempotencyKeyReusedError("Idempotency-Key was already used for a different "
                                            "request; use a new key for a new export")
        return Accepted(stored, False)
    with export_context(stored.id, stored.provider):
        log.info("export %s accepted (%s)", stored.id, stored.provider)
        metrics.add(metrics.EXPORTS_CREATED, provider=stored.provider)
        return Accepted(submit(store, providers, stored, now=now,
                               poll_interval_s=poll_interval_s), True)


def submit(store: TaskStore, providers: Providers, task: ExportTask, *,
           now: datetime | None = None, poll_interval_s: float = 30.0) -> ExportTask:
    """Make the provider's create call for an accepted task we hold the lease on.

    Before the call the task is stored with :data:`CREATE_OPEN` set (and whatever the
    provider's ``prepare`` wants kept, e.g. a "before" listing); the successful answer clears
    it. An attempt that finds it still set knows the one before was cut off after it may have
    called the vendor, so the provider looks for what that call made before making it again.
    The object submitted with is claimed for this export (:mod:`shared.owners`). An
    account no longer configured fails the export (:data:`ACCOUNT_CODES`)."""
    now = now or utcnow()
    try:
        provider = providers.get(task.provider, task.account)
    except ProviderError as exc:  # e.g. its account taken out of COURIER_ACCOUNTS
        return _create_failed(store, providers, task, exc, now)
    try:
        queue = provider.queue_key(task)
        place = queues.admit(store, queue, task, now) if queue else 0
    except ProviderError as exc:  # the queue's name could not be learnt (e.g. the account)
        return _create_failed(store, providers, task, exc, now)
    if place:
        # Its turn has not come: wait, in order, without counting it as a failure.
        task.stage = "queued"
        task.remote["queue_position"] = place
        task.remote[queues.QUEUE_KEY] = queue
        task.due_at = now + timedelta(seconds=poll_interval_s)
        task.release()
        return store.update_task(task)
    serial = provider.serial_key(task)
    owner = f"submit:{task.id}"
    if serial and not locks.acquire(store, serial, owner, now):
        # Another create for the same resource is in flight: try again in a moment.
        task.due_at = now + timedelta(seconds=LOCK_RETRY_S)
        task.release()
        return store.update_task(task)
    try:
        for _step in range(MAX_STEPS):
            if task.remote.pop(CREATE_OPEN, None):
                log.warning("export %s: the create before was cut off; looking for what it "
                            "made", task.id)
                task.remote[CREATE_DOUBT] = True
            try:
                task.remote.update(provider.prepare(task))
                task.remote[CREATE_OPEN] = to_iso(now)
                task = store.update_task(task)
                submission = _create_call(store, provider, task, now)
            except ProviderError as exc:
                task.remote.pop(CREATE_OPEN, None)
                if exc.code == CLAIM_LOST_CODE or provider.ambiguous(exc.code):
                    task.remote[CREATE_DOUBT] = True
                return _create_failed(store, providers, task, exc, now)
            if not submission.more:
                break
            # one step of several done (e.g. one part of a split window): keep it, go on
            task.remote.pop(CREATE_OPEN, None)
            task.remote.pop(CREATE_DOUBT, None)
            task.remote.update(submission.remote)
            task.stage, task.attempts, task.error = submission.stage, 0, None
            task = store.update_task(task)
        else:  # more steps than one invocation makes: the timer makes the rest
            task.due_at = now
            task.release()
            return store.update_task(task)
    finally:
        if serial:
            locks.release(store, serial, owner)
    return submitted(store, providers, provider, task, submission, now=now,
                     poll_interval_s=poll_interval_s)


def submitted(store: TaskStore, providers: Providers, provider: Provider, task: ExportTask,
              submission: Submission, *, now: datetime, poll_interval_s: float) -> ExportTask:
    """Store an accepted task whose create answered ``submission`` as submitted: its ids
    kept, its listing group set, its first look one poll interval away or with its group's
    look already due within that interval (:func:`shared.groups.first_look`)."""
    task.move(TaskState.SUBMITTED)
    task.remote.pop("queue_position", None)
    task.remote.pop(queues.QUEUE_KEY, None)
    task.remote.pop(CREATE_OPEN, None)
    task.remote.pop(CREATE_DOUBT, None)
    task.remote.update(submission.remote)
    task.remote["create_check"] = provider.create_check or NO_CREATE_CHECK
    task.stage = submission.stage
    task.attempts = 0
    task.error = None
    task.poll_group = groups.poll_group(providers, task)
    # with the group's look already due within the interval, if there is one
    task.due_at = groups.first_look(store, task.poll_group, now, poll_interval_s)
    task.release()
    log.info("export %s submitted to %s", task.id, task.provider)
    return store.update_task(task)



def _create_call(store: TaskStore, provider: Provider, task: ExportTask, now: datetime
                 ) -> Submission:
    """One create call (:data:`CREATE_OPEN` stored before it), the objects it made claimed
    for the export after it."""
    with adoption_guard(owners.owned_elsewhere(store, provider.name, task.id)):
        submission = provider.create(task)
    object_id = provider.owned_id(submission.remote)
    for claimed in dict.fromkeys([*([object_id] if object_id else []), *submission.claims]):
        if not owners.claim(store, provider.name, claimed, task.id, now):
            raise ProviderError(provider.name, CLAIM_LOST_CODE, f"{claimed} was taken over "
                                "by another export; looking again", retryable=True)
    return submission


def _create_failed(store: TaskStore, providers: Providers, task: ExportTask,
                   exc: ProviderError, now: datetime) -> ExportTask:
    if exc.retryable:
        task.attempts += 1
        task.due_at = now + backoff(task.attempts, exc.retry_after)
        task.note_error(exc.detail, code=exc.code, retryable=True)
        log.warning("export %s: create failed (%s), retrying later", task.id, exc.code)
    else:
        task.fail(exc.detail, code=exc.code, retryable=False)
        log.warning("export %s: create refused (%s)", task.id, exc.code)
        metrics.add(metrics.EXPORTS_FAILED, provider=task.provider)
    task.release()
    saved = store.update_task(task)
    if saved.state is TaskState.FAILED:
        abandon(providers, saved)
        notify.notify(store, providers.settings, saved, "export.failed")
    return saved


def abandon(providers: Providers, task: ExportTask) -> None:
    """Best effort: stop what a failed export still runs at the vendor."""
    try:
        providers.get(task.provider, task.account).abandon(task)
    except CourierError as exc:
        log.warning("export %s: could not stop its vendor work (%s)", task.id, exc,
                    extra=export_keys(task.id, task.provider))


def cancel(store: TaskStore, providers: Providers, export_id: str) -> ExportTask:
    task = store.get_task(export_id)
    if task.state is TaskState.CANCELLED:
        return task
    if task.state.terminal or task.state is TaskState.COPYING:
        raise ConflictError(f"export {export_id} is {task.state.value} and cannot be cancelled")
    try:
        providers.get(task.provider, task.account).cancel(task)
    except ProviderError as exc:
        log.warning("export %s: provider cancel failed (%s); cancelling locally", task.id,
                    exc.code, extra=export_keys(task.id, task.provider))
    task.move(TaskState.CANCELLED)
    task.due_at = None
    task.release()
    try:
        saved = store.update_task(task)
    except VersionConflictError as exc:
        raise ConflictError(f"export {export_id} changed meanwhile; try again") from exc
    notify.notify(store, providers.settings, saved, "export.cancelled")
    return saved


def retry(store: TaskStore, export_id: str, *, now: datetime | None = None) -> ExportTask:
    task = store.get_task(export_id)
    if task.state is not TaskState.FAILED:
        raise ConflictError(f"export {export_id} is {task.state.value}; only failed exports "
                            "can be retried")
    now = now or utcnow()
    task.move(TaskState.ACCEPTED)
    task.remote, task.result, task.stage, task.progress = {}, {}, None, None
    for kept in ("raw", "unpack"):  # a new vendor file is unpacked anew
        task.destination.pop(kept, None)
    task.error, task.attempts, task.due_at = None, 0, now
    task.round += 1  # this round's events are new deliveries (WebhookDelivery.key)
    try:
        return store.update_task(task)
    except VersionConflictError as exc:
        raise ConflictError(f"export {export_id} changed meanwhile; try again") from exc


def check_now(store: TaskStore, export_id: str, *, now: datetime | None = None) -> ExportTask:
    """Make a pending export due at once: the next timer tick asks the provider again.

    For exports that wait on something outside Courier (a DMS ticket waiting on a person is
    looked at once a minute): after approving it, nudge Courier instead of waiting. A lease
    held by a running poll is left alone; that poll is already looking.
    """
    task = store.get_task(export_id)
    if task.state not in (TaskState.ACCEPTED, TaskState.SUBMITTED):
        raise ConflictError(f"export {export_id} is {task.state.value}; only accepted or "
                            "submitted exports wait on the provider")
    now = now or utcnow()
    leased = task.lease_until is not None and task.lease_until > now
    if leased or (task.due_at is not None and task.due_at <= now):
        return task
    task.due_at = now
    try:
        return store.update_task(task)
    except VersionConflictError as exc:
        raise ConflictError(f"export {export_id} changed meanwhile; try again") from exc


def public_views(store: TaskStore, tasks: Iterable[ExportTask]) -> list[dict[str, Any]]:
    """:func:`public_view` of each task, with the queue positions read live."""
    tasks = list(tasks)
    positions = queues.live_positions(store, tasks)
    return [public_view(t, positions) for t in tasks]


def public_view(task: ExportTask, positions: dict[str, int] | None = None) -> dict[str, Any]:
    """What the API shows: no presigned URLs, no leases. ``positions``: the live queue
    positions (:func:`shared.queues.live_positions`); without them, the one the export was
    given when it last looked."""
    if positions is not None and task.remote.get(queues.QUEUE_KEY):
        position = positions.get(task.id)
    else:
        position = task.remote.get("queue_position")
    return {
        "id": task.id,
        "provider": task.provider,
        "state": task.state.value,
        "stage": task.stage,
        "progress": task.progress,
        "params": task.params,
        "remote": task.remote,
        "result": {k: v for k, v in task.result.items() if k not in SECRET_RESULT_FIELDS},
        "destination": task.destination or None,
        "error": task.error,
        "queue_position": position if task.state is TaskState.ACCEPTED else None,
        "parts": _parts_view(task),
        "round": task.round,
        "subscribers": task.subscribers,
        "account": task.account,
        "destination_name": task.destination_name,
        "idempotency_key": task.idempotency_key,
        "created_at": to_iso(task.created_at),
        "updated_at": to_iso(task.updated_at),
        "next_check_at": to_iso(task.due_at) if not task.state.terminal else None,
    }


def _parts_view(task: ExportTask) -> list[dict[str, Any]] | None:
    """The parts of an export split at the vendor (a CLS window over the cap), in time
    order, each with its vendor export and that export's status; None for one export."""
    parts = task.remote.get("parts")
    if not parts:
        return None
    return [{"from": p.get("From"), "to": p.get("To"), "log_count": p.get("log_count"),
             "export_id": p.get("ExportId"), "status": p.get("status")} for p in parts]
