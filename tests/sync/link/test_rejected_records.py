"""One record the site cannot apply is set aside; the rest of the configuration still applies.

Issue 13, finding 1: a driver the edge could not load made it keep its old configuration
whole, so later valid modules never arrived, while the cloud showed the edge healthy. The bad
driver here names a package the edge does not have (as when the cloud has a driver package
the site was not given); it is written to the store directly, as a record from before the
API checked drivers would be.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import trio

from edge.uplink.backoff import Backoff
from edge.uplink.replica_source import ReplicaConfigSource
from edge.uplink.uplink import serve_uplink
from sync.outbox import Outbox
from sync.replica import Replica
from tests.sync.link.cloud import PREFIX, _put, open_data, run_cloud, seed_site, wait_for
from tests.sync.link.test_link import await_handler

MISSING_DRIVER = "acme_display_not_installed.display:AcmeDisplay"


async def test_a_bad_driver_is_set_aside_and_the_rest_applies_and_is_reported(tmp_path: Path) -> None:
    async with open_data(tmp_path) as (store, auth):
        site = await seed_site(store, auth)
        bad_driver = await _put(
            store,
            "drivers",
            {"name": "Acme", "role": "device", "module_name": "Display", "file_name": MISSING_DRIVER},
        )
        bad_module = await _put(
            store,
            "modules",
            {
                "driver_id": bad_driver["id"],
                "role": "device",
                "name": "Display",
                "ip": "10.0.0.9",
                "port": 4352,
                "edge_id": site.edge_id,
                "running": True,
            },
        )
        async with (
            run_cloud(tmp_path, store, auth) as cloud,
            Outbox(tmp_path / "outbox.db") as outbox,
            Replica(tmp_path / "replica.db") as replica,
            trio.open_nursery() as nursery,
        ):
            source = ReplicaConfigSource(replica, site.edge_key)
            await nursery.start(outbox.serve)
            await nursery.start(
                lambda task_status: serve_uplink(
                    cloud.base_url,
                    site.edge_key,
                    "node-1",
                    outbox,
                    replica,
                    await_handler([]),
                    backoff=Backoff(base=0.05, maximum=0.3),
                    config_status=source.status,
                    task_status=task_status,
                )
            )
            await wait_for(lambda: replica.get("modules", bad_module["id"]), what="the bad module synced")
            first = await source.snapshot()
            assert site.module_id in first.modules  # the good module applies
            rejected = {(r.table, r.id): r.reason for r in first.rejected}
            assert (
                "no importable module 'acme_display_not_installed.display'"
                in rejected[("drivers", bad_driver["id"])]
            )
            assert rejected[("modules", bad_module["id"])].startswith(
                f"its driver {bad_driver['id']!r} was rejected"
            )
            assert bad_module["id"] not in first.modules

            # A valid module created afterwards still arrives (it did not before: the replica's
            # configuration as a whole was refused).
            later = await _put(
                store,
                "modules",
                {
                    "driver_id": site.driver_id,
                    "role": "device",
                    "name": "Display",
                    "ip": "10.0.0.3",
                    "port": 4352,
                    "edge_id": site.edge_id,
                    "running": True,
                },
            )
            with trio.fail_after(10):
                async for config in source.changes():
                    if later["id"] in config.modules:
                        break
            assert bad_module["id"] in {r.id for r in config.rejected}

            # The cloud shows what the edge runs and what it set aside, with why.
            def reported() -> bool:
                return {r["id"] for r in cloud.hub.health(site.edge_id)["rejected"]} == {
                    bad_driver["id"],
                    bad_module["id"],
                }

            await wait_for(reported, what="the rejected records in sync health")
            async with httpx.AsyncClient(
                base_url=cloud.base_url + PREFIX, headers={"x-api-key": site.admin_key}
            ) as api:
                answer = await api.get(f"/edges/{site.edge_id}")
            assert answer.status_code == 200, answer.text
            sync = answer.json()["sync"]
            assert sync["applied_revision"] == config.revision
            assert sync["cloud_revision"] >= config.revision
            reasons = {r["id"]: r["reason"] for r in sync["rejected"]}
            assert "no importable module" in reasons[bad_driver["id"]]
            assert "was rejected" in reasons[bad_module["id"]]
            nursery.cancel_scope.cancel()
