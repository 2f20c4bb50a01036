"""What differs between SQLite, PostgreSQL and MySQL/MariaDB for the SQL TaskStore: schema
types, part upserts, session setup and how each driver reports duplicates and lost
connections."""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Any

log = logging.getLogger(__name__)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else ""


def describe(exc: BaseException) -> str:
    """What a driver error says, in words: its first line, never its class name (answers
    and stored errors do not carry exception class names; the log has the traceback)."""
    return first_line(exc) or "the driver gave no reason"


def wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL. Switching needs a moment alone with the file and SQLite does
    not wait for it (no busy handler), so retry while another process holds it."""
    for attempt in range(100):
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.05)


class Dialect:
    name = "sqlite"
    param = "?"
    skip_locked = ""
    int_div = "/"  # integer division of two integers
    text_type = "TEXT"
    key_type = "VARCHAR(200)"

    def schema(self, t: str) -> list[str]:
        k = self.key_type
        return [
            f"CREATE TABLE IF NOT EXISTS {t}_records ("
            f"kind VARCHAR(16) NOT NULL, id {k} NOT NULL, rkey {k}, key_text {self.text_type},"
            f" state VARCHAR(32) NOT NULL,"
            f" ref {k}, version BIGINT NOT NULL, due_at BIGINT, lease_owner {k},"
            f" lease_until BIGINT, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
            f" data {self.text_type} NOT NULL, grp {k}, PRIMARY KEY (kind, id))",
            f"CREATE UNIQUE INDEX {self.if_not_exists}{t}_records_key ON {t}_records (kind, rkey)",
            f"CREATE INDEX {self.if_not_exists}{t}_records_due ON {t}_records (kind, due_at)",
            f"CREATE INDEX {self.if_not_exists}{t}_records_group "
            f"ON {t}_records (kind, grp, due_at)",
            f"CREATE INDEX {self.if_not_exists}{t}_records_list "
            f"ON {t}_records (kind, created_at, id)",
            f"CREATE INDEX {self.if_not_exists}{t}_records_filter "
            f"ON {t}_records (kind, state, ref, created_at, id)",
            f"CREATE TABLE IF NOT EXISTS {t}_parts (task_id {k} NOT NULL,"
            f" upload_id VARCHAR(255) NOT NULL, part_number INTEGER NOT NULL,"
            f" etag VARCHAR(255) NOT NULL, start_byte BIGINT NOT NULL, end_byte BIGINT NOT NULL,"
            f" PRIMARY KEY (task_id, upload_id, part_number))",
        ]

    if_not_exists = "IF NOT EXISTS "

    def by_due(self, t: str) -> str:
        """The due groups are read through the due index (the records due now: few), never
        the group index (every grouped record, due or not). SQLite's planner has no
        histogram to tell the two apart in a large table, so it is told."""
        return f" INDEXED BY {t}_records_due"

    def added_columns(self, t: str) -> list[tuple[str, str]]:
        """Columns later versions added to the first statement's table: (name, the ALTER
        that adds it to a table made before). ``grp``: a submitted export's listing group."""
        return [("grp", f"ALTER TABLE {t}_records ADD COLUMN grp {self.key_type}")]

    def upsert_part(self, t: str) -> str:
        p = self.param
        return (f"INSERT INTO {t}_parts (task_id, upload_id, part_number, etag, start_byte,"
                f" end_byte) VALUES ({p},{p},{p},{p},{p},{p}) ON CONFLICT (task_id, upload_id,"
                f" part_number) DO UPDATE SET etag=excluded.etag, start_byte=excluded.start_byte,"
                f" end_byte=excluded.end_byte")

    def prepare(self, cur: Any) -> None:
        """Look at the server once before creating the schema (versions, features)."""

    def is_duplicate(self, exc: Exception) -> bool:
        return isinstance(exc, sqlite3.IntegrityError)

    def is_disconnect(self, exc: Exception) -> bool:
        return False


class PostgresDialect(Dialect):
    name = "postgresql"
    param = "%s"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def by_due(self, t: str) -> str:
        return ""  # its statistics tell how few records are due

    def is_duplicate(self, exc: Exception) -> bool:
        import psycopg

        return isinstance(exc, psycopg.errors.UniqueViolation)

    def is_disconnect(self, exc: Exception) -> bool:
        import psycopg

        return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))


class MySqlDialect(Dialect):
    name = "mysql"
    int_div = "DIV"
    param = "%s"
    skip_locked = " FOR UPDATE SKIP LOCKED"
    text_type = "LONGTEXT"
    key_type = "VARCHAR(191)"  # fits a utf8mb4 index
    if_not_exists = ""  # MySQL has no CREATE INDEX IF NOT EXISTS; duplicates are tolerated

    def by_due(self, t: str) -> str:
        return f" FORCE INDEX ({t}_records_due)"

    def prepare(self, cur: Any) -> None:
        # SKIP LOCKED needs MariaDB >= 10.6 or MySQL >= 8.0; older servers get plain
        # FOR UPDATE (claimers then queue instead of skipping — still never a double claim).
        cur.execute("SELECT VERSION()")
        version = str(cur.fetchone()[0])
        numbers = tuple(int(x) for x in version.split("-")[0].split(".")[:2] if x.isdigit())
        needed = (10, 6) if "mariadb" in version.lower() else (8, 0)
        if numbers < needed:
            log.info("state store: %s has no SKIP LOCKED; claims use FOR UPDATE", version)
            self.skip_locked = " FOR UPDATE"

    def upsert_part(self, t: str) -> str:
        p = self.param
        return (f"INSERT INTO {t}_parts (task_id, upload_id, part_number, etag, start_byte,"
                f" end_byte) VALUES ({p},{p},{p},{p},{p},{p}) ON DUPLICATE KEY UPDATE"
                f" etag=VALUES(etag), start_byte=VALUES(start_byte), end_byte=VALUES(end_byte)")

    def is_duplicate(self, exc: Exception) -> bool:
        import pymysql

        return isinstance(exc, pymysql.err.IntegrityError) and exc.args[0] == 1062

    def is_disconnect(self, exc: Exception) -> bool:
        import pymysql

        return isinstance(exc, (pymysql.err.OperationalError, pymysql.err.InterfaceError))
