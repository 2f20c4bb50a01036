"""Records: how every kind of thing the state table keeps is stored (see
:mod:`shared.state.base` for the fields and the race rules), and the mapping of export tasks
and webhook deliveries onto them.

A task's ``group`` (:attr:`ExportTask.poll_group`) is stored only while it is submitted and
due at some time: the listing group the timer claims it with (:meth:`TaskStore.claim_group`).
Any other task has none and is claimed on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.model import DeliveryState, ExportTask, TaskState, WebhookDelivery

TASK = "task"
DELIVERY = "delivery"
GROUP = "group"  # a listing group's lease (id: the group), taken for one tick


@dataclass
class Record:
    kind: str
    id: str
    key: str | None
    state: str
    ref: str | None
    version: int
    due_at: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    created_at: datetime
    updated_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
    group: str | None = None


# ------------------------------------------------------------------ mapping
def task_to_record(task: ExportTask) -> Record:
    return Record(
        kind=TASK,
        id=task.id,
        key=task.idempotency_key,
        state=task.state.value,
        ref=task.provider,
        version=task.version,
        due_at=task.due_at,
        lease_owner=task.lease_owner,
        lease_until=task.lease_until,
        created_at=task.created_at,
        updated_at=task.updated_at,
        group=task.poll_group if task.state is TaskState.SUBMITTED and task.due_at else None,
        data={
            "params": task.params,
            "stage": task.stage,
            "remote": task.remote,
            "progress": task.progress,
            "result": task.result,
            "destination": task.destination,
            "error": task.error,
            "subscribers": task.subscribers,
            "account": task.account,
            "destination_name": task.destination_name,
            "attempts": task.attempts,
            "round": task.round,
            "watch": task.watch,
        },
    )


def record_to_task(rec: Record) -> ExportTask:
    d = rec.data
    return ExportTask(
        id=rec.id,
        provider=rec.ref or "",
        idempotency_key=rec.key,
        state=TaskState(rec.state),
        params=d.get("params") or {},
        stage=d.get("stage"),
        remote=d.get("remote") or {},
        progress=d.get("progress"),
        result=d.get("result") or {},
        destination=d.get("destination") or {},
        error=d.get("error"),
        subscribers=list(d.get("subscribers") or []),
        account=d.get("account"),
        destination_name=d.get("destination_name"),
        attempts=int(d.get("attempts") or 0),
        round=int(d.get("round") or 0),
        watch=d.get("watch") or {},
        version=rec.version,
        created_at=rec.created_at,
        updated_at=rec.updated_at,
        due_at=rec.due_at,
        lease_owner=rec.lease_owner,
        lease_until=rec.lease_until,
        poll_group=rec.group,
    )


def delivery_to_record(dl: WebhookDelivery) -> Record:
    return Record(
        kind=DELIVERY,
        id=dl.id,
        key=dl.key,
        state=dl.state.value,
        ref=dl.task_id,
        version=dl.version,
        due_at=dl.due_at,
        lease_owner=dl.lease_owner,
        lease_until=dl.lease_until,
        created_at=dl.created_at,
        updated_at=dl.updated_at,
        data={
            "endpoint": dl.endpoint,
            "event_type": dl.event_type,
            "payload": dl.payload,
            "attempts": dl.attempts,
            "round": dl.round,
            "repeat": dl.repeat,
        },
    )


def record_to_delivery(rec: Record) -> WebhookDelivery:
    d = rec.data
    return WebhookDelivery(
        id=rec.id,
        task_id=rec.ref or "",
        endpoint=d["endpoint"],
        event_type=d["event_type"],
        payload=d.get("payload") or {},
        state=DeliveryState(rec.state),
        attempts=list(d.get("attempts") or []),
        round=int(d.get("round") or 0),
        repeat=int(d.get("repeat") or 0),
        version=rec.version,
        created_at=rec.created_at,
        updated_at=rec.updated_at,
        due_at=rec.due_at,
        lease_owner=rec.lease_owner,
        lease_until=rec.lease_until,
    )
