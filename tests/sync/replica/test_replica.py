"""Replica: atomic snapshots, changes applied once by revision, resume deltas, reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.replica import Replica, ReplicaChange, ReplicaClosedError


def _change(revision: int, table: str, id: str, op: str = "update", **fields: object) -> dict[str, object]:
    document = None if op == "delete" else {"id": id, **fields}
    return {"revision": revision, "table": table, "id": id, "op": op, "document": document}


async def test_a_snapshot_replaces_everything(tmp_path: Path) -> None:
    async with Replica(tmp_path / "r.db") as replica:
        assert await replica.revision() == 0
        await replica.apply_snapshot(
            5, {"systems": [{"id": "sys-1", "name": "A"}], "zones": [{"id": "zone-1"}]}
        )
        await replica.apply_snapshot(9, {"systems": [{"id": "sys-2", "name": "B"}]}, sealed_for="key-1")
        assert await replica.revision() == 9
        assert await replica.all("systems") == [{"id": "sys-2", "name": "B"}]
        assert await replica.all("zones") == []
        assert await replica.get("systems", "sys-1") is None
        assert await replica.sealed_for() == "key-1"


async def test_changes_apply_once_by_revision(tmp_path: Path) -> None:
    async with Replica(tmp_path / "r.db") as replica:
        await replica.apply_snapshot(10, {"systems": [{"id": "sys-1", "name": "A"}]})
        batch = [
            _change(9, "systems", "sys-1", name="stale"),  # before the snapshot: ignored
            _change(11, "systems", "sys-1", name="B"),
            _change(12, "modules", "mod-1", "insert", name="Display"),
            _change(13, "systems", "sys-1", "delete"),
        ]
        assert await replica.apply_changes(batch) == 3
        assert await replica.revision() == 13
        assert await replica.apply_changes(batch) == 0  # delivered twice: applied once
        assert await replica.get("systems", "sys-1") is None
        assert await replica.get("modules", "mod-1") == {"id": "mod-1", "name": "Display"}
        assert await replica.ids() == {"modules": ["mod-1"]}


async def test_changes_may_be_objects_like_the_store_change(tmp_path: Path) -> None:
    async with Replica(tmp_path / "r.db") as replica:
        await replica.apply_changes([ReplicaChange(1, "zones", "zone-1", "insert", {"id": "zone-1"})])
        assert await replica.get("zones", "zone-1") == {"id": "zone-1"}


async def test_a_delta_upserts_and_deletes_unless_already_past(tmp_path: Path) -> None:
    async with Replica(tmp_path / "r.db") as replica:
        await replica.apply_snapshot(3, {"systems": [{"id": "sys-1"}, {"id": "sys-2"}]})
        assert await replica.apply_delta(7, {"systems": [{"id": "sys-3"}]}, {"systems": ["sys-1"]})
        assert [s["id"] for s in await replica.all("systems")] == ["sys-2", "sys-3"]
        assert await replica.revision() == 7
        assert not await replica.apply_delta(6, {"systems": [{"id": "sys-9"}]}, {})
        assert await replica.get("systems", "sys-9") is None


async def test_a_failed_batch_writes_nothing(tmp_path: Path) -> None:
    async with Replica(tmp_path / "r.db") as replica:
        await replica.apply_snapshot(1, {"systems": [{"id": "sys-1"}]})
        with pytest.raises(KeyError):
            await replica.apply_changes([_change(2, "systems", "sys-2"), {"revision": 3}])
        assert await replica.revision() == 1
        assert await replica.get("systems", "sys-2") is None


async def test_the_replica_survives_reopening(tmp_path: Path) -> None:
    async with Replica(tmp_path / "r.db") as replica:
        await replica.apply_changes([_change(4, "zones", "zone-1", "insert", name="Level 1")])
    async with Replica(tmp_path / "r.db") as replica:
        assert await replica.revision() == 4
        assert await replica.get("zones", "zone-1") == {"id": "zone-1", "name": "Level 1"}


async def test_closed_replica_refuses_reads(tmp_path: Path) -> None:
    replica = Replica(tmp_path / "r.db")
    await replica.aclose()
    await replica.aclose()
    with pytest.raises(ReplicaClosedError):
        await replica.revision()
