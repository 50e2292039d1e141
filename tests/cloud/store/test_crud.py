"""Reading and writing single documents: ids, insert versus update, revisions, concurrency checks."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import trio

from cloud.store.base import ConfigStore
from cloud.store.errors import ConflictError, NotFoundError, StoreClosedError, StoreError
from cloud.store.sqlite import SQLiteStore
from tests.cloud.store.conftest import Engine
from tests.cloud.store.helpers import collect


async def test_put_assigns_a_placeos_style_id_and_get_returns_the_document(store: ConfigStore) -> None:
    change = await store.put("systems", {"name": "Room 1"})
    assert change.id.startswith("sys-")
    assert (change.op, change.revision) == ("insert", 1)
    assert change.document is not None
    assert (change.document["id"], change.document["name"]) == (change.id, "Room 1")
    assert await store.get("systems", change.id) == change.document


async def test_put_stores_the_validated_document_with_its_defaults(store: ConfigStore) -> None:
    change = await store.put("zones", {"id": "zone-1", "name": "Level 1"})
    stored = await store.get("zones", "zone-1")
    assert stored == change.document
    assert stored is not None
    assert (stored["tags"], stored["capacity"], stored["created_at"] > 0) == ([], 0, True)


async def test_put_with_an_existing_id_replaces_the_document(store: ConfigStore) -> None:
    first = await store.put("zones", {"id": "zone-1", "name": "Level 1", "tags": ["a"]})
    second = await store.put("zones", {"id": "zone-1", "name": "Level 1 east"})
    assert (first.op, second.op) == ("insert", "update")
    assert second.revision == first.revision + 1
    stored = await store.get("zones", "zone-1")
    assert stored is not None
    assert (stored["name"], stored["tags"]) == ("Level 1 east", [])


async def test_get_of_a_missing_document_is_none(store: ConfigStore) -> None:
    assert await store.get("systems", "sys-nothing") is None
    assert await store.get_entry("systems", "sys-nothing") is None


async def test_get_entry_carries_the_revision_of_the_last_write(store: ConfigStore) -> None:
    await store.put("zones", {"id": "zone-1", "name": "a"})
    change = await store.put("zones", {"id": "zone-1", "name": "b"})
    entry = await store.get_entry("zones", "zone-1")
    assert entry is not None
    assert (entry.revision, entry.document["name"]) == (change.revision, "b")


async def test_get_many_returns_found_documents_in_the_order_asked(store: ConfigStore) -> None:
    await store.put_many("zones", [{"id": f"zone-{i}", "name": f"Z{i}"} for i in range(1200)])
    found = await store.get_many("zones", ["zone-7", "zone-missing", "zone-1100", "zone-3", "zone-7"])
    assert list(found) == ["zone-7", "zone-1100", "zone-3"]
    assert found["zone-1100"]["name"] == "Z1100"


async def test_delete_removes_the_document_and_records_a_change(store: ConfigStore) -> None:
    await store.put("zones", {"id": "zone-1", "name": "a"})
    change = await store.delete("zones", "zone-1")
    assert change is not None
    assert (change.revision, change.op, change.document) == (2, "delete", None)
    assert await store.get("zones", "zone-1") is None


async def test_delete_of_a_missing_document_writes_nothing(store: ConfigStore) -> None:
    assert await store.delete("zones", "zone-nothing") is None
    assert await store.head_revision() == 0


async def test_expected_revision_guards_put_and_delete(store: ConfigStore) -> None:
    created = await store.put("zones", {"id": "zone-1", "name": "a"}, expected_revision=0)
    with pytest.raises(ConflictError) as caught:
        await store.put("zones", {"id": "zone-1", "name": "b"}, expected_revision=0)
    assert (caught.value.expected, caught.value.actual) == (0, created.revision)
    updated = await store.put("zones", {"id": "zone-1", "name": "b"}, expected_revision=created.revision)
    with pytest.raises(ConflictError):
        await store.delete("zones", "zone-1", expected_revision=created.revision)
    await store.delete("zones", "zone-1", expected_revision=updated.revision)
    with pytest.raises(NotFoundError):
        await store.put("zones", {"id": "zone-1", "name": "c"}, expected_revision=updated.revision)
    assert await store.head_revision() == 3


async def test_a_closed_store_refuses_work(store: ConfigStore) -> None:
    await store.aclose()
    with pytest.raises(StoreClosedError):
        await store.get("zones", "zone-1")
    with pytest.raises(StoreClosedError):
        await store.put("zones", {"name": "a"})
    await store.aclose()  # closing twice is harmless


async def test_documents_survive_reopening(store: ConfigStore, engine: Engine, store_url: str) -> None:
    change = await store.put("zones", {"name": "kept"})
    await store.aclose()
    async with await engine.open(store_url) as reopened:
        assert await reopened.get("zones", change.id) == change.document
        assert await reopened.head_revision() == 1


async def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"garbage\.db"):
        await SQLiteStore.open(path)


async def test_cancelled_writes_are_all_or_nothing(store: ConfigStore) -> None:
    """A write cancelled by its caller either committed whole (and is in the feed) or not at all."""
    for batch in range(40):
        with trio.move_on_after(random.uniform(0, 0.004)):
            await store.put_many("zones", [{"id": f"zone-{batch}-{i}", "name": "z"} for i in range(50)])
    head = await store.head_revision()
    feed = await collect(store, 0, head)
    assert [c.revision for c in feed] == list(range(1, head + 1))
    written = {c.id for c in feed}
    for batch in range(40):
        present = {f"zone-{batch}-{i}" for i in range(50)} & written
        assert len(present) in (0, 50)
    assert (await store.query("zones")).total == len(written) == head
