"""open_search: which `--search` value opens which engine, and clear errors for the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.search.factory import open_search
from cloud.search.postgres_fts import PostgresSearchIndex
from cloud.search.sqlite_fts import SQLiteSearchIndex
from cloud.store.base import Change
from cloud.store.factory import open_store
from tests.servers.postgres import PostgresDatabase


@pytest.mark.parametrize("spec", [None, "", "fts5", "FTS5"])
async def test_fts5_is_the_default(tmp_path: Path, spec: str | None) -> None:
    async with await open_search(spec, data_dir=tmp_path) as index:
        assert isinstance(index, SQLiteSearchIndex)
    assert (tmp_path / "search.db").is_file()


async def test_postgresql_uses_the_store_database(tmp_path: Path, postgres_db: PostgresDatabase) -> None:
    async with await open_store(postgres_db.dsn) as store:
        async with await open_search("postgresql", data_dir=tmp_path, store=store) as index:
            assert isinstance(index, PostgresSearchIndex)
            await index.apply([Change(3, "zones", "zone-1", "insert", {"id": "zone-1", "name": "Level 3"})])
        async with await open_search(postgres_db.dsn, data_dir=tmp_path) as same:
            assert await same.last_revision() == 3
            assert (await same.search("zones", "lev", limit=5)).ids == ["zone-1"]
    assert not (tmp_path / "search.db").exists()


async def test_postgresql_search_needs_a_postgresql_store(tmp_path: Path) -> None:
    async with await open_store(str(tmp_path / "store.db")) as store:
        with pytest.raises(ValueError, match="--store postgresql"):
            await open_search("postgresql", data_dir=tmp_path, store=store)


async def test_an_unknown_engine_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="solr"):
        await open_search("solr://x", data_dir=tmp_path)
