"""The replica, filled over the link, serves the node's configuration (settings opened)."""

from __future__ import annotations

from pathlib import Path

import trio

from edge.uplink.replica_source import ReplicaConfigSource
from tests.sync.link.cloud import open_data, run_cloud, seed_site, wait_for
from tests.sync.link.test_link import run_edge


async def test_the_replica_is_a_site_config_source(tmp_path: Path) -> None:
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        async with (
            run_cloud(tmp_path, store, auth) as cloud,
            run_edge(tmp_path, cloud.base_url, site) as edge,
        ):
            await wait_for(lambda: edge.replica.get("modules", site.module_id))
            source = ReplicaConfigSource(edge.replica, site.edge_key)
            config = await source.snapshot()
            assert config.revision == await edge.replica.revision()
            system = await store.get("systems", site.system_id)
            assert system is not None
            with trio.fail_after(10):
                async with trio.open_nursery() as nursery:

                    async def edit() -> None:
                        await trio.sleep(0.1)
                        await store.put("systems", {**system, "name": "Renamed"})

                    nursery.start_soon(edit)
                    async for changed in source.changes():
                        assert changed.revision > config.revision
                        break
