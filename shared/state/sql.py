"""SQL backend of the TaskStore: SQLite (embedded default), PostgreSQL and MySQL/MariaDB.

One implementation over the DB-API drivers (sqlite3, psycopg 3, PyMySQL) with a thin dialect
layer for placeholders, upserts and row locking — no ORM, so cold starts stay small. Times
that are compared (``due_at``, ``lease_until``) are integer epoch milliseconds.

Claims: PostgreSQL and MariaDB/MySQL select candidates ``FOR UPDATE SKIP LOCKED`` inside a
transaction; SQLite takes its write lock up front (``BEGIN IMMEDIATE``). Either way the
selected rows cannot change before commit, so one UPDATE leases them all and bumps their
versions (a later CAS from a previous holder then loses).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from shared.errors import ConfigError, ConflictError, CourierError, StoreError
from shared.model import PartRecord
from shared.packaged import require_module
from shared.setting_names import ENV_STATE_URL
from shared.state.base import ANY_GROUP, TaskStore
from shared.state.codec import EPOCH, from_ms, lookup_key, to_ms
from shared.state.dialects import Dialect, MySqlDialect, PostgresDialect, describe, wal
from shared.state.records import Record
from shared.state.summary import FINISHED, HOUR_MS, WAITING, SummaryRows

log = logging.getLogger(__name__)
T = TypeVar("T")

COLUMNS = ("kind", "id", "rkey", "key_text", "state", "ref", "version", "due_at", "lease_owner",
           "lease_until", "created_at", "updated_at", "data", "grp")


class SqlTaskStore(TaskStore):
    def __init__(self, connect: Any, dialect: Dialect, table: str = "courier") -> None:
        if not table.replace("_", "").isalnum():
            raise ConfigError(f"state table name {table!r} must be letters, digits and _")
        self._connect = connect
        self.dialect = dialect
        self.t = table
        self._conn: Any = None
        self._lock = threading.RLock()
        self._ensure_schema()

    # ------------------------------------------------------------ building
    @classmethod
    def from_url(cls, url: str) -> SqlTaskStore:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        table = query.get("table", "courier")
        scheme = parts.scheme.lower()
        if scheme == "sqlite":
            raw = url[len("sqlite://"):].split("?", 1)[0]
            path = ":memory:" if raw in (":memory:", "/:memory:") else raw[1:] if raw.startswith(
                "/") else raw
            if not path:
                raise ConfigError("COURIER_STATE_URL: sqlite:///path/to/state.db expected")
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)

            def connect_sqlite() -> Any:
                conn = sqlite3.connect(path, timeout=30, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("PRAGMA busy_timeout = 30000")
                if path != ":memory:":
                    wal(conn)
                    conn.execute("PRAGMA synchronous = NORMAL")
                return conn

            return cls(connect_sqlite, Dialect(), table)
        if scheme in ("postgresql", "postgres"):
            require_module(ENV_STATE_URL, scheme, "psycopg")

            def connect_pg() -> Any:
                import psycopg

                # keep libpq options (sslmode=…), drop ours
                rest = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "table"])
                dsn = urlunsplit(("postgresql", parts.netloc, parts.path, rest, ""))
                return psycopg.connect(dsn, connect_timeout=5, autocommit=True)

            return cls(connect_pg, PostgresDialect(), table)
        if scheme == "mysql":
            require_module(ENV_STATE_URL, scheme, "pymysql")

            def connect_mysql() -> Any:
                import pymysql

                return pymysql.connect(
                    host=parts.hostname or "127.0.0.1", port=parts.port or 3306,
                    user=unquote(parts.username or "root"),
                    password=unquote(parts.password or ""),
                    database=(parts.path or "/").lstrip("/") or None,
                    connect_timeout=5, read_timeout=30, write_timeout=30, autocommit=True,
                    charset="utf8mb4",
                    # fewer gap locks, so concurrent claimers skip rather than deadlock
                    init_command="SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")

            return cls(connect_mysql, MySqlDialect(), table)
        raise ConfigError(f"COURIER_STATE_URL: unsupported scheme {scheme!r}")

    # ---------------------------------------------------------- connection
    def _connection(self) -> Any:
        if self._conn is None:
            try:
                self._conn = self._connect()
            except Exception as exc:  # noqa: BLE001 - every driver has its own errors
                raise StoreError(f"cannot connect to the {self.dialect.name} state store: "
                                 f"{describe(exc)}") from exc
        return self._conn

    @contextmanager
    def _tx(self, immediate: bool = False) -> Iterator[Any]:
        """One write transaction; reconnects once if the connection was dropped.

        Driver errors leave as :class:`StoreError`, except duplicate-key errors, which
        ``_insert`` needs to see as they are.
        """
        with self._lock:
            cur = self._begin(immediate)
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException as exc:
                try:
                    cur.execute("ROLLBACK")
                except Exception:  # noqa: BLE001 - the connection is gone; start afresh
                    self._drop()
                if isinstance(exc, Exception) and not isinstance(exc, CourierError) \
                        and not self.dialect.is_duplicate(exc):
                    if self.dialect.is_disconnect(exc):
                        self._drop()
                    raise StoreError(f"{self.dialect.name} state store: "
                                     f"{describe(exc)}") from exc
                raise

    def _begin(self, immediate: bool) -> Any:
        statement = "BEGIN IMMEDIATE" if immediate and self.dialect.name == "sqlite" else "BEGIN"

        def begin() -> Any:
            cur = self._connection().cursor()
            cur.execute(statement)
            return cur

        return self._once_more_if_dropped(begin)

    def _read(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        """Run one SELECT outside a transaction; reconnect and retry once if dropped."""

        def select() -> list[Any]:
            cur = self._connection().cursor()
            cur.execute(sql, args)
            return list(cur.fetchall())

        with self._lock:
            return self._once_more_if_dropped(select)

    def _once_more_if_dropped(self, step: Callable[[], T]) -> T:
        """Run ``step``; if the connection turns out dropped, reconnect and run it once more.
        Driver errors leave as :class:`StoreError`."""
        for attempt in (1, 2):
            try:
                return step()
            except CourierError:
                raise
            except Exception as exc:  # noqa: BLE001 - every driver has its own errors
                if attempt == 1 and self.dialect.is_disconnect(exc):
                    log.warning("state store connection dropped (%s); reconnecting",
                                type(exc).__name__)
                    self._drop()
                    continue
                raise StoreError(f"{self.dialect.name} state store: {describe(exc)}") from exc
        raise AssertionError("unreachable")

    def _drop(self) -> None:
        try:
            if self._conn is not None:
                self._conn.close()
        except Exception:  # noqa: BLE001, S110 - closing a broken connection may fail too
            pass
        self._conn = None

    def _ensure_schema(self) -> None:
        with self._lock:
            cur = self._connection().cursor()
            self.dialect.prepare(cur)
            create_table, *rest = self.dialect.schema(self.t)
            self._schema_step(cur, create_table)
            for column, add in self.dialect.added_columns(self.t):
                # a table of an earlier version: the column added, once (a look first, so a
                # table that has it takes no ALTER and no lock of the whole table)
                try:
                    cur.execute(f"SELECT {column} FROM {self.t}_records WHERE 1 = 0")
                    cur.fetchall()
                except Exception:  # noqa: BLE001 - every driver says "no such column" its way
                    log.info("state schema: adding %s to %s_records", column, self.t)
                    self._schema_step(cur, add)
            for statement in rest:
                self._schema_step(cur, statement)

    @staticmethod
    def _schema_step(cur: Any, statement: str) -> None:
        try:
            cur.execute(statement)
        except Exception as exc:  # noqa: BLE001 - a racing cold start made it first
            text = str(exc).lower()
            if "exist" not in text and "duplicate" not in text:
                raise StoreError(f"cannot create the state schema: "
                                 f"{describe(exc)}") from exc
            log.debug("state schema: %s already there", statement.split("(")[0])

    def close(self) -> None:
        with self._lock:
            self._drop()

    # ------------------------------------------------------------- records
    def _row(self, rec: Record) -> tuple[Any, ...]:
        return (rec.kind, rec.id, lookup_key(rec.key), rec.key, rec.state, rec.ref,
                rec.version, to_ms(rec.due_at), rec.lease_owner, to_ms(rec.lease_until),
                to_ms(rec.created_at), to_ms(rec.updated_at),
                json.dumps(rec.data, separators=(",", ":")), rec.group)

    @staticmethod
    def _record(row: Sequence[Any]) -> Record:
        (kind, rid, _lookup, key, state, ref, version, due, owner, until, created, updated,
         data, group) = row
        return Record(kind=kind, id=rid, key=key, state=state, ref=ref, version=int(version),
                      due_at=from_ms(due), lease_owner=owner, lease_until=from_ms(until),
                      created_at=EPOCH + timedelta(milliseconds=int(created)),
                      updated_at=EPOCH + timedelta(milliseconds=int(updated)),
                      data=json.loads(data), group=group)

    def _select(self, where: str) -> str:
        return f"SELECT {', '.join(COLUMNS)} FROM {self.t}_records WHERE {where}"

    def _insert(self, rec: Record) -> tuple[Record, bool]:
        p = self.dialect.param
        sql = (f"INSERT INTO {self.t}_records ({', '.join(COLUMNS)}) "
               f"VALUES ({', '.join([p] * len(COLUMNS))})")
        try:
            with self._tx() as cur:
                cur.execute(sql, self._row(rec))
            return rec, True
        except Exception as exc:  # noqa: BLE001
            if not self.dialect.is_duplicate(exc):
                raise
        existing = self._get_by_key(rec.kind, rec.key) if rec.key else None
        if existing is None:
            existing = self._get(rec.kind, rec.id)
        if existing is None:
            raise StoreError(f"{rec.kind} {rec.id}: insert conflicted but nothing is stored")
        return existing, False

    def _one(self, where: str, args: tuple[Any, ...]) -> Record | None:
        rows = self._read(self._select(where), args)
        return self._record(rows[0]) if rows else None

    def _get(self, kind: str, record_id: str) -> Record | None:
        p = self.dialect.param
        return self._one(f"kind = {p} AND id = {p}", (kind, record_id))

    def _get_by_key(self, kind: str, key: str) -> Record | None:
        p = self.dialect.param
        return self._one(f"kind = {p} AND rkey = {p}", (kind, lookup_key(key)))

    def _cas(self, rec: Record, expected_version: int) -> bool:
        return self._cas_many([(rec, expected_version)])[0]

    def _cas_many(self, writes: list[tuple[Record, int]]) -> list[bool]:
        """One transaction for them all: one commit (one log flush) instead of one each."""
        p = self.dialect.param
        sets = ", ".join(f"{c} = {p}" for c in COLUMNS[2:])
        sql = f"UPDATE {self.t}_records SET {sets} WHERE kind = {p} AND id = {p} AND version = {p}"
        done: list[bool] = []
        try:
            with self._tx(immediate=True) as cur:
                for rec, expected in writes:
                    cur.execute(sql, (*self._row(rec)[2:], rec.kind, rec.id, expected))
                    done.append(cur.rowcount == 1)
        except Exception as exc:  # noqa: BLE001
            if self.dialect.is_duplicate(exc):  # a record's new key is another record's
                rec = writes[len(done)][0]
                raise ConflictError(f"{rec.kind} {rec.id}: its unique key is taken") from exc
            raise
        return done

    def _claim(self, kind: str, now: datetime, limit: int, lease_until: datetime,
               owner: str, group: str | None = ANY_GROUP,
               due_by: datetime | None = None) -> list[Record]:
        p = self.dialect.param
        now_ms = to_ms(now)
        due_ms = to_ms(due_by or now)
        claimed: list[Record] = []
        # (kind, grp, due_at) serves a group's claim and the claim of tasks of none alike
        where, args = f"kind = {p}", [kind]
        if group is None:
            where += " AND grp IS NULL"
        elif group != ANY_GROUP:
            where += f" AND grp = {p}"
            args.append(group)
        with self._tx(immediate=True) as cur:
            cur.execute(
                self._select(f"{where} AND due_at IS NOT NULL AND due_at <= {p} AND "
                             f"(lease_until IS NULL OR lease_until <= {p})")
                + f" ORDER BY due_at, id LIMIT {int(limit)}{self.dialect.skip_locked}",
                (*args, due_ms, now_ms))
            claimed = [self._record(row) for row in cur.fetchall()]
            if not claimed:
                return []
            # the selected rows are ours until commit (row locks, or SQLite's write lock),
            # so one UPDATE takes them all; the lease test repeats the selection's guard
            cur.execute(f"UPDATE {self.t}_records SET version = version + 1, lease_owner = {p},"
                        f" lease_until = {p}, updated_at = {p} WHERE kind = {p} AND id IN "
                        f"({', '.join([p] * len(claimed))}) AND "
                        f"(lease_until IS NULL OR lease_until <= {p})",
                        (owner, to_ms(lease_until), now_ms, kind, *[r.id for r in claimed],
                         now_ms))
            if cur.rowcount != len(claimed):
                raise StoreError(f"claim of {len(claimed)} {kind} records updated "
                                 f"{cur.rowcount}; rolled back")
            for rec in claimed:
                rec.version += 1
                rec.lease_owner, rec.lease_until, rec.updated_at = owner, lease_until, now
        return claimed

    def _due_groups(self, kind: str, now: datetime, limit: int) -> list[str]:
        p = self.dialect.param
        now_ms = to_ms(now)
        rows = self._read(f"SELECT grp, MIN(due_at) AS first FROM {self.t}_records"
                          f"{self.dialect.by_due(self.t)} "
                          f"WHERE kind = {p} AND due_at <= {p} AND grp IS NOT NULL AND "
                          f"(lease_until IS NULL OR lease_until <= {p}) GROUP BY grp "
                          f"ORDER BY first, grp LIMIT {int(limit)}", (kind, now_ms, now_ms))
        return [str(r[0]) for r in rows]

    def _group_next_due(self, kind: str, group: str, after: datetime,
                        until: datetime) -> datetime | None:
        p = self.dialect.param  # a range of the (kind, grp, due_at) index: its first entry
        rows = self._read(f"SELECT MIN(due_at) FROM {self.t}_records WHERE kind = {p} AND grp ="
                          f" {p} AND due_at >= {p} AND due_at <= {p}",
                          (kind, group, to_ms(after), to_ms(until)))
        return from_ms(rows[0][0]) if rows else None

    def _list(self, kind: str, state: str | None, ref: str | None, limit: int,
              after: tuple[datetime, str] | None, newest_first: bool = False) -> list[Record]:
        p = self.dialect.param
        where, args = [f"kind = {p}"], [kind]
        if state is not None:
            where.append(f"state = {p}")
            args.append(state)
        if ref is not None:
            where.append(f"ref = {p}")
            args.append(ref)
        beyond, order = ("<", " DESC") if newest_first else (">", "")
        if after is not None:
            where.append(f"(created_at {beyond} {p} OR (created_at = {p} AND id {beyond} {p}))")
            ms = to_ms(after[0])
            args += [ms, ms, after[1]]  # type: ignore[list-item]
        rows = self._read(self._select(" AND ".join(where))
                          + f" ORDER BY created_at{order}, id{order} LIMIT {int(limit)}",
                          tuple(args))
        return [self._record(r) for r in rows]

    def _summarize(self, kind: str, since: datetime) -> SummaryRows:
        p, div = self.dialect.param, self.dialect.int_div
        since_ms = to_ms(since)
        counts = self._read(f"SELECT state, ref, COUNT(*) FROM {self.t}_records "
                            f"WHERE kind = {p} GROUP BY state, ref", (kind,))
        waiting = ", ".join([p] * len(WAITING))
        oldest = self._read(f"SELECT id FROM {self.t}_records WHERE kind = {p} AND state IN "
                            f"({waiting}) ORDER BY created_at, id LIMIT 1", (kind, *WAITING))
        took = "updated_at - created_at"
        finished = self._read(
            f"SELECT state, (updated_at - {p}) {div} {HOUR_MS} AS hour, COUNT(*), SUM({took}),"
            f" MAX({took}) FROM {self.t}_records WHERE kind = {p} AND state IN ({p}, {p}) AND "
            f"updated_at >= {p} GROUP BY state, hour", (since_ms, kind, *FINISHED, since_ms))
        return SummaryRows(
            counts=[(str(s), str(r or ""), int(n)) for s, r, n in counts],
            oldest_waiting=str(oldest[0][0]) if oldest else None,
            finished=[(str(s), int(h), int(n), int(t or 0), int(m or 0))
                      for s, h, n, t, m in finished])

    # --------------------------------------------------------------- parts
    def _put_part(self, task_id: str, upload_id: str, part: PartRecord) -> None:
        with self._tx() as cur:
            cur.execute(self.dialect.upsert_part(self.t),
                        (task_id, upload_id, part.part_number, part.etag, part.start, part.end))

    def _list_parts(self, task_id: str, upload_id: str) -> list[PartRecord]:
        p = self.dialect.param
        rows = self._read(f"SELECT part_number, etag, start_byte, end_byte FROM {self.t}_parts "
                          f"WHERE task_id = {p} AND upload_id = {p}", (task_id, upload_id))
        return [PartRecord(int(n), e, int(s), int(x)) for n, e, s, x in rows]

    def _delete_parts(self, task_id: str) -> None:
        p = self.dialect.param
        with self._tx() as cur:
            cur.execute(f"DELETE FROM {self.t}_parts WHERE task_id = {p}", (task_id,))
