"""A node's status snapshot never goes back in time: a change that reaches the node while the
hosts are being asked for their status is part of the snapshot the cloud gets.

The uplink appends the snapshot to the outbox after the changes that arrived meanwhile, and the
cloud lets a snapshot replace what it has: one older than a change it follows would hide that
change until the key next changes (for a key that never changes again, for good). Seen in the
60 s outage test as a final value the cloud never showed.
"""

from __future__ import annotations

from pathlib import Path

import trio

from tests.edge.node_harness import running_node


async def test_a_change_arriving_during_the_snapshot_is_in_it(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node:
        manager = node.manager
        with trio.fail_after(30):
            while not {"mod-display1", "mod-room"} <= set(await manager.status_snapshot()):  # noqa: ASYNC110
                await trio.sleep(0.05)
        taken: dict[str, dict[str, str]] = {}

        async def take() -> None:
            taken.update(await manager.status_snapshot())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(take)
            # Until the snapshot has begun asking the hosts (a plain attribute: no event to wait on).
            while not manager._snapshot_watchers:
                await trio.lowlevel.checkpoint()
            # It has not returned (it stops watching first), so this arrives while it is taken:
            # what a host's status batch does on arrival (edge/hosts/client.py calls this).
            manager._status({"mod-display1": {"greeting": '"newer than the snapshot"'}})
        assert taken["mod-display1"]["greeting"] == '"newer than the snapshot"'
        assert "greeting" not in taken["mod-room"]  # only the module that changed
        # Later snapshots are the hosts' own again.
        assert (await manager.status_snapshot())["mod-display1"].get("greeting") != (
            '"newer than the snapshot"'
        )
