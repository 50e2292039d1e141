"""serve_cloud on the scale-out engines: a RethinkDB store, and PostgreSQL full-text search.

`--store rethinkdb://...`: the API writes to RethinkDB and the FTS5 index follows its
changefeed. `--search postgresql`: the index lives in the PostgreSQL store's database (no
search.db), and `q` answers through it.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import httpx
import trio

from cloud.search.postgres_fts import PostgresSearchIndex
from cloud.server import serve_cloud
from cloud.store.factory import open_store
from tests.cloud.test_server import PASSWORD, _token
from tests.servers.postgres import PostgresDatabase


async def _write_and_search(base_url: str, names: list[str], q: str, want: list[str]) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        headers = {"Authorization": f"Bearer {await _token(client)}"}
        for name in names:
            reply = await client.post("/api/engine/v2/systems", json={"name": name}, headers=headers)
            assert reply.status_code == 201, reply.text
        reply = await client.get("/api/engine/v2/systems", headers=headers)
        assert sorted(s["name"] for s in reply.json()) == sorted(names)
        with trio.fail_after(30):
            while True:
                reply = await client.get("/api/engine/v2/systems", params={"q": q}, headers=headers)
                if [s["name"] for s in reply.json()] == want:
                    break
                await trio.sleep(0.05)


async def test_the_cloud_runs_on_a_rethinkdb_store(tmp_path: Path, rethinkdb_url: str) -> None:
    async with trio.open_nursery() as nursery:
        serve = partial(
            serve_cloud,
            data_dir=tmp_path,
            listen="127.0.0.1:0",
            store_url=rethinkdb_url,
            admin_password=PASSWORD,
        )
        binds = await nursery.start(serve)
        await _write_and_search(binds[0], ["Boardroom North", "Huddle 3"], "board", ["Boardroom North"])
        nursery.cancel_scope.cancel()
    assert not (tmp_path / "store.db").exists()
    async with await open_store(rethinkdb_url) as store:
        assert (await store.query("systems")).total == 2


async def test_search_postgresql_keeps_the_index_in_the_store_database(
    tmp_path: Path, postgres_db: PostgresDatabase
) -> None:
    async with trio.open_nursery() as nursery:
        serve = partial(
            serve_cloud,
            data_dir=tmp_path,
            listen="127.0.0.1:0",
            store_url=postgres_db.dsn,
            search_engine="postgresql",
            admin_password=PASSWORD,
        )
        binds = await nursery.start(serve)
        await _write_and_search(binds[0], ["Café Lounge", "Huddle 3"], "cafe", ["Café Lounge"])
        nursery.cancel_scope.cancel()
    assert not (tmp_path / "search.db").exists()
    async with await PostgresSearchIndex.open(postgres_db.dsn) as index:
        assert (await index.search("systems", "hud", limit=5)).total == 1
