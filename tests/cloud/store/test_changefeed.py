"""The changefeed: gap-free revisions, every committed write exactly once, exact resume, live delivery."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.store.base import Change, ConfigStore
from cloud.store.sqlite import SQLiteStore
from sync.model import ID_PREFIXES, DocumentInvalid
from tests.cloud.store.conftest import Engine
from tests.cloud.store.helpers import collect

TABLES = ("zones", "systems")


# One write: ("put", table, id, valid) | ("put_many", table, [(id, valid), ...]) | ("delete", table, id)
mostly_valid = st.integers(0, 9).map(lambda n: n > 0)
put_op = st.tuples(st.just("put"), st.sampled_from(TABLES), st.integers(0, 4), mostly_valid)
many_op = st.tuples(
    st.just("put_many"),
    st.sampled_from(TABLES),
    st.lists(st.tuples(st.integers(0, 6), mostly_valid), max_size=8),
)
delete_op = st.tuples(st.just("delete"), st.sampled_from(TABLES), st.integers(0, 4))
operations = st.lists(st.one_of(put_op, many_op, delete_op), max_size=40)


def _doc(table: str, index: int, valid: bool, step: int) -> dict[str, Any]:
    name = f"v{step}" if valid else ""
    return {"id": f"{ID_PREFIXES[table]}-{index}", "name": name, "description": str(step)}


async def _apply(store: ConfigStore, ops: list[Any]) -> tuple[list[Change], dict[tuple[str, str], Any]]:
    """Run the writes; return what was acknowledged and the documents that should now exist."""
    acked: list[Change] = []
    expected: dict[tuple[str, str], Any] = {}
    for step, op in enumerate(ops):
        kind, table = op[0], op[1]
        try:
            if kind == "put":
                acked.append(await store.put(table, _doc(table, op[2], op[3], step)))
            elif kind == "put_many":
                acked.extend(await store.put_many(table, [_doc(table, i, v, step) for i, v in op[2]]))
            else:
                change = await store.delete(table, f"{ID_PREFIXES[table]}-{op[2]}")
                if change is not None:
                    acked.append(change)
        except DocumentInvalid:
            continue
    for change in acked:
        if change.document is None:
            expected.pop((change.table, change.id), None)
        else:
            expected[(change.table, change.id)] = change.document
    return acked, expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=operations)
async def test_changefeed_is_gap_free_complete_and_resumable(ops: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with await SQLiteStore.open(Path(tmp) / "s.db") as store:
            acked, expected = await _apply(store, ops)
            head = await store.head_revision()

            # Revisions 1..N with no gaps, N = the number of committed writes.
            assert head == len(acked)
            assert [c.revision for c in acked] == list(range(1, head + 1))

            # Every committed write appears exactly once, as acknowledged.
            feed = await collect(store, 0, head)
            assert feed == acked

            # Resuming from any revision yields exactly the tail after it, whether the
            # changes come from memory (this store) or from the table (a fresh store).
            async with await SQLiteStore.open(Path(tmp) / "s.db") as fresh:
                for since in range(head + 1):
                    assert await collect(store, since, head) == feed[since:]
                    assert await collect(fresh, since, head) == feed[since:]

            # Replaying the feed gives the stored documents.
            stored = {}
            for table in TABLES:
                for doc in (await store.query(table)).items:
                    stored[(table, doc["id"])] = doc
            assert stored == expected


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(ops=operations)
async def test_changefeed_is_gap_free_complete_and_resumable_on_servers(
    server_engine: Engine, ops: list[Any]
) -> None:
    """The same property on PostgreSQL and RethinkDB (fewer examples: each needs a fresh database)."""
    url = server_engine.new_url()
    async with await server_engine.open(url) as store:
        acked, expected = await _apply(store, ops)
        head = await store.head_revision()
        assert head == len(acked)
        assert [c.revision for c in acked] == list(range(1, head + 1))
        feed = await collect(store, 0, head)
        assert feed == acked
        async with await server_engine.open(url) as fresh:
            for since in range(0, head + 1, max(1, head // 6)):
                assert await collect(fresh, since, head) == feed[since:]
        stored = {}
        for table in TABLES:
            for doc in (await store.query(table)).items:
                stored[(table, doc["id"])] = doc
        assert stored == expected


async def test_a_subscriber_gets_live_changes_in_order(store: ConfigStore) -> None:
    received: list[Change] = []

    async def follow() -> None:
        received.extend(await collect(store, 0, 30))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(follow)
        await trio.sleep(0.01)
        acked = []
        for i in range(10):
            acked.append(await store.put("zones", {"name": f"z{i}"}))
        acked.extend(await store.put_many("zones", [{"name": f"b{i}"} for i in range(20)]))
    assert received == acked


async def test_concurrent_writers_get_distinct_gap_free_revisions(store: ConfigStore) -> None:
    acked: list[Change] = []
    received: list[Change] = []

    async def writer(n: int) -> None:
        for i in range(25):
            if i % 5 == 0:
                acked.extend(await store.put_many("systems", [{"name": f"w{n}-{i}-{j}"} for j in range(4)]))
            else:
                acked.append(await store.put("systems", {"name": f"w{n}-{i}"}))

    total = 8 * (20 + 5 * 4)

    async def follow() -> None:
        received.extend(await collect(store, 0, total))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(follow)
        for n in range(8):
            nursery.start_soon(writer, n)
    assert sorted(c.revision for c in acked) == list(range(1, total + 1))
    assert received == sorted(acked, key=lambda c: c.revision)
    assert (await store.query("systems")).total == total


async def test_writes_by_another_connection_reach_a_subscriber(engine: Engine) -> None:
    """Another process on the same store is modelled by a second store: no in-process wake-up."""
    path = engine.new_url()
    async with (
        await engine.open(path, poll_interval=0.05) as reader,
        await engine.open(path) as writer,
    ):
        async with trio.open_nursery() as nursery:
            received: list[Change] = []

            async def follow() -> None:
                received.extend(await collect(reader, 0, 3))

            nursery.start_soon(follow)
            acked = [await writer.put("zones", {"name": f"z{i}"}) for i in range(3)]
        assert received == acked


async def test_interleaved_writers_on_one_store_reach_a_subscriber_in_order(engine: Engine) -> None:
    """The subscriber's store sees a gap in its own writes and fills it from the table."""
    path = engine.new_url()
    async with (
        await engine.open(path, poll_interval=0.05) as mine,
        await engine.open(path) as other,
    ):
        acked = [await mine.put("zones", {"name": "a"}), await mine.put("zones", {"name": "b"})]
        received: list[Change] = []
        async with trio.open_nursery() as nursery:

            async def follow() -> None:
                received.extend(await collect(mine, 0, 6))

            nursery.start_soon(follow)
            acked += await other.put_many("zones", [{"name": "c"}, {"name": "d"}])
            acked += [await mine.put("zones", {"name": "e"}), await other.put("zones", {"name": "f"})]
        assert [c.revision for c in received] == [1, 2, 3, 4, 5, 6]
        assert received == acked


async def test_closing_the_store_ends_its_changefeeds(store: ConfigStore) -> None:
    await store.put("zones", {"name": "z"})
    seen = []
    with trio.fail_after(5):
        async with trio.open_nursery() as nursery:

            async def follow() -> None:
                async for change in store.changes(0):
                    seen.append(change.revision)

            nursery.start_soon(follow)
            await trio.sleep(0.05)
            await store.aclose()
    assert seen == [1]


async def test_a_page_revision_is_where_its_changefeed_resumes(store: ConfigStore) -> None:
    """Snapshot then follow: the page shows every write up to its revision, the feed the rest."""
    await store.put_many("zones", [{"name": f"z{i}"} for i in range(5)])
    page = await store.query("zones")
    later = await store.put("zones", {"name": "after the snapshot"})
    assert page.revision == 5
    assert await collect(store, page.revision, later.revision) == [later]
