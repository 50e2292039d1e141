"""The PostgreSQL engine on a real server: the engine-independent store tests, and its own.

The CRUD, query, validation and changefeed tests written for SQLite are imported here and
run again with `store` overridden to a PostgresStore on a fresh database. Then: queries
compared with SQLite's answers on the same data, the changefeed property, several writer
stores on one database, and a kill -9 of a writer process.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, given, settings

from cloud.store.base import Change, ConfigStore, Filter, Query
from cloud.store.factory import open_store
from cloud.store.postgres import PostgresStore
from cloud.store.sqlite import SQLiteStore
from tests.cloud.store.helpers import collect
from tests.cloud.store.test_changefeed import (  # noqa: F401 (run again here, on PostgreSQL)
    TABLES,
    _apply,
    operations,
    test_a_page_revision_is_where_its_changefeed_resumes,
    test_a_subscriber_gets_live_changes_in_order,
    test_closing_the_store_ends_its_changefeeds,
    test_concurrent_writers_get_distinct_gap_free_revisions,
)
from tests.cloud.store.test_crash import _run_and_kill
from tests.cloud.store.test_crud import (  # noqa: F401
    test_a_closed_store_refuses_work,
    test_cancelled_writes_are_all_or_nothing,
    test_delete_of_a_missing_document_writes_nothing,
    test_delete_removes_the_document_and_records_a_change,
    test_expected_revision_guards_put_and_delete,
    test_get_entry_carries_the_revision_of_the_last_write,
    test_get_many_returns_found_documents_in_the_order_asked,
    test_get_of_a_missing_document_is_none,
    test_put_assigns_a_placeos_style_id_and_get_returns_the_document,
    test_put_stores_the_validated_document_with_its_defaults,
    test_put_with_an_existing_id_replaces_the_document,
)
from tests.cloud.store.test_query import (  # noqa: F401
    METADATA,
    SYSTEMS,
    filled,
    test_filters,
    test_filters_combine_with_and,
    test_order_by_field_with_ties_broken_by_id,
    test_paging_keeps_the_total_of_all_matches,
)
from tests.cloud.store.test_validation import (  # noqa: F401
    test_a_failure_inside_the_transaction_leaves_the_batch_unwritten,
    test_an_invalid_document_is_rejected_naming_the_field,
    test_an_unknown_table_is_rejected_naming_it,
    test_one_bad_document_leaves_the_batch_unwritten,
)
from tests.servers.postgres import PostgresDatabase, PostgresServer


@pytest.fixture
async def store(postgres_db: PostgresDatabase) -> AsyncIterator[PostgresStore]:
    opened = await PostgresStore.open(postgres_db.dsn)
    try:
        yield opened
    finally:
        await opened.aclose()


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


QUERIES: list[tuple[str, Query]] = [
    ("systems", Query()),
    ("systems", Query(order_by=["name"])),
    ("systems", Query(order_by=["-name"], limit=3, offset=1)),
    ("systems", Query(order_by=["capacity"])),
    ("systems", Query(order_by=["-capacity", "name"])),
    ("systems", Query(order_by=["bookable", "-capacity"])),
    ("systems", Query(order_by=["zones"])),
    ("systems", Query(order_by=["code", "-id"])),
    ("systems", Query(filters=[Filter.contains("zones", "zone-2")], order_by=["-name"])),
    ("systems", Query(filters=[Filter.contains("name", "Alpha")])),  # a scalar contains itself
    ("systems", Query(filters=[Filter.in_("capacity", [10, 2.0, "4"])])),
    ("systems", Query(filters=[Filter.eq("missing.deep.field", None)], limit=2)),
    ("metadata", Query(order_by=["details.floor"])),
    ("metadata", Query(order_by=["-details.n"])),
    ("metadata", Query(order_by=["details"])),
    ("metadata", Query(filters=[Filter.contains("details", True)])),  # an object's values
    ("metadata", Query(filters=[Filter.eq("details.n", 1.0)])),
    ("zones", Query(filters=[Filter.eq("id", "zone-1")])),
]


async def test_queries_answer_as_sqlite_does(filled: PostgresStore, tmp_path: Path) -> None:  # noqa: F811
    async with await SQLiteStore.open(tmp_path / "same.db") as lite:
        await lite.put_many("systems", SYSTEMS)
        await lite.put_many("metadata", METADATA)
        await lite.put("zones", {"id": "zone-1", "name": "not a system"})
        for table, query in QUERIES:
            want, got = await lite.query(table, query), await filled.query(table, query)
            assert [d["id"] for d in got.items] == [d["id"] for d in want.items], (table, query)
            assert (got.total, got.revision) == (want.total, want.revision)
            assert got.items == [await lite.get(table, d["id"]) for d in got.items]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations)
async def test_changefeed_is_gap_free_complete_and_resumable(
    postgres_server: PostgresServer, ops: list[Any]
) -> None:
    name = f"prop_{uuid.uuid4().hex[:16]}"
    postgres_server.create_database(name)
    try:
        dsn = postgres_server.dsn_for(name)
        async with await PostgresStore.open(dsn) as pg:
            acked, expected = await _apply(pg, ops)  # type: ignore[arg-type]
            head = await pg.head_revision()
            assert head == len(acked)
            assert [c.revision for c in acked] == list(range(1, head + 1))
            feed = await collect(pg, 0, head)
            assert feed == acked
            async with await PostgresStore.open(dsn) as fresh:
                for since in range(0, head + 1, max(1, head // 6)):
                    assert await collect(fresh, since, head) == feed[since:]
            stored = {}
            for table in TABLES:
                for doc in (await pg.query(table)).items:
                    stored[(table, doc["id"])] = doc
            assert stored == expected
    finally:
        postgres_server.drop_database(name)


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


async def test_closing_ends_an_idle_changefeed_promptly(store: PostgresStore) -> None:
    with trio.fail_after(3):
        async with trio.open_nursery() as nursery:

            async def follow() -> None:
                async with aclosing(store.changes(0)) as feed:
                    async for _ in feed:
                        pass

            nursery.start_soon(follow)
            await trio.sleep(0.1)
            await store.aclose()


async def test_kill_9_loses_no_acknowledged_write(postgres_db: PostgresDatabase) -> None:
    acked: list[tuple[int, str, str]] = []
    for round, target in enumerate((100, 250)):
        acked += await _run_and_kill(postgres_db.dsn, f"r{round}", target)
        async with await PostgresStore.open(postgres_db.dsn) as pg:
            head = await pg.head_revision()
            assert head >= max(revision for revision, _, _ in acked)
            feed = await collect(pg, 0, head)
            assert [c.revision for c in feed] == list(range(1, head + 1))
            by_revision = {c.revision: c for c in feed}
            for revision, table, id in acked:
                entry = await pg.get_entry(table, id)
                assert entry is not None, f"acknowledged {table}/{id} at {revision} was lost"
                assert entry.revision == revision
                assert (by_revision[revision].table, by_revision[revision].id) == (table, id)
