"""The indexer: following the changefeed, resuming after a restart, and rebuilding from scratch."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import trio

from cloud.search.errors import IndexAheadOfStore
from cloud.search.indexer import reindex, serve_indexer
from cloud.search.reindex import reindex_data_dir
from cloud.search.sqlite_fts import SQLiteSearchIndex
from cloud.store.base import Change, ConfigStore, Page, Query
from cloud.store.factory import open_store
from tests.cloud.search.helpers import catch_up, module, user


class RecordingIndex(SQLiteSearchIndex):
    """The real index, noting the revisions and batch sizes it is asked to apply."""

    applied: list[int]
    batches: list[int]

    async def apply(self, changes: Sequence[Change], *, revision: int | None = None) -> None:
        self.applied.extend(c.revision for c in changes)
        self.batches.append(len(changes))
        await super().apply(changes, revision=revision)


async def open_recording(path: Path) -> RecordingIndex:
    opened = await RecordingIndex.open(path)
    assert isinstance(opened, RecordingIndex)
    opened.applied, opened.batches = [], []
    return opened


async def populate(store: ConfigStore, n: int = 0) -> None:
    """A mixed store: several tables, updates and deletes."""
    systems = await store.put_many(
        "systems", [{"name": f"Room {n + i}", "features": ["vc"]} for i in range(30)]
    )
    await store.put_many("zones", [{"name": f"Level {n + i}", "tags": ["level"]} for i in range(5)])
    await store.put_many("users", [user(f"person{n + i}@example.com", name=f"Person {i}") for i in range(5)])
    await store.put("modules", module(f"Display {n}"))
    await store.put("settings", {"parent_id": systems[0].id, "settings_string": "volume: 3"})
    for change in systems[:5]:
        await store.delete("systems", change.id)
    for change in systems[5:10]:
        assert change.document is not None
        await store.put("systems", {**change.document, "name": f"Renamed {change.document['name']}"})


QUERIES = ["", "room", "renamed room 1", "level", "person@example.com", "example", "display", "volume", "2"]
TABLES = ["systems", "zones", "users", "modules", "settings", "drivers"]


async def answers(index: SQLiteSearchIndex) -> dict[tuple[str, str], tuple[list[str], int]]:
    found = {}
    for table in TABLES:
        for q in QUERIES:
            result = await index.search(table, q, limit=1000)
            found[table, q] = (result.ids, result.total)
    return found


async def test_started_once_caught_up_then_follows(store: ConfigStore, index: SQLiteSearchIndex) -> None:
    await populate(store)
    head = await store.head_revision()
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_indexer, store, index)
        assert await index.last_revision() == head
        assert (await index.search("systems", "room", limit=100)).total == 25
        change = await store.put("systems", {"name": "Late arrival"})
        with trio.fail_after(5):
            while (await index.search("systems", "late", limit=1)).ids != [change.id]:  # noqa: ASYNC110
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()


async def test_started_at_once_on_an_empty_store(store: ConfigStore, index: SQLiteSearchIndex) -> None:
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_indexer, store, index)
            nursery.cancel_scope.cancel()


async def test_waiting_changes_are_applied_in_batches(store: ConfigStore, tmp_path: Path) -> None:
    await store.put_many("systems", [{"name": f"Room {i}"} for i in range(1200)])
    async with await open_recording(tmp_path / "rec.db") as index:
        async with trio.open_nursery() as nursery:
            await nursery.start(partial(serve_indexer, store, index, batch_size=500))
            nursery.cancel_scope.cancel()
        assert index.applied == list(range(1, 1201))
        assert max(index.batches) <= 500
        assert len(index.batches) < 50  # coalesced, not one change per transaction


async def test_resumes_after_restart_without_repeating_or_missing(store: ConfigStore, tmp_path: Path) -> None:
    await populate(store)
    async with await open_recording(tmp_path / "search.db") as index:
        await catch_up(store, index)
        first_run = list(index.applied)
    stopped_at = await store.head_revision()
    assert first_run == list(range(1, stopped_at + 1))

    await populate(store, n=100)  # written while the indexer is stopped
    async with await open_recording(tmp_path / "search.db") as index:
        assert await index.last_revision() == stopped_at
        await catch_up(store, index)
        head = await store.head_revision()
        assert index.applied == list(range(stopped_at + 1, head + 1))
        assert await index.last_revision() == head
        assert (await index.search("systems", "room", limit=100)).total == 50
        assert (await index.search("zones", "level", limit=100)).total == 10


async def test_index_ahead_of_store_is_refused(store: ConfigStore, index: SQLiteSearchIndex) -> None:
    await index.apply([], revision=10)
    with pytest.raises(IndexAheadOfStore, match="reindex"):
        await serve_indexer(store, index)


async def test_reindex_equals_incremental(store: ConfigStore, tmp_path: Path) -> None:
    await populate(store)
    async with (
        await SQLiteSearchIndex.open(tmp_path / "incremental.db") as incremental,
        await SQLiteSearchIndex.open(tmp_path / "rebuilt.db") as rebuilt,
    ):
        await catch_up(store, incremental)
        await rebuilt.apply(
            [Change(1, "systems", "sys-stale", "insert", {"id": "sys-stale", "name": "Stale"})]
        )
        calls: list[tuple[int, int]] = []
        count = await reindex(
            store, rebuilt, progress=lambda done, total: calls.append((done, total)), page_size=7
        )
        assert await rebuilt.last_revision() == await store.head_revision()
        assert await answers(rebuilt) == await answers(incremental)

        # progress: from (0, total) up to (n, n), never going back
        assert calls[0] == (0, count) and calls[-1] == (count, count)
        assert count == 25 + 5 + 5 + 1 + 1
        dones = [done for done, _ in calls]
        assert dones == sorted(dones) and len(calls) > 5

        # following the feed after a rebuild continues exactly
        await populate(store, n=200)
        await catch_up(store, incremental)
        await catch_up(store, rebuilt)
        assert await answers(rebuilt) == await answers(incremental)


class WritingStore:
    """A store that deletes and inserts documents between the pages a reindex reads."""

    def __init__(self, store: ConfigStore) -> None:
        self._store = store
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def query(self, table: str, query: Query | None = None) -> Page:
        page = await self._store.query(table, query)
        if table == "systems" and page.items and self.writes < 10:
            self.writes += 1
            first = (await self._store.query("systems", Query(order_by=["id"], limit=1))).items[0]
            await self._store.delete("systems", first["id"])  # shifts every later page by one
            await self._store.put("systems", {"name": f"Inserted {self.writes}"})
        return page


async def test_reindex_while_the_store_is_written(
    store: ConfigStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cloud.search.indexer")
    await populate(store)
    writing = WritingStore(store)
    async with (
        await SQLiteSearchIndex.open(tmp_path / "rebuilt.db") as rebuilt,
        await SQLiteSearchIndex.open(tmp_path / "incremental.db") as incremental,
    ):
        await reindex(writing, rebuilt, page_size=4)  # type: ignore[arg-type]
        assert writing.writes >= 5  # writes happened between pages (every paged try), and were noticed
        assert "reading the table again" in caplog.text
        await catch_up(store, rebuilt)
        await catch_up(store, incremental)
        assert await answers(rebuilt) == await answers(incremental)
        all_ids = (await store.query("systems", Query(order_by=["id"]))).items
        assert sorted((await rebuilt.search("systems", "", limit=1000)).ids) == [d["id"] for d in all_ids]


async def test_reindex_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    async with await open_store(str(data_dir / "store.db")) as store:
        await populate(store)
    calls: list[tuple[int, int]] = []
    assert await reindex_data_dir(data_dir, None, lambda d, t: calls.append((d, t))) == 37
    assert calls[-1] == (37, 37)
    async with await SQLiteSearchIndex.open(data_dir / "search.db") as index:
        assert (await index.search("systems", "renamed", limit=100)).total == 5

    elsewhere = tmp_path / "other-store.db"
    async with await open_store(f"sqlite:///{elsewhere}") as store:
        await store.put("zones", {"name": "Only zone"})
    assert await reindex_data_dir(data_dir, f"sqlite:///{elsewhere}") == 1
    async with await SQLiteSearchIndex.open(data_dir / "search.db") as index:
        assert (await index.search("systems", "", limit=100)).total == 0
        assert (await index.search("zones", "only", limit=100)).total == 1
