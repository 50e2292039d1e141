"""The RethinkDB engine's own tests on a real server (the store suite runs on it through `engine`).

URLs; a batch committed in the head whose writer died before applying it (rolled forward
by a subscriber, and by the next open); a frozen server (SIGSTOP) costs a StoreError after
the bounded wait, never a hang, and the store works again once it thaws.
"""

from __future__ import annotations

import pytest
import trio
from rethinkdb import r

from cloud.store import rethinkdb as rethink_store
from cloud.store import rethinkdb_link
from cloud.store.errors import StoreError
from cloud.store.rethinkdb import RethinkStore, _commit_query
from cloud.store.rethinkdb_link import Target
from cloud.store.rethinkdb_reql import DOCUMENTS, HEAD, HEAD_ID
from tests.cloud.store.helpers import collect
from tests.servers.rethinkdb import RethinkServer


def test_urls_name_hosts_database_and_credentials() -> None:
    target = Target.parse("rethinkdb://ops:s%40fe@10.0.0.1:29015,10.0.0.2,10.0.0.3:28016/transom_cfg")
    assert target.hosts == (("10.0.0.1", 29015), ("10.0.0.2", 28015), ("10.0.0.3", 28016))
    assert (target.db, target.user, target.password) == ("transom_cfg", "ops", "s@fe")
    assert Target.parse("rethinkdb://h/db").user == "admin"
    for bad in ("rethinkdb://h:1/", "rethinkdb://h:x/db", "rethinkdb://:1/db", "postgresql://h/db"):
        with pytest.raises(ValueError):
            Target.parse(bad)


async def test_a_committed_batch_whose_writer_died_is_rolled_forward(rethinkdb_url: str) -> None:
    async with await RethinkStore.open(rethinkdb_url) as store:
        first = await store.put("zones", {"id": "zone-a", "name": "applied"})
        # What a writer killed between commit and apply leaves: the head moved, nothing applied.
        rows = [
            {"id": 2, "tbl": "zones", "key": "zone-b", "op": "insert", "doc": {"id": "zone-b", "name": "b"}}
        ]
        batch = {"first": 2, "token": "dead-writer", "changes": rows}
        commit_only = r.table(HEAD).get(HEAD_ID).replace({"id": HEAD_ID, "revision": 2, "batch": batch})
        await store.link.run(commit_only, durability="hard")
        assert await store.get("zones", "zone-b") is None
        # A subscriber finds the gap, waits ROLL_FORWARD_AFTER for the writer, then applies it.
        feed = await collect(store, 0, 2)
        assert [(c.revision, c.id) for c in feed] == [(1, first.id), (2, "zone-b")]
        assert await store.get("zones", "zone-b") == {"id": "zone-b", "name": "b"}
        # Applied again (a frozen writer waking up late): nothing changes, nothing goes back.
        await store.put("zones", {"id": "zone-b", "name": "newer"})
        await store.link.run(_commit_query(1, batch))  # refused: the head is not at 1
        await store._apply(batch)
        assert (await store.get("zones", "zone-b") or {})["name"] == "newer"
        assert await store.head_revision() == 3


async def test_opening_applies_a_batch_left_unapplied(rethinkdb_url: str) -> None:
    async with await RethinkStore.open(rethinkdb_url) as store:
        rows = [
            {"id": 1, "tbl": "zones", "key": "zone-c", "op": "insert", "doc": {"id": "zone-c", "name": "c"}}
        ]
        batch = {"first": 1, "token": "dead", "changes": rows}
        await store.link.run(
            r.table(HEAD).get(HEAD_ID).replace({"id": HEAD_ID, "revision": 1, "batch": batch})
        )
        assert await store.link.run(r.table(DOCUMENTS).count()) == 0
    async with await RethinkStore.open(rethinkdb_url) as reopened:
        entry = await reopened.get_entry("zones", "zone-c")
        assert entry is not None and entry.revision == 1
        assert [c.revision for c in await collect(reopened, 0, 1)] == [1]


async def test_a_frozen_server_is_an_error_after_a_bounded_wait_then_works_again(
    rethinkdb_server: RethinkServer, rethinkdb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rethinkdb_link, "QUERY_TIMEOUT", 1.0)
    monkeypatch.setattr(rethinkdb_link, "UNAVAILABLE_TIMEOUT", 3.0)
    monkeypatch.setattr(rethink_store, "UNAVAILABLE_TIMEOUT", 3.0)
    async with await RethinkStore.open(rethinkdb_url) as store:
        await store.put("zones", {"id": "zone-1", "name": "before"})
        rethinkdb_server.pause()
        try:
            with trio.fail_after(60):  # far beyond the patched bounds: only a hang reaches it
                with pytest.raises(StoreError):
                    await store.put("zones", {"id": "zone-2", "name": "frozen"})
                with pytest.raises(StoreError):
                    await store.get("zones", "zone-1")
        finally:
            rethinkdb_server.resume()
        after = await store.put("zones", {"id": "zone-3", "name": "after"})
        head = await store.head_revision()
        assert head == after.revision
        assert [c.revision for c in await collect(store, 0, head)] == list(range(1, head + 1))
