"""DynamoDB backend of the TaskStore (the shared store for Lambda).

The table's keys, indexes and items are laid out in :mod:`shared.state.dynamodb_items`;
this module makes the calls: the conditional writes and transactions that keep the race rules
of :mod:`shared.state.base`, the claims over the ``due`` index and the listings.

URL: ``dynamodb://TABLE?region=us-east-1&endpoint=http://127.0.0.1:PORT&create=1&ttl_days=30``
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.errors import ConfigError, StoreError
from shared.model import PartRecord
from shared.packaged import require_module
from shared.setting_names import ENV_STATE_URL
from shared.state.base import ANY_GROUP, TaskStore
from shared.state.codec import from_ms, lookup_key, to_ms
from shared.state.dialects import describe
from shared.state.dynamodb_items import (
    DUE_INDEX,
    LIST_INDEX,
    REF_INDEX,
    TTL_ATTRIBUTE,
    list_key,
    part_item,
    part_of,
    parts_partition,
    record_item,
    record_key,
    record_of,
    table_definition,
    unique_key,
)
from shared.state.records import Record
from shared.state.summary import SummaryRows, fold

log = logging.getLogger(__name__)

CONDITION_FAILED = "ConditionalCheckFailedException"


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
        from shared.clouds import aws

        parts = urlsplit(url)
        table = parts.netloc or parts.path.lstrip("/")
        if not table:
            raise ConfigError("COURIER_STATE_URL: dynamodb://TABLE?region=… expected")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            ttl_days = float(query.get("ttl_days", "30"))
        except ValueError as exc:
            raise ConfigError("COURIER_STATE_URL: ttl_days must be a number") from exc
        client = aws.client("dynamodb", region=query.get("region"),
                            endpoint=query.get("endpoint"), connect_s=5, read_s=10,
                            retries={"max_attempts": 4, "mode": "standard"})
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
                             f"{describe(exc)}") from exc

    def close(self) -> None:
        self.client.close()

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
            raise StoreError(f"DynamoDB {op} on {self.table}: {describe(exc)}") from exc

    # ------------------------------------------------------------- records
    def _insert(self, rec: Record) -> tuple[Record, bool]:
        from botocore.exceptions import ClientError

        for _attempt in (1, 2):
            puts: list[dict[str, Any]] = [{"Put": {
                "TableName": self.table, "Item": record_item(rec, self.ttl_s),
                "ConditionExpression": "attribute_not_exists(pk)"}}]
            lookup = lookup_key(rec.key)
            if lookup is not None:
                puts.append({"Put": {
                    "TableName": self.table,
                    "Item": {**unique_key(rec.kind, lookup), "target": {"S": rec.id}},
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

        key = unique_key(kind, lookup)
        got = self._call("get_item", Key=key, ConsistentRead=True).get("Item")
        if not got:
            return
        try:
            self._call("delete_item", Key=key, ConditionExpression="target = :t",
                       ExpressionAttributeValues={":t": got["target"]})
        except ClientError:
            pass  # somebody else took it over first; the retry sees theirs

    def _get(self, kind: str, record_id: str) -> Record | None:
        item = self._call("get_item", Key=record_key(kind, record_id),
                          ConsistentRead=True).get("Item")
        return record_of(item) if item else None

    def _get_by_key(self, kind: str, key: str) -> Record | None:
        lookup = lookup_key(key)
        item = self._call("get_item", Key=unique_key(kind, lookup),
                          ConsistentRead=True).get("Item")
        return self._get(kind, item["target"]["S"]) if item else None

    def _cas(self, rec: Record, expected_version: int) -> bool:
        from botocore.exceptions import ClientError

        item = record_item(rec, self.ttl_s)
        put = {"TableName": self.table, "Item": item,
               "ConditionExpression": "attribute_exists(pk) AND version = :v",
               "ExpressionAttributeValues": {":v": {"N": str(expected_version)}}}
        lookup = lookup_key(rec.key)
        if TTL_ATTRIBUTE not in item or lookup is None:
            return self._put_if(put)
        try:  # finishing: let the key item expire with its record
            self._call("transact_write_items", TransactItems=[
                {"Put": put},
                {"Update": {"TableName": self.table,
                            "Key": unique_key(rec.kind, lookup),
                            "UpdateExpression": f"SET {TTL_ATTRIBUTE} = :e",
                            "ConditionExpression": "target = :id",
                            "ExpressionAttributeValues": {":e": item[TTL_ATTRIBUTE],
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
               owner: str, group: str | None = ANY_GROUP,
               due_by: datetime | None = None) -> list[Record]:
        now_ms = str(to_ms(now))
        claimed: list[Record] = []
        start: dict[str, Any] | None = None
        scanned = 0
        values: dict[str, Any] = {":k": {"S": kind}, ":now": {"N": str(to_ms(due_by or now))}}
        filters = []
        if group is None:
            filters.append("attribute_not_exists(grp)")
        elif group != ANY_GROUP:
            filters.append("grp = :g")
            values[":g"] = {"S": group}
        if due_by is not None and due_by > now:  # the range reaches past now: a live lease
            filters.append("(attribute_not_exists(lease_until) OR lease_until <= :leased)")
            values[":leased"] = {"N": now_ms}
        extra: dict[str, Any] = {"FilterExpression": " AND ".join(filters)} if filters else {}
        # a filtered claim reads past the other records due: its bound is the whole range
        bound = limit * 20 + 100 if group == ANY_GROUP else None
        while len(claimed) < limit and (bound is None or scanned < bound):
            kwargs: dict[str, Any] = {
                "IndexName": DUE_INDEX,
                "KeyConditionExpression": "dk = :k AND avail_at <= :now",
                "ExpressionAttributeValues": values,
                "Limit": max(limit * 4, 25) if group == ANY_GROUP else 1000,
                **extra,
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
                rec = record_of(item)
                expected = rec.version
                rec.version += 1
                rec.lease_owner, rec.lease_until, rec.updated_at = owner, lease_until, now
                # the whole item, conditioned on the version read: nothing else can have
                # changed in between, and the condition is one comparison
                if self._put_if({"Item": record_item(rec, self.ttl_s),
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

    def _due_groups(self, kind: str, now: datetime, limit: int) -> list[str]:
        """The due range read oldest first, its groups in the order met (one read of the
        records due: the range holds nothing else)."""
        kwargs: dict[str, Any] = {
            "IndexName": DUE_INDEX, "KeyConditionExpression": "dk = :k AND avail_at <= :now",
            "FilterExpression": "attribute_exists(grp)", "ProjectionExpression": "grp",
            "ExpressionAttributeValues": {":k": {"S": kind}, ":now": {"N": str(to_ms(now))}}}
        groups: dict[str, None] = {}
        while len(groups) < limit:
            page = self._call("query", **kwargs)
            for item in page.get("Items", []):
                groups.setdefault(item["grp"]["S"])
            if not page.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return list(groups)[:limit]

    def _group_next_due(self, kind: str, group: str, after: datetime,
                        until: datetime) -> datetime | None:
        """The due range [after, until] read as the group's claim reads it (oldest first,
        filtered to the group); the first page with a match holds the earliest."""
        kwargs: dict[str, Any] = {
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "dk = :k AND avail_at BETWEEN :a AND :u",
            "FilterExpression": "grp = :g AND due_at BETWEEN :a AND :u",
            "ProjectionExpression": "due_at",
            "ExpressionAttributeValues": {":k": {"S": kind}, ":g": {"S": group},
                                          ":a": {"N": str(to_ms(after))},
                                          ":u": {"N": str(to_ms(until))}}}
        while True:
            page = self._call("query", **kwargs)
            dues = [int(item["due_at"]["N"]) for item in page.get("Items", [])]
            if dues or not page.get("LastEvaluatedKey"):
                return from_ms(min(dues)) if dues else None
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _list(self, kind: str, state: str | None, ref: str | None, limit: int,
              after: tuple[datetime, str] | None, newest_first: bool = False) -> list[Record]:
        values: dict[str, Any] = {}
        if ref is not None:
            index, cond = REF_INDEX, "kref = :p"
            values[":p"] = {"S": f"{kind}#{ref}"}
        else:
            index, cond = LIST_INDEX, "kind = :p"
            values[":p"] = {"S": kind}
        names: dict[str, str] = {}
        if after is not None:
            cond += " AND lk < :after" if newest_first else " AND lk > :after"
            values[":after"] = {"S": list_key(to_ms(after[0]) or 0, after[1])}
        kwargs: dict[str, Any] = {"IndexName": index, "KeyConditionExpression": cond,
                                  "ScanIndexForward": not newest_first}
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
            out.extend(record_of(i) for i in page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return out[:limit]

    def _summarize(self, kind: str, since: datetime) -> SummaryRows:
        """One pass over the listing index, reading five small attributes per record."""
        kwargs: dict[str, Any] = {
            "IndexName": LIST_INDEX, "KeyConditionExpression": "kind = :k",
            "ExpressionAttributeValues": {":k": {"S": kind}},
            "ProjectionExpression": "id, #st, #rf, created_at, updated_at",
            "ExpressionAttributeNames": {"#st": "state", "#rf": "ref"}}

        def items() -> Iterator[tuple[str, str, str, int, int]]:
            while True:
                page = self._call("query", **kwargs)
                for i in page.get("Items", []):
                    yield (i["id"]["S"], i["state"]["S"], i.get("ref", {}).get("S", ""),
                           int(i["created_at"]["N"]), int(i["updated_at"]["N"]))
                if not page.get("LastEvaluatedKey"):
                    return
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

        return fold(items(), to_ms(since) or 0)

    # --------------------------------------------------------------- parts
    def _put_part(self, task_id: str, upload_id: str, part: PartRecord) -> None:
        self._call("put_item", Item=part_item(task_id, upload_id, part))

    def _part_items(self, task_id: str, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :p)",
            "ExpressionAttributeValues": {":pk": parts_partition(task_id), ":p": {"S": prefix}},
            "ConsistentRead": True}
        while True:
            page = self._call("query", **kwargs)
            items.extend(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _list_parts(self, task_id: str, upload_id: str) -> list[PartRecord]:
        return [part_of(i) for i in self._part_items(task_id, f"P#{upload_id}#")
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
