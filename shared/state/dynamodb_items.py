"""The DynamoDB state table's layout: its keys and indexes, and the items it stores.

One table, key ``pk`` (S) + ``sk`` (S):

* record        ``pk = kind#id``, ``sk = "R"`` — the record's columns as attributes;
* unique key    ``pk = kind#key#<lookup key>``, ``sk = "K"`` — ``target`` names the record;
  written in the same transaction as the record, so a key is taken exactly once;
* part          ``pk = task#<task id>``, ``sk = "P#<upload id>#<part number>"`` — in the
  task's own partition, listed with ``begins_with``.

Indexes: ``due`` (``dk`` = kind, ``avail_at``) is sparse — only records with a ``due_at`` carry
``dk``. ``avail_at`` is when the record can next be claimed: ``due_at``, or ``lease_until``
while a lease runs past it. So the index holds exactly the claimable records below ``now``
(leased ones drop out of the range until their lease lapses), read oldest first; each is taken
with a conditional update on its version. Ordering is by ``avail_at``: for records never leased
that is ``due_at``; a lapsed lease queues its record at the lapse time.

``group_due`` (``gk`` = kind#group, ``avail_at``) is sparser still: a due record of a listing
group carries ``grp`` and ``gk``, so a group's claim reads that group's due records and no
other's. The claims of records of no group take those without ``gk`` from ``due``. A table made
before this index lacks it (the store then filters ``due`` on ``grp``, as it did, and warns
once); a record an older version wrote lacks ``gk`` until it is next written, and is claimed
on its own until then.

``list`` (``kind``, ``lk`` = zero-padded created_at#id) and ``by_ref``
(``kref`` = kind#ref, ``lk``) serve listing and cursors. Finished records get ``expires_at``
(epoch seconds) for DynamoDB's TTL, and their key items get the same expiry in the write that
finishes them; should a key item outlive its record, the next insert with that key takes it
over.

The store's operations on these items are in :mod:`shared.state.dynamodb`.
"""

from __future__ import annotations

import json
from typing import Any

from shared.model import PartRecord
from shared.state.codec import EPOCH, from_ms, to_ms
from shared.state.records import Record

FINISHED = frozenset({"delivered", "failed", "cancelled", "dead", "disabled"})
DUE_INDEX = "due"
GROUP_INDEX = "group_due"
LIST_INDEX = "list"
REF_INDEX = "by_ref"
TTL_ATTRIBUTE = "expires_at"


def table_definition() -> dict[str, Any]:
    """Keys and indexes of the state table (``create_table`` arguments, less name and
    billing): the one definition the store creates and deployment descriptors must match."""

    def gsi(name: str, hash_key: str, range_key: str) -> dict[str, Any]:
        return {"IndexName": name, "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"},
                              {"AttributeName": range_key, "KeyType": "RANGE"}]}

    attrs = [("pk", "S"), ("sk", "S"), ("dk", "S"), ("avail_at", "N"), ("kind", "S"),
             ("lk", "S"), ("kref", "S"), ("gk", "S")]
    return {
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in attrs],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [gsi(DUE_INDEX, "dk", "avail_at"),
                                   gsi(LIST_INDEX, "kind", "lk"),
                                   gsi(REF_INDEX, "kref", "lk"),
                                   gsi(GROUP_INDEX, "gk", "avail_at")],
    }


# ------------------------------------------------------------------ keys
def record_key(kind: str, record_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"{kind}#{record_id}"}, "sk": {"S": "R"}}


def unique_key(kind: str, lookup: str) -> dict[str, Any]:
    """The key item of a unique key (its :func:`~shared.state.codec.lookup_key` form)."""
    return {"pk": {"S": f"{kind}#key#{lookup}"}, "sk": {"S": "K"}}


def group_key(kind: str, group: str) -> str:
    """``gk``: the partition of the ``group_due`` index holding ``group``'s due records."""
    return f"{kind}#{group}"


def list_key(created_ms: int, record_id: str) -> str:
    """``lk``: the sort key of the listing indexes, creation order then id."""
    return f"{created_ms:015d}#{record_id}"


def parts_partition(task_id: str) -> dict[str, Any]:
    return {"S": f"task#{task_id}"}


# --------------------------------------------------------------- records
def record_item(rec: Record, ttl_s: int) -> dict[str, Any]:
    """The item a record is stored as; a finished one expires ``ttl_s`` after its last
    update (never with ``ttl_s`` 0)."""
    created = to_ms(rec.created_at) or 0
    item: dict[str, Any] = {
        **record_key(rec.kind, rec.id),
        "kind": {"S": rec.kind}, "id": {"S": rec.id}, "state": {"S": rec.state},
        "version": {"N": str(rec.version)}, "created_at": {"N": str(created)},
        "updated_at": {"N": str(to_ms(rec.updated_at))},
        "lk": {"S": list_key(created, rec.id)},
        "data": {"S": json.dumps(rec.data, separators=(",", ":"))},
    }
    if rec.key is not None:
        item["key_text"] = {"S": rec.key}
    if rec.ref is not None:
        item["ref"] = {"S": rec.ref}
        item["kref"] = {"S": f"{rec.kind}#{rec.ref}"}
    if rec.due_at is not None:
        due = to_ms(rec.due_at) or 0
        lease = to_ms(rec.lease_until) if rec.lease_until is not None else None
        item["due_at"] = {"N": str(due)}
        item["avail_at"] = {"N": str(max(due, lease) if lease is not None else due)}
        item["dk"] = {"S": rec.kind}
        if rec.group is not None:
            item["grp"] = {"S": rec.group}
            item["gk"] = {"S": group_key(rec.kind, rec.group)}
    if rec.lease_owner is not None:
        item["lease_owner"] = {"S": rec.lease_owner}
    if rec.lease_until is not None:
        item["lease_until"] = {"N": str(to_ms(rec.lease_until))}
    if ttl_s > 0 and rec.state in FINISHED:
        expires = int((rec.updated_at - EPOCH).total_seconds()) + ttl_s
        item[TTL_ATTRIBUTE] = {"N": str(expires)}
    return item


def record_of(item: dict[str, Any]) -> Record:
    def s(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    def n(name: str) -> int | None:
        return int(item[name]["N"]) if name in item else None

    return Record(
        kind=item["kind"]["S"], id=item["id"]["S"], key=s("key_text"),
        state=item["state"]["S"], ref=s("ref"), version=int(item["version"]["N"]),
        due_at=from_ms(n("due_at")), lease_owner=s("lease_owner"),
        lease_until=from_ms(n("lease_until")),
        created_at=from_ms(n("created_at")) or EPOCH,
        updated_at=from_ms(n("updated_at")) or EPOCH,
        data=json.loads(item["data"]["S"]), group=s("grp"),
    )


# ----------------------------------------------------------------- parts
def part_item(task_id: str, upload_id: str, part: PartRecord) -> dict[str, Any]:
    return {
        "pk": parts_partition(task_id),
        "sk": {"S": f"P#{upload_id}#{part.part_number:05d}"},
        "upload_id": {"S": upload_id}, "part_number": {"N": str(part.part_number)},
        "etag": {"S": part.etag}, "start_byte": {"N": str(part.start)},
        "end_byte": {"N": str(part.end)}}


def part_of(item: dict[str, Any]) -> PartRecord:
    return PartRecord(int(item["part_number"]["N"]), item["etag"]["S"],
                      int(item["start_byte"]["N"]), int(item["end_byte"]["N"]))
