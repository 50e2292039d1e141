"""Fixtures for store tests: every engine (SQLite, PostgreSQL, RethinkDB), with the real domain model.

`engine` is parametrized over the engines, so every test that asks for `store` (or `engine`)
runs once per engine: SQLite on a file, PostgreSQL and RethinkDB on real servers started by
the fixtures in tests/servers (each store gets a fresh database of its own, dropped after).
`server_engine` is the same without SQLite, for tests SQLite covers with more examples.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cloud.store.base import ConfigStore
from cloud.store.postgres import PostgresStore
from cloud.store.rethinkdb import RethinkStore
from cloud.store.sqlite import SQLiteStore

ENGINES = ("sqlite", "postgresql", "rethinkdb")
SERVER_ENGINES = ENGINES[1:]


@dataclass
class Engine:
    """One store engine under test: how to make the URL of a fresh store, and open one."""

    name: str
    new_url: Callable[[], str]
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    async def open(self, url: str, **options: Any) -> ConfigStore:
        """Open the store at `url` with engine options (poll_interval, validator)."""
        if self.name == "sqlite":
            return await SQLiteStore.open(url, **options)
        if self.name == "postgresql":
            return await PostgresStore.open(url, **options)
        return await RethinkStore.open(url, **options)


def _make_engine(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Engine:
    if name == "sqlite":
        numbers = itertools.count()
        return Engine(name, lambda: str(tmp_path / f"store-{next(numbers)}.db"))
    if name == "postgresql":
        server = request.getfixturevalue("postgres_server")
        engine = Engine(name, lambda: "")

        def new_database() -> str:
            db = f"test_{uuid.uuid4().hex[:16]}"
            server.create_database(db)
            engine.cleanups.append(lambda: server.running and server.drop_database(db))
            return str(server.dsn_for(db))

        engine.new_url = new_database
        return engine
    server = request.getfixturevalue("rethinkdb_server")
    engine = Engine(name, lambda: "")

    def new_rethink_database() -> str:
        db = f"test_{uuid.uuid4().hex[:16]}"
        engine.cleanups.append(lambda: server.running and server.drop_database(db))
        return str(server.url(db))

    engine.new_url = new_rethink_database
    return engine


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    made = _make_engine(request.param, request, tmp_path)
    try:
        yield made
    finally:
        for cleanup in made.cleanups:
            cleanup()


@pytest.fixture(params=SERVER_ENGINES)
def server_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    made = _make_engine(request.param, request, tmp_path)
    try:
        yield made
    finally:
        for cleanup in made.cleanups:
            cleanup()


@pytest.fixture
def store_url(engine: Engine) -> str:
    """The URL (or file) of the store the `store` fixture opens."""
    return engine.new_url()


@pytest.fixture
async def store(engine: Engine, store_url: str) -> AsyncIterator[ConfigStore]:
    opened = await engine.open(store_url)
    try:
        yield opened
    finally:
        await opened.aclose()
