"""``Idempotency-Key`` for ``POST /exports``, as the IETF httpapi draft describes it.

The first request with a key creates the export; its answer (status and body) is kept in the
state table (a record of kind ``http_answer``, one per export). A request with the same key:

* and the same body — gets the kept answer again, with ``Idempotent-Replayed: true``;
* while the first is still being processed — ``409`` (``in_flight``), with ``Retry-After``;
* and a different body — ``422`` (``idempotency_key_reused``; raised by ``exports.accept``).

A key (the header, or ``idempotency_key`` in the body) is 1 to 200 printable ASCII
characters, the draft's structured-field string; anything else is a ``400`` naming it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.clock import utcnow
from shared.errors import InFlightError, ValidationError
from shared.model import ExportTask, TaskState
from shared.state.base import TaskStore
from shared.state.records import Record

ANSWER = "http_answer"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_CHARS = 200


def caller_key(headers: dict[str, str], body: Any) -> str | None:
    """The caller's key (the header first, else the body's ``idempotency_key``), checked."""
    key = next((v for k, v in headers.items() if k.lower() == "idempotency-key"), None)
    if key is None and isinstance(body, dict) and isinstance(body.get("idempotency_key"), str):
        key = body["idempotency_key"]
    if key is not None and not (0 < len(key) <= MAX_KEY_CHARS and key.isascii()
                                and key.isprintable()):
        raise ValidationError("Idempotency-Key", f"must be 1 to {MAX_KEY_CHARS} printable "
                              "ASCII characters")
    return key


def keep(store: TaskStore, task: ExportTask, status: int, body: Any) -> None:
    """Keep the first answer to the request that created ``task``."""
    now = utcnow()
    store.put_record(Record(kind=ANSWER, id=task.id, key=None, state="kept", ref=task.id,
                            version=0, due_at=None, lease_owner=None, lease_until=None,
                            created_at=now, updated_at=now,
                            data={"status": status, "body": body}))


def replay(store: TaskStore, task: ExportTask, now: datetime | None = None
           ) -> tuple[int, Any] | None:
    """The kept answer for a repeated request; ``None`` when none was kept (an export made
    before answers were kept, or whose first invocation died after creating it)."""
    rec = store.get_record(ANSWER, task.id)
    if rec is not None:
        return int(rec.data["status"]), rec.data["body"]
    now = now or utcnow()
    creating = (task.state is TaskState.ACCEPTED and (task.lease_owner or "").startswith(
        "create:") and task.lease_until is not None and task.lease_until > now)
    if creating:
        raise InFlightError("the first request with this Idempotency-Key is still being "
                            "processed; try again in a moment")
    return None
