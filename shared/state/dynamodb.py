"""DynamoDB backend of the TaskStore (the shared store for Lambda).

The table's keys, indexes and items are laid out in :mod:`shared.state.dynamodb_items`;
this module makes the calls: the conditional writes and transactions that keep the race rules
of :mod:`shared.state.base`, the claims over the ``due`` and ``group_due`` indexes and the
listings. A table made before ``group_due`` keeps working: the first read that finds the index
missing (or still being built) sends the group reads back to the ``due`` index, filtered, with
one warning, and the index is tried again every :data:`GROUP_INDEX_RECHECK_S`.

URL: ``dynamodb://TABLE?region=us-east-1&endpoint=http://127.0.0.1:PORT&create=1&ttl_days=30``
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar
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
    GROUP_INDEX,
    LIST_INDEX,
    REF_INDEX,
    TTL_ATTRIBUTE,
    group_key,
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
GROUP_INDEX_RECHECK_S = 600.0  # a table found without group_due is tried again after this
# how a query of an index the table lacks is refused: DynamoDB answers ValidationException,
# "The table does not have the specified index: …" (or, while a new index is built, "Cannot read
# from backfilling global secondary index: …"); moto answers ResourceNotFoundException
GROUP_INDEX_MISSING = ("ValidationException", "ResourceNotFoundException")
T = TypeVar("T")


class GroupIndexMissingError(StoreError):
    """The table has no ``group_due`` index (made before it), or it is still being built."""


class DynamoDBTaskStore(TaskStore):
    def __init__(self, client: Any, table: str, *, ttl_days: float = 30.0,
                 create: bool = False) -> None:
        self.client = client
        self.table = table
        self.ttl_s = int(ttl_days * 86400)
        self._no_group_index_at: float | None = None  # monotonic time it was found missing
        self._told_no_group_index = False
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
            message = str(exc.response["Error"].get("Message", ""))
            if (kwargs.get("IndexName") == GROUP_INDEX and code in GROUP_INDEX_MISSING
                    and GROUP_INDEX in message):
                self._lacks_group_index(message)
                raise GroupIndexMissingError(f"DynamoDB {self.table}: {message}") from exc
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
        return self._on_group_reads(lambda: self._claim_range(
            kind, now, limit, lease_until, owner, group, due_by))

    def _claim_range(self, kind: str, now: datetime, limit: int, lease_until: datetime,
                     owner: str, group: str | None, due_by: datetime | None) -> list[Record]:
        now_ms = str(to_ms(now))
        claimed: list[Record] = []
        start: dict[str, Any] | None = None
        scanned = 0
        filters: list[str] = []
        values: dict[str, Any] = {":p": {"S": kind}}
        if group is None or group == ANY_GROUP:
            index, part = DUE_INDEX, "dk = :p"
            if group is None:  # of no group, or grouped by a version before gk: on its own
                filters.append("attribute_not_exists(gk)")
        else:
            index, part, filters, values = self._group_range(kind, group)
        values[":now"] = {"N": str(to_ms(due_by or now))}
        if due_by is not None and due_by > now:  # the range reaches past now: a live lease
            filters.append("(attribute_not_exists(lease_until) OR lease_until <= :leased)")
            values[":leased"] = {"N": now_ms}
        extra: dict[str, Any] = {"FilterExpression": " AND ".join(filters)} if filters else {}
        # a claim of any group reads past records leased meanwhile up to a bound; one
        # group's claim reads its own records (a few past its limit, for those lost to
        # contention), or on a table without group_due the whole due range, filtered
        bound = limit * 20 + 100 if group == ANY_GROUP else None
        if group == ANY_GROUP:
            page_size = max(limit * 4, 25)
        else:
            page_size = min(limit + 25, 1000) if index == GROUP_INDEX else 1000
        while len(claimed) < limit and (bound is None or scanned < bound):
            kwargs: dict[str, Any] = {
                "IndexName": index,
                "KeyConditionExpression": f"{part} AND avail_at <= :now",
                "ExpressionAttributeValues": values,
                "Limit": page_size,
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
        records due: the range holds nothing else). A record grouped by a version before
        ``gk`` is left to the claims of no group until it is written again."""
        kwargs: dict[str, Any] = {
            "IndexName": DUE_INDEX, "KeyConditionExpression": "dk = :k AND avail_at <= :now",
            "FilterExpression": "attribute_exists(gk)", "ProjectionExpression": "grp",
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
        return self._on_group_reads(lambda: self._next_due(kind, group, after, until))

    def _next_due(self, kind: str, group: str, after: datetime,
                  until: datetime) -> datetime | None:
        """The group's range [after, until] read as its claim reads it (oldest first); the
        first page with a match holds the earliest."""
        index, part, filters, values = self._group_range(kind, group)
        values.update({":a": {"N": str(to_ms(after))}, ":u": {"N": str(to_ms(until))}})
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": f"{part} AND avail_at BETWEEN :a AND :u",
            "FilterExpression": " AND ".join([*filters, "due_at BETWEEN :a AND :u"]),
            "ProjectionExpression": "due_at", "ExpressionAttributeValues": values}
        while True:
            page = self._call("query", **kwargs)
            dues = [int(item["due_at"]["N"]) for item in page.get("Items", [])]
            if dues or not page.get("LastEvaluatedKey"):
                return from_ms(min(dues)) if dues else None
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # --------------------------------------------------- the group index
    def _group_range(self, kind: str, group: str
                     ) -> tuple[str, str, list[str], dict[str, Any]]:
        """Where ``group``'s due records are read: (index, the key condition's partition
        part on ``:p``, filters, values). Its own partition of ``group_due``; on a table
        without that index, the due index's partition of ``kind`` filtered to the group."""
        at = self._no_group_index_at
        if at is None or time.monotonic() - at >= GROUP_INDEX_RECHECK_S:
            return GROUP_INDEX, "gk = :p", [], {":p": {"S": group_key(kind, group)}}
        return DUE_INDEX, "dk = :p", ["grp = :g"], {":p": {"S": kind}, ":g": {"S": group}}

    def _on_group_reads(self, read: Callable[[], T]) -> T:
        """``read``, and again on the due index should its first query find ``group_due``
        missing (nothing is taken before that query answers)."""
        try:
            return read()
        except GroupIndexMissingError:
            return read()

    def _lacks_group_index(self, reason: str) -> None:
        self._no_group_index_at = time.monotonic()
        if self._told_no_group_index:
            return
        self._told_no_group_index = True
        log.warning(
            "state store: DynamoDB table %s cannot be read through its index %s (%s); until "
            "it can, each listing group's claim reads every due record of the table. Add the "
            "index: deploy deploy/aws/serverless.yml again (its table has it), or UpdateTable "
            "with the index %s (partition key gk, string; sort key avail_at, number; "
            "projection ALL); a new index is read once DynamoDB has built it",
            self.table, GROUP_INDEX, reason, GROUP_INDEX)

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
