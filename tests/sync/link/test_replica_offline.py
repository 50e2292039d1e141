"""What an offline cold boot needs from the replica: the cloud's JWKS kept, and no change missed."""

from __future__ import annotations

from pathlib import Path

import trio

from cloud.auth.keys import KeyRing
from edge.uplink.replica_source import ReplicaConfigSource
from sync.model import new_id
from sync.replica import Replica

JWKS = KeyRing.from_secret(b"s" * 32).jwks()


async def test_the_jwks_is_kept_across_reopening(tmp_path: Path) -> None:
    async with Replica(tmp_path / "r.db") as replica:
        assert await replica.jwks() == {}
        assert await replica.set_jwks(JWKS) is True
        assert await replica.set_jwks(JWKS) is False  # unchanged: followers are not woken
    async with Replica(tmp_path / "r.db") as replica:
        assert await replica.jwks() == JWKS


async def test_the_source_gives_the_replicas_jwks_to_the_local_api(tmp_path: Path) -> None:
    async with Replica(tmp_path / "r.db") as replica:
        await replica.apply_snapshot(3, {})
        await replica.set_jwks(JWKS)
        config = await ReplicaConfigSource(replica, "key-0000000000.secret").snapshot()
        assert dict(config.auth.jwks) == JWKS


async def test_a_change_applied_before_the_follower_starts_is_not_missed(tmp_path: Path) -> None:
    async with Replica(tmp_path / "r.db") as replica:
        await replica.apply_snapshot(3, {})
        source = ReplicaConfigSource(replica, "key-0000000000.secret")
        first = await source.snapshot()
        zone = {"id": new_id("zones"), "name": "Level 2"}
        change = {"revision": 4, "table": "zones", "id": zone["id"], "op": "insert", "document": zone}
        await replica.apply_changes([change])
        with trio.fail_after(5):
            async for config in source.changes():
                assert config.revision == 4 > first.revision
                assert zone["id"] in config.zones
                break
