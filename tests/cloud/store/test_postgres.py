"""The PostgreSQL engine's own tests on a real server (the engine-independent store tests run
on it through the `engine` fixture): URLs, an unreachable server, several writer stores whose
subscriber wakes only by NOTIFY, and closing an idle changefeed.
"""

from __future__ import annotations

from contextlib import aclosing

import pytest
import trio

from cloud.store.base import Change, ConfigStore
from cloud.store.factory import open_store
from cloud.store.postgres import PostgresStore
from tests.cloud.store.helpers import collect
from tests.servers.postgres import PostgresDatabase


async def test_open_store_opens_postgresql_urls(postgres_db: PostgresDatabase) -> None:
    async with await open_store(postgres_db.dsn) as opened:
        assert isinstance(opened, PostgresStore)
        change = await opened.put("zones", {"name": "z"})
    async with await open_store(postgres_db.dsn.replace("postgresql://", "postgres://")) as reopened:
        assert await reopened.get("zones", change.id) == change.document
        assert await reopened.head_revision() == 1


async def test_an_unreachable_server_is_a_store_error() -> None:
    from cloud.store.errors import StoreError
    from tests.servers.ports import free_port

    with pytest.raises(StoreError, match="opening"):
        await PostgresStore.open(f"postgresql://postgres@127.0.0.1:{free_port()}/nothing")


async def test_writer_stores_on_one_database_reach_a_subscriber_in_order(
    postgres_db: PostgresDatabase,
) -> None:
    """Three stores (think: three cloud processes); the subscriber's only wake-up is NOTIFY."""
    writes_each = 30
    async with (
        await PostgresStore.open(postgres_db.dsn, poll_interval=60) as subscriber,
        await PostgresStore.open(postgres_db.dsn) as one,
        await PostgresStore.open(postgres_db.dsn) as two,
    ):
        acked: list[Change] = []
        received: list[Change] = []

        async def write(store: ConfigStore, tag: str) -> None:
            for i in range(writes_each):
                if i % 5 == 0:
                    acked.extend(await store.put_many("zones", [{"name": f"{tag}{i}-{j}"} for j in range(3)]))
                else:
                    acked.append(await store.put("systems", {"name": f"{tag}{i}"}))

        total = 2 * (writes_each - writes_each // 5 + 3 * (writes_each // 5))

        async def follow() -> None:
            received.extend(await collect(subscriber, 0, total))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(follow)
            await trio.sleep(0.1)  # the subscriber is idle, waiting on its LISTEN thread
            nursery.start_soon(write, one, "a")
            nursery.start_soon(write, two, "b")
        assert [c.revision for c in received] == list(range(1, total + 1))
        assert received == sorted(acked, key=lambda c: c.revision)


async def test_closing_ends_an_idle_changefeed_promptly(postgres_db: PostgresDatabase) -> None:
    store = await PostgresStore.open(postgres_db.dsn)
    with trio.fail_after(3):
        async with trio.open_nursery() as nursery:

            async def follow() -> None:
                async with aclosing(store.changes(0)) as feed:
                    async for _ in feed:
                        pass

            nursery.start_soon(follow)
            await trio.sleep(0.1)
            await store.aclose()
