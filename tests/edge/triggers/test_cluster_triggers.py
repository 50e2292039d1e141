"""A trigger on a three-node site (real etcd and Redis): kill -9 the node evaluating it, flip its
condition, and the survivor that takes it over fires once, never twice.

Three `transom edge run` processes share a site of echo devices, one simulator each in this
process; the trigger's action sends a line to Display_2's device, so the device's own log
counts the firings, whichever node ran them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from edge.cluster.hrw import owner
from tests.edge.cluster_harness import (
    ClusterNode,
    EchoSimulator,
    connected,
    module_ids,
    poll_until,
    write_cluster_site,
)
from tests.edge.site_files import ADMIN_KEY
from tests.servers.etcd import EtcdCluster
from tests.servers.redis import RedisServer

pytestmark = pytest.mark.slow

DEVICES = 6
TTL = 2
NODES = ("node-a", "node-b", "node-c")
INSTANCE = "trig-hot0000001"
FIRED = b"trigger-fired"


def _with_trigger(config: Path) -> Path:
    data: dict[str, Any] = json.loads(config.read_text())
    data["triggers"] = [
        {
            "id": "trigger-hot0000001",
            "name": "Too hot",
            "conditions": {
                "comparisons": [
                    {"left": {"mod": "Display_1", "status": "temp"}, "operator": "greater_than", "right": 25}
                ]
            },
            "actions": {
                "functions": [{"mod": "Display_2", "method": "echo", "args": {"text": FIRED.decode()}}]
            },
        }
    ]
    data["trigger_instances"] = [
        {"id": INSTANCE, "trigger_id": "trigger-hot0000001", "control_system_id": "sys-room1"}
    ]
    config.write_text(json.dumps(data))
    return config


async def _set_temp(nodes: list[ClusterNode], value: int) -> None:
    """Set Display_1's temp through any node that answers (its module may be moving)."""
    body = ["temp", value]
    with trio.fail_after(60):
        while True:
            for node in nodes:
                try:
                    async with httpx.AsyncClient(
                        base_url=node.url, headers={"x-api-key": ADMIN_KEY}
                    ) as client:
                        response = await client.post(
                            "/api/engine/v2/systems/sys-room1/Display_1/set_value", json=body, timeout=5
                        )
                    if response.status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            await trio.sleep(0.2)


async def test_the_survivor_fires_once_after_kill9_of_the_evaluating_node(
    tmp_path: Path, etcd_cluster: EtcdCluster, redis_server: RedisServer
) -> None:
    sims = [EchoSimulator() for _ in range(DEVICES)]
    fired = lambda: sum(1 for line in sims[1].log if line == FIRED)  # noqa: E731
    async with trio.open_nursery() as nursery:
        ports = [await nursery.start(sim.serve, 0) for sim in sims]
        config = _with_trigger(write_cluster_site(tmp_path, ports))
        nodes = {name: ClusterNode(name, tmp_path / name) for name in NODES}
        try:
            for node in nodes.values():
                await node.start(config, etcd=etcd_cluster.endpoints, redis=redis_server.url, lease_ttl=TTL)
            for node in nodes.values():
                await node.wait_ready()
            with trio.fail_after(60):
                await poll_until(lambda: connected(sims) == DEVICES)
            evaluator = owner(INSTANCE, NODES)
            assert evaluator is not None
            survivors = [nodes[n] for n in NODES if n != evaluator]

            # Below the threshold, then above: one firing, by the evaluating node.
            await _set_temp(list(nodes.values()), 20)
            await trio.sleep(2.0)  # the instance has loaded and seen 20
            await _set_temp(list(nodes.values()), 30)
            with trio.fail_after(30):
                await poll_until(lambda: fired() >= 1)
            await _set_temp(list(nodes.values()), 20)  # falling edge: nothing fires
            await trio.sleep(1.0)

            # kill -9 the evaluator, and flip the condition while it is gone.
            nodes[evaluator].kill9()
            await _set_temp(survivors, 31)
            with trio.fail_after(60):
                await poll_until(lambda: fired() >= 2)
            # The new evaluator restored the state its predecessor published, and any restart
            # of the instance (views settling) restores it again: no further firing.
            await trio.sleep(6.0)
            assert fired() == 2
            new_owner = owner(INSTANCE, [n for n in NODES if n != evaluator])
            log = (tmp_path / f"{new_owner}.log").read_text()
            assert f"trigger instance {INSTANCE} fired (#2" in log
        finally:
            for node in nodes.values():
                await node.aclose()
            nursery.cancel_scope.cancel()
    assert module_ids(DEVICES)[1] == "mod-dev01"  # Display_2 is the second device's module
