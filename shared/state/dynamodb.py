"""DynamoDB backend of the TaskStore (the shared store for Lambda).

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
with a conditional update on its version. Ordering is by ``avail_at``: for records never
leased that is ``due_at``; a lapsed lease queues its record at the lapse time.

``list`` (``kind``, ``lk`` = zero-padded created_at#id) and ``by_ref``
(``kref`` = kind#ref, ``lk``) serve listing and cursors. Finished records get ``expires_at``
(epoch seconds) for DynamoDB's TTL, and their key items get the same expiry in the write that
finishes them; should a key item outlive its record, the next insert with that key takes it
over.

URL: ``dynamodb://TABLE?region=us-east-1&endpoint=http://127.0.0.1:PORT&create=1&ttl_days=30``
"""

from __future__ import annotations

import json
import logging
import random
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.config import ENV_STATE_URL, require_module
from shared.errors import ConfigError, StoreError
from shared.model import PartRecord
from shared.state.base import Record, TaskStore
from shared.state.codec import EPOCH, from_ms, lookup_key, to_ms

log = logging.getLogger(__name__)

FINISHED = frozenset({"delivered", "failed", "cancelled", "dead", "disabled"})
DUE_INDEX = "due"
LIST_INDEX = "list"
REF_INDEX = "by_ref"
CONDITION_FAILED = "ConditionalCheckFailedException"


TTL_ATTRIBUTE = "expires_at"


def table_definition() -> dict[str, Any]:
    """Keys and indexes of the state table (``create_table`` arguments, less name and
    billing): the one definition the store creates and deployment descriptors must match."""

    def gsi(name: str, hash_key: str, range_key: str) -> dict[str, Any]:
        return {"IndexName": name, "Projection": {"ProjectionType": "ALL"},
                "KeySchema": [{"AttributeName": hash_key, "KeyType": "HASH"},
                              {"AttributeName": range_key, "KeyType": "RANGE"}]}

    attrs = [("pk", "S"), ("sk", "S"), ("dk", "S"), ("avail_at", "N"), ("kind", "S"),
             ("lk", "S"), ("kref", "S")]
    return {
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in attrs],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                      {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [gsi(DUE_INDEX, "dk", "avail_at"),
                                   gsi(LIST_INDEX, "kind", "lk"),
                                   gsi(REF_INDEX, "kref", "lk")],
    }


def _lk(created_ms: int, record_id: str) -> str:
    return f"{created_ms:015d}#{record_id}"


