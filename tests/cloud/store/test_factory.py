"""open_store: which URL opens which engine, and clear errors for URLs it cannot open."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.store.errors import StoreError
from cloud.store.factory import open_store
from cloud.store.rethinkdb import RethinkStore
from cloud.store.sqlite import SQLiteStore
from tests.servers.ports import free_port


@pytest.mark.parametrize("form", ["bare", "absolute-url", "relative-url"])
async def test_sqlite_urls_and_bare_paths_open_a_sqlite_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.chdir(tmp_path)
    url = {
        "bare": "plain.db",
        "absolute-url": f"sqlite:///{tmp_path}/abs.db",
        "relative-url": "sqlite:///rel.db",
    }
    made = {"bare": "plain.db", "absolute-url": "abs.db", "relative-url": "rel.db"}[form]
    async with await open_store(url[form]) as store:
        assert isinstance(store, SQLiteStore)
        change = await store.put("zones", {"name": "z"})
        assert await store.get("zones", change.id) == change.document
    assert (tmp_path / made).is_file()


async def test_rethinkdb_urls_open_a_rethinkdb_store(rethinkdb_url: str) -> None:
    async with await open_store(rethinkdb_url) as store:
        assert isinstance(store, RethinkStore)
        change = await store.put("zones", {"name": "z"})
    async with await open_store(rethinkdb_url) as reopened:
        assert await reopened.get("zones", change.id) == change.document


@pytest.mark.parametrize(
    "url", ["rethinkdb://127.0.0.1:28015/", "rethinkdb://127.0.0.1:port/db", "rethinkdb://h/bad-name"]
)
async def test_a_malformed_rethinkdb_url_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="rethinkdb"):
        await open_store(url)


async def test_an_unreachable_rethinkdb_server_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="no RethinkDB server"):
        await open_store(f"rethinkdb://127.0.0.1:{free_port()}/nothing")


async def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="mysql"):
        await open_store("mysql://localhost/x")
