"""The real servers the integration tests talk to, for pytest: :mod:`sandbox.servers` finds
or starts them (and is what ``bench/`` uses, free of pytest); this module turns a missing one
into a skip with :func:`require` — except on CI (``CI=true``), where a missing server is a
failure, not a skip.

* :func:`require`      — ``require(servers.postgres_url)``: the URL, or skip / fail.
* :func:`moto`         — ``with servers.moto() as m:`` a moto server for the block.
* :func:`drop_tables`  — remove a state store's tables from the shared server again.
* and, from :mod:`sandbox.servers`: :func:`postgres_url`, :func:`mysql_url`,
  :func:`start_moto`, :func:`unique_name`, :func:`serving`, :func:`aws_test_env`.

Usage in a test module::

    from tests import servers

    @pytest.fixture(scope="session")
    def pg_url():
        return servers.require(servers.postgres_url)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

from sandbox.servers import (
    COS_MIN_PART,
    HOST,
    OSS_MIN_PART,
    S3_MIN_PART,
    MotoServer,
    ServerUnavailable,
    aws_test_env,
    mysql_url,
    postgres_url,
    serving,
    start_moto,
    unique_name,
)

__all__ = [
    "COS_MIN_PART", "HOST", "OSS_MIN_PART", "S3_MIN_PART", "MotoServer", "ServerUnavailable",
    "aws_test_env", "drop_tables", "moto", "mysql_url", "on_ci", "postgres_url", "require",
    "serving", "start_moto", "unique_name",
]

T = TypeVar("T")


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def require(find: Callable[[], T] | str) -> T:
    """Call ``find()`` and return its result; if the server is missing, skip the test —
    or fail it when ``CI=true``. Given a plain string, skip/fail with that reason."""
    if isinstance(find, str):
        _missing(find)
    try:
        return find()  # type: ignore[operator]
    except ServerUnavailable as exc:
        _missing(str(exc))
        raise  # unreachable: _missing always raises


def _missing(reason: str) -> None:
    if on_ci():
        pytest.fail(f"CI=true and a required server is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def drop_tables(store: Any) -> None:
    """Remove what a test (or a benchmark) created on a shared server: the state store's
    tables (PostgreSQL, MySQL) or its DynamoDB table; nothing for SQLite."""
    from shared.state.dynamodb import DynamoDBTaskStore
    from shared.state.sql import SqlTaskStore

    if isinstance(store, SqlTaskStore) and store.dialect.name != "sqlite":
        with store._tx() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {store.t}_records")
            cur.execute(f"DROP TABLE IF EXISTS {store.t}_parts")
    elif isinstance(store, DynamoDBTaskStore):
        store.client.delete_table(TableName=store.table)


@contextmanager
def moto() -> Iterator[MotoServer]:
    """``with servers.moto() as m:`` — a moto server for the block (skips if moto is absent)."""
    handle = require(start_moto)
    try:
        yield handle
    finally:
        handle.stop()


@contextmanager
def fronted(gateway_cls: Any, min_part: int, region: str,
            credentials: dict[str, str] | None = None) -> Iterator[Any]:
    """``with servers.fronted(CosGateway, COS_MIN_PART, region) as gw:`` — a sandbox storage
    gateway (COS or OSS) started in front of a moto server of its own, whose smallest
    multipart part is ``min_part``; both stopped after the block."""
    upstream = require(lambda: start_moto(min_part))
    kwargs = {"credentials": credentials} if credentials is not None else {}
    try:
        gateway = gateway_cls(upstream.url, region=region, **kwargs).start()
        try:
            yield gateway
        finally:
            gateway.stop()
    finally:
        upstream.stop()