class DynamoDBTaskStore(TaskStore):
    def __init__(self, client: Any, table: str, *, ttl_days: float = 30.0,
                 create: bool = False) -> None:
        self.client = client
        self.table = table
        self.ttl_s = int(ttl_days * 86400)
        if create:
            self.create_table()

    @classmethod
    def from_url(cls, url: str) -> DynamoDBTaskStore:
        require_module(ENV_STATE_URL, "dynamodb", "boto3")
        import boto3
        from botocore.config import Config

        parts = urlsplit(url)
        table = parts.netloc or parts.path.lstrip("/")
        if not table:
            raise ConfigError("COURIER_STATE_URL: dynamodb://TABLE?region=… expected")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            ttl_days = float(query.get("ttl_days", "30"))
        except ValueError as exc:
            raise ConfigError("COURIER_STATE_URL: ttl_days must be a number") from exc
        config = Config(connect_timeout=5, read_timeout=10,
                        retries={"max_attempts": 4, "mode": "standard"})
        client = boto3.client("dynamodb", region_name=query.get("region"),
                              endpoint_url=query.get("endpoint"), config=config)
        create = query.get("create", "0").lower() in ("1", "true", "yes")
        return cls(client, table, ttl_days=ttl_days, create=create)

    # ---------------------------------------------------------------- table
    def create_table(self) -> None:
        """Create the table and its indexes if missing (safe when two cold starts race)."""
        from botocore.exceptions import ClientError

        try:
            self.client.create_table(TableName=self.table, BillingMode="PAY_PER_REQUEST",
                                     **table_definition())
            log.info("state store: created DynamoDB table %s", self.table)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise StoreError(f"cannot create DynamoDB table {self.table}: "
                                 f"{exc.response['Error']['Code']}") from exc
        try:
            self.client.get_waiter("table_exists").wait(
                TableName=self.table, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            self.client.update_time_to_live(
                TableName=self.table,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE})
        except ClientError as exc:
            message = str(exc.response["Error"].get("Message", ""))
            if "already enabled" not in message.lower():
                raise StoreError(f"cannot enable TTL on {self.table}: {message}") from exc
        except Exception as exc:  # noqa: BLE001 - waiter and endpoint errors
            raise StoreError(f"DynamoDB table {self.table} not ready: "
                             f"{type(exc).__name__}") from exc

    def close(self) -> None:
        self.client.close()

    # ------------------------------------------------------------ encoding
    def _item(self, rec: Record) -> dict[str, Any]:
        created = to_ms(rec.created_at) or 0
        item: dict[str, Any] = {
            "pk": {"S": f"{rec.kind}#{rec.id}"}, "sk": {"S": "R"},
            "kind": {"S": rec.kind}, "id": {"S": rec.id}, "state": {"S": rec.state},
            "version": {"N": str(rec.version)}, "created_at": {"N": str(created)},
            "updated_at": {"N": str(to_ms(rec.updated_at))},
            "lk": {"S": _lk(created, rec.id)},
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
        if rec.lease_owner is not None:
            item["lease_owner"] = {"S": rec.lease_owner}
        if rec.lease_until is not None:
            item["lease_until"] = {"N": str(to_ms(rec.lease_until))}
        if self.ttl_s > 0 and rec.state in FINISHED:
            expires = int((rec.updated_at - EPOCH).total_seconds()) + self.ttl_s
            item["expires_at"] = {"N": str(expires)}
        return item

    @staticmethod
    def _record(item: dict[str, Any]) -> Record:
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
            data=json.loads(item["data"]["S"]),
        )

    def _call(self, op: str, **kwargs: Any) -> Any:
        """One API call on the table; every failure but a lost condition becomes StoreError."""
        from botocore.exceptions import BotoCoreError, ClientError

        if op not in ("transact_write_items", "batch_write_item"):
            kwargs["TableName"] = self.table
        try:
            return getattr(self.client, op)(**kwargs)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in (CONDITION_FAILED, "TransactionCanceledException"):
                raise
            raise StoreError(f"DynamoDB {op} on {self.table}: {code}") from exc
        except BotoCoreError as exc:
            raise StoreError(f"DynamoDB {op} on {self.table}: {type(exc).__name__}") from exc

    # ------------------------------------------------------------- records
    def _insert(self, rec: Record) -> tuple[Record, bool]:
        from botocore.exceptions import ClientError

        for _attempt in (1, 2):
            puts: list[dict[str, Any]] = [{"Put": {
                "TableName": self.table, "Item": self._item(rec),
                "ConditionExpression": "attribute_not_exists(pk)"}}]
            lookup = lookup_key(rec.key)
            if lookup is not None:
                puts.append({"Put": {
                    "TableName": self.table,
                    "Item": {"pk": {"S": f"{rec.kind}#key#{lookup}"}, "sk": {"S": "K"},
                             "target": {"S": rec.id}},
                    "ConditionExpression": "attribute_not_exists(pk)"}})
            try:
                if len(puts) == 1:  # no unique key: one conditional put is enough
                    self._call("put_item", **{k: v for k, v in puts[0]["Put"].items()
                                              if k != "TableName"})
                else:
                    self._call("transact_write_items", TransactItems=puts)
                return rec, True
            except ClientError as exc:
                reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                log.debug("insert %s %s lost its condition: %s", rec.kind, rec.id, reasons)
            existing = self._get_by_key(rec.kind, rec.key) if rec.key else None
            if existing is None:
                existing = self._get(rec.kind, rec.id)
            if existing is not None:
                return existing, False
            if lookup is not None:
                self._drop_stale_key(rec.kind, lookup)
        raise StoreError(f"{rec.kind} {rec.id}: insert conflicted but nothing is stored")

    def _drop_stale_key(self, kind: str, lookup: str) -> None:
        """The key's record expired (TTL) or never landed: free the key for a new record."""
        from botocore.exceptions import ClientError

        key = {"pk": {"S": f"{kind}#key#{lookup}"}, "sk": {"S": "K"}}
        got = self._call("get_item", Key=key, ConsistentRead=True).get("Item")
        if not got:
            return
        try:
            self._call("delete_item", Key=key, ConditionExpression="target = :t",
                       ExpressionAttributeValues={":t": got["target"]})
        except ClientError:
            pass  # somebody else took it over first; the retry sees theirs

    def _get(self, kind: str, record_id: str) -> Record | None:
        item = self._call("get_item", Key={"pk": {"S": f"{kind}#{record_id}"}, "sk": {"S": "R"}},
                          ConsistentRead=True).get("Item")
        return self._record(item) if item else None

    def _get_by_key(self, kind: str, key: str) -> Record | None:
        lookup = lookup_key(key)
        item = self._call("get_item", Key={"pk": {"S": f"{kind}#key#{lookup}"},
                                           "sk": {"S": "K"}},
                          ConsistentRead=True).get("Item")
        return self._get(kind, item["target"]["S"]) if item else None

    def _cas(self, rec: Record, expected_version: int) -> bool:
        from botocore.exceptions import ClientError

        item = self._item(rec)
        put = {"TableName": self.table, "Item": item,
               "ConditionExpression": "attribute_exists(pk) AND version = :v",
               "ExpressionAttributeValues": {":v": {"N": str(expected_version)}}}
        lookup = lookup_key(rec.key)
        if "expires_at" not in item or lookup is None:
            return self._put_if(put)
        try:  # finishing: let the key item expire with its record
            self._call("transact_write_items", TransactItems=[
                {"Put": put},
                {"Update": {"TableName": self.table,
                            "Key": {"pk": {"S": f"{rec.kind}#key#{lookup}"}, "sk": {"S": "K"}},
                            "UpdateExpression": "SET expires_at = :e",
                            "ConditionExpression": "target = :id",
                            "ExpressionAttributeValues": {":e": item["expires_at"],
                                                          ":id": {"S": rec.id}}}}])
            return True
        except ClientError as exc:
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if len(reasons) == 2 and reasons[0] == "None":
                return self._put_if(put)  # the key item is not this record's: record alone
            return False

    def _put_if(self, put: dict[str, Any]) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._call("put_item", **{k: v for k, v in put.items() if k != "TableName"})
            return True
        except ClientError:
            return False

    def _claim(self, kind: str, now: datetime, limit: int, lease_until: datetime,
               owner: str) -> list[Record]:
        now_ms = str(to_ms(now))
        claimed: list[Record] = []
        start: dict[str, Any] | None = None
        scanned = 0
        while len(claimed) < limit and scanned < limit * 20 + 100:
            kwargs: dict[str, Any] = {
                "IndexName": DUE_INDEX,
                "KeyConditionExpression": "dk = :k AND avail_at <= :now",
                "ExpressionAttributeValues": {":k": {"S": kind}, ":now": {"N": now_ms}},
                "Limit": max(limit * 4, 25),
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self._call("query", **kwargs)
            scanned += int(page.get("ScannedCount", 0))
            items = list(page.get("Items", []))
            pos = 0
            while pos < len(items) and len(claimed) < limit:
                item = items[pos]
                pos += 1
                rec = self._record(item)
                expected = rec.version
                rec.version += 1
                rec.lease_owner, rec.lease_until, rec.updated_at = owner, lease_until, now
                # the whole item, conditioned on the version read: nothing else can have
                # changed in between, and the condition is one comparison
                if self._put_if({"Item": self._item(rec),
                                 "ConditionExpression": "version = :v",
                                 "ExpressionAttributeValues": {
                                     ":v": {"N": str(expected)}}}):
                    claimed.append(rec)
                elif pos < len(items):
                    # another claimer works on this stretch: spread out instead of trailing
                    # it through the same records (oldest-first holds without contention)
                    cut = pos + random.randrange(len(items) - pos)
                    items[pos:] = items[cut:] + items[pos:cut]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        return claimed

    def _list(self, kind: str, state: str | None, ref: str | None, limit: int,
              after: tuple[datetime, str] | None) -> list[Record]:
        values: dict[str, Any] = {}
        if ref is not None:
            index, cond = REF_INDEX, "kref = :p"
            values[":p"] = {"S": f"{kind}#{ref}"}
        else:
            index, cond = LIST_INDEX, "kind = :p"
            values[":p"] = {"S": kind}
        names: dict[str, str] = {}
        if after is not None:
            cond += " AND lk > :after"
            values[":after"] = {"S": _lk(to_ms(after[0]) or 0, after[1])}
        kwargs: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": cond}
        if state is not None:
            kwargs["FilterExpression"] = "#st = :st"
            names["#st"] = "state"
            values[":st"] = {"S": state}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        kwargs["ExpressionAttributeValues"] = values
        out: list[Record] = []
        while len(out) < limit:
            page = self._call("query", Limit=max(limit - len(out), 25), **kwargs)
            out.extend(self._record(i) for i in page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return out[:limit]

    # --------------------------------------------------------------- parts
    def _put_part(self, task_id: str, upload_id: str, part: PartRecord) -> None:
        self._call("put_item", Item={
            "pk": {"S": f"task#{task_id}"},
            "sk": {"S": f"P#{upload_id}#{part.part_number:05d}"},
            "upload_id": {"S": upload_id}, "part_number": {"N": str(part.part_number)},
            "etag": {"S": part.etag}, "start_byte": {"N": str(part.start)},
            "end_byte": {"N": str(part.end)}})

    def _part_items(self, task_id: str, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
            "ExpressionAttributeValues": {":pk": {"S": f"task#{task_id}"}, ":p": {"S": prefix}},
            "ConsistentRead": True}
        while True:
            page = self._call("query", **kwargs)
            items.extend(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _list_parts(self, task_id: str, upload_id: str) -> list[PartRecord]:
        return [PartRecord(int(i["part_number"]["N"]), i["etag"]["S"],
                           int(i["start_byte"]["N"]), int(i["end_byte"]["N"]))
                for i in self._part_items(task_id, f"P#{upload_id}#")
                if i["upload_id"]["S"] == upload_id]

    def _delete_parts(self, task_id: str) -> None:
        items = self._part_items(task_id, "P#")
        for i in range(0, len(items), 25):
            pending: dict[str, Any] = {self.table: [
                {"DeleteRequest": {"Key": {"pk": it["pk"], "sk": it["sk"]}}}
                for it in items[i:i + 25]]}
            for _ in range(5):
                pending = self._call("batch_write_item",
                                     RequestItems=pending).get("UnprocessedItems") or {}
                if not pending:
                    break
            if pending:
                raise StoreError(f"DynamoDB {self.table}: parts of {task_id} not deleted "
                                 "(throttled)")
