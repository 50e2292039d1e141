"""Invalid documents: the error names the field, and nothing of the write is stored."""

from __future__ import annotations

import pytest
import trio

from cloud.store.base import ConfigStore
from cloud.store.errors import ConflictError
from sync.model import DocumentInvalid
from tests.cloud.store.conftest import Engine


async def test_an_invalid_document_is_rejected_naming_the_field(store: ConfigStore) -> None:
    with pytest.raises(DocumentInvalid) as caught:
        await store.put("zones", {"name": "", "capacity": -1})
    assert sorted(e["field"] for e in caught.value.errors) == ["capacity", "name"]
    assert await store.head_revision() == 0


async def test_an_unknown_table_is_rejected_naming_it(store: ConfigStore) -> None:
    with pytest.raises(DocumentInvalid) as caught:
        await store.put("rooms", {"name": "x"})
    assert [e["field"] for e in caught.value.errors] == ["table"]


async def test_one_bad_document_leaves_the_batch_unwritten(store: ConfigStore) -> None:
    await store.put("zones", {"id": "zone-0", "name": "before"})
    batch = [{"id": f"zone-{i}", "name": f"Z{i}"} for i in range(1, 200)]
    batch[150] = {"id": "zone-150"}
    batch[7] = {"id": "zone-7", "name": "Z7", "tags": "not a list"}
    with pytest.raises(DocumentInvalid) as caught:
        await store.put_many("zones", batch)
    assert [e["field"] for e in caught.value.errors] == ["7.tags", "150.name"]
    assert await store.head_revision() == 1
    assert (await store.query("zones")).total == 1
    assert await store.get("zones", "zone-1") is None
    # The changefeed holds nothing of the batch: read it up to a marker written after.
    marker = await store.put("zones", {"id": "zone-marker", "name": "after"})
    seen = []
    with trio.fail_after(30):
        async for change in store.changes(0):
            seen.append(change.revision)
            if change.revision == marker.revision:
                break
    assert seen == [1, marker.revision] and marker.revision == 2


async def test_a_failure_inside_the_transaction_leaves_the_batch_unwritten(store: ConfigStore) -> None:
    original = await store.put("zones", {"id": "zone-1", "name": "a"})
    await store.put("zones", {"id": "zone-1", "name": "b"})
    with pytest.raises(ConflictError):
        await store._write(
            "zones", [{"id": "zone-2", "name": "new"}, {"id": "zone-1", "name": "c"}], [0, original.revision]
        )
    assert await store.get("zones", "zone-2") is None
    assert await store.head_revision() == 2


async def test_a_custom_validator_is_used(engine: Engine) -> None:
    def shout(table: str, data: object) -> dict[str, object]:
        return {**dict(data), "name": "LOUD"}  # type: ignore[call-overload]

    async with await engine.open(engine.new_url(), validator=shout) as store:
        change = await store.put("anything", {"id": "x", "name": "quiet"})
        assert await store.get("anything", "x") == {"id": "x", "name": "LOUD"}
        assert change.document == {"id": "x", "name": "LOUD"}
