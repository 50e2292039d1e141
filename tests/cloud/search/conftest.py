"""Fixtures for search tests: a real SQLite store, and a real index of every search engine.

`index` is parametrized: SQLite FTS5 in tmp_path; PostgreSQL full-text in a fresh database
on the session's real PostgreSQL server; Elasticsearch only when TRANSOM_TEST_ELASTICSEARCH_URL
names a server (no Elasticsearch can be installed on the build machines: it skips otherwise,
also under CI). Every test that asks for `index` is part of the engines' contract.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cloud.search.elasticsearch import ElasticsearchIndex
from cloud.search.postgres_fts import PostgresSearchIndex
from cloud.search.seam import SearchIndex
from cloud.search.sqlite_fts import SQLiteSearchIndex
from cloud.store.base import ConfigStore
from cloud.store.factory import open_store

ELASTICSEARCH_ENV = "TRANSOM_TEST_ELASTICSEARCH_URL"
SEARCH_ENGINES = (
    "fts5",
    "postgresql",
    pytest.param(
        "elasticsearch",
        marks=pytest.mark.skipif(
            not os.environ.get(ELASTICSEARCH_ENV),
            reason=f"no Elasticsearch server: set {ELASTICSEARCH_ENV} (e.g. http://127.0.0.1:9200)",
        ),
    ),
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ConfigStore]:
    opened = await open_store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        yield opened
    finally:
        await opened.aclose()


@pytest.fixture(params=SEARCH_ENGINES)
async def index(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SearchIndex]:
    opened: SearchIndex
    cleanup = None
    if request.param == "fts5":
        opened = await SQLiteSearchIndex.open(tmp_path / "search.db")
    elif request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        name = f"search_{uuid.uuid4().hex[:16]}"
        server.create_database(name)
        opened = await PostgresSearchIndex.open(server.dsn_for(name))

        def cleanup() -> None:
            server.drop_database(name)
    else:
        url = os.environ[ELASTICSEARCH_ENV]
        opened = await ElasticsearchIndex.open(url, prefix=f"transom-test-{uuid.uuid4().hex[:12]}")
        await opened.clear()
    try:
        yield opened
    finally:
        if isinstance(opened, ElasticsearchIndex) and not opened._closed:
            await opened._client.indices.delete(index=f"{opened.prefix}-*", ignore_unavailable=True)
        await opened.aclose()
        if cleanup is not None:
            cleanup()
