"""Fixtures for the state-store conformance suite: one fresh, isolated store per test on each
backend (``sqlite``, ``postgresql``, ``mysql``, ``dynamodb``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.state import open_store
from shared.state.base import TaskStore
from tests import servers

BACKENDS = ["sqlite", "postgresql", "mysql", "dynamodb"]


@pytest.fixture(scope="session")
def pg_base_url() -> str:
    return servers.require(servers.postgres_url)


@pytest.fixture(scope="session")
def mysql_base_url() -> str:
    return servers.require(servers.mysql_url)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[servers.MotoServer]:
    saved = {k: os.environ.get(k) for k in servers.aws_test_env()}
    os.environ.update(servers.aws_test_env())  # worker processes inherit these
    try:
        with servers.moto() as handle:
            yield handle
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _with_query(url: str, **params: str) -> str:
    sep = "&" if "?" in url else "?"
    return url + sep + "&".join(f"{k}={v}" for k, v in params.items())


def make_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL naming a table no other test (or concurrent run) uses."""
    name = servers.unique_name("st")
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / name}.db"
    if backend == "postgresql":
        return _with_query(request.getfixturevalue("pg_base_url"), table=name)
    if backend == "mysql":
        return _with_query(request.getfixturevalue("mysql_base_url"), table=name)
    if backend == "dynamodb":
        moto = request.getfixturevalue("moto_server")
        return f"dynamodb://{name}?region=us-east-1&endpoint={moto.url}&create=1"
    raise AssertionError(backend)


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = make_url(request.param, request, tmp_path)
    yield url
    cleanup = open_store(url)
    try:
        servers.drop_tables(cleanup)
    finally:
        cleanup.close()


@pytest.fixture
def store(store_url: str) -> Iterator[TaskStore]:
    st = open_store(store_url)
    try:
        yield st
    finally:
        st.close()
