"""Invalid documents: the error names the field, and nothing of the write is stored."""

from __future__ import annotations

import pytest
import trio

from cloud.store.sqlite import SQLiteStore
from sync.model.errors import DocumentInvalid


async def test_an_invalid_document_is_rejected_naming_the_field(store: SQLiteStore) -> None:
    with pytest.raises(DocumentInvalid) as caught:
        await store.put("zones", {"name": ""})
    assert [e["field"] for e in caught.value.errors] == ["name"]
    assert await store.head_revision() == 0


async def test_one_bad_document_leaves_the_batch_unwritten(store: SQLiteStore) -> None:
    await store.put("zones", {"id": "zone-0", "name": "before"})
    batch = [{"id": f"zone-{i}", "name": f"Z{i}"} for i in range(1, 200)]
    batch[150] = {"id": "zone-150"}
    batch[7] = {"id": "zone-7", "name": 7}
    with pytest.raises(DocumentInvalid) as caught:
        await store.put_many("zones", batch)
    assert [e["field"] for e in caught.value.errors] == ["7.name", "150.name"]
    assert await store.head_revision() == 1
    assert (await store.query("zones")).total == 1
    with trio.move_on_after(0.3):
        async for change in store.changes(0):
            assert change.revision == 1
    assert await store.get("zones", "zone-1") is None


async def test_a_conflict_in_a_batch_leaves_the_batch_unwritten(store: SQLiteStore) -> None:
    """A failure after the transaction has begun rolls it all back."""
    original = await store.put("zones", {"id": "zone-1", "name": "a"})
    await store.put("zones", {"id": "zone-1", "name": "b"})
    with pytest.raises(Exception, match="revision"):
        await store._write(
            "zones",
            [{"id": "zone-2", "name": "new"}, {"id": "zone-1", "name": "c"}],
            [0, original.revision],
        )
    assert await store.get("zones", "zone-2") is None
    assert await store.head_revision() == 2
