"""serve_cloud wires the FTS5 search index: `q` on a list route finds documents written through the API."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import httpx
import trio

from cloud.server import serve_cloud
from cloud.store.factory import open_store
from tests.servers.postgres import PostgresDatabase

PASSWORD = "correct horse battery staple"


async def _token(client: httpx.AsyncClient) -> str:
    # The first admin exists from start-up; the password grant needs no registered client.
    reply = await client.post(
        "/auth/oauth/token",
        data={"grant_type": "password", "username": "admin", "password": PASSWORD},
    )
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["access_token"]
    return token


async def test_q_search_follows_writes_and_survives_restart(tmp_path: Path) -> None:
    names = ["Boardroom North", "Boardroom South", "Huddle 3", "Lobby Screen"]
    async with trio.open_nursery() as nursery:
        serve = partial(serve_cloud, data_dir=tmp_path, listen="127.0.0.1:0", admin_password=PASSWORD)
        binds = await nursery.start(serve)
        async with httpx.AsyncClient(base_url=binds[0]) as client:
            headers = {"Authorization": f"Bearer {await _token(client)}"}
            for name in names:
                reply = await client.post("/api/engine/v2/systems", json={"name": name}, headers=headers)
                assert reply.status_code == 201, reply.text
            with trio.fail_after(10):
                while True:
                    reply = await client.get("/api/engine/v2/systems", params={"q": "board"}, headers=headers)
                    found = sorted(s["name"] for s in reply.json())
                    if len(found) == 2:
                        break
                    await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
    assert found == ["Boardroom North", "Boardroom South"]

    # The index resumes from its last revision: a write made while the cloud was down is found.
    async with await open_store(str(tmp_path / "store.db")) as store:
        await store.put("systems", {"name": "Boardroom East"})
    async with trio.open_nursery() as nursery:
        serve = partial(serve_cloud, data_dir=tmp_path, listen="127.0.0.1:0", admin_password=PASSWORD)
        binds = await nursery.start(serve)
        async with httpx.AsyncClient(base_url=binds[0]) as client:
            headers = {"Authorization": f"Bearer {await _token(client)}"}
            reply = await client.get("/api/engine/v2/systems", params={"q": "eas"}, headers=headers)
            assert [s["name"] for s in reply.json()] == ["Boardroom East"]
            assert reply.headers["X-Total-Count"] == "1"
            # Words are OR-joined as in PlaceOS, the best match first.
            reply = await client.get("/api/engine/v2/systems", params={"q": "boardroom e"}, headers=headers)
            assert reply.json()[0]["name"] == "Boardroom East"
        nursery.cancel_scope.cancel()


async def test_the_cloud_runs_on_a_postgresql_store(tmp_path: Path, postgres_db: PostgresDatabase) -> None:
    """`--store postgresql://...`: the API writes to PostgreSQL and search follows its changefeed."""
    async with trio.open_nursery() as nursery:
        serve = partial(
            serve_cloud,
            data_dir=tmp_path,
            listen="127.0.0.1:0",
            store_url=postgres_db.dsn,
            admin_password=PASSWORD,
        )
        binds = await nursery.start(serve)
        async with httpx.AsyncClient(base_url=binds[0]) as client:
            headers = {"Authorization": f"Bearer {await _token(client)}"}
            for name in ["Boardroom North", "Huddle 3"]:
                reply = await client.post("/api/engine/v2/systems", json={"name": name}, headers=headers)
                assert reply.status_code == 201, reply.text
            reply = await client.get("/api/engine/v2/systems", headers=headers)
            assert sorted(s["name"] for s in reply.json()) == ["Boardroom North", "Huddle 3"]
            with trio.fail_after(10):
                while True:
                    reply = await client.get("/api/engine/v2/systems", params={"q": "board"}, headers=headers)
                    if [s["name"] for s in reply.json()] == ["Boardroom North"]:
                        break
                    await trio.sleep(0.05)
        nursery.cancel_scope.cancel()
    assert not (tmp_path / "store.db").exists()
    async with await open_store(postgres_db.dsn) as store:
        assert (await store.query("systems")).total == 2
