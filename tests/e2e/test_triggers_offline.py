"""A trigger fires at the site with the cloud down, and the cloud learns of it once when it is back.

Real processes (`transom cloud run`, `transom edge run --cloud`) and protocol simulators: the
projector's lamp hours (a nested status, `lamps[0].hours`) cross a threshold while the cloud
is stopped; the node's trigger ties input 3 to output 1 on the Extron matrix (another device);
the cloud, restarted, shows the firing once in the instance's history and `trigger_count`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from cli.demo.seed import PREFIX
from drivers.simulators.extron_sis import ExtronMatrix
from drivers.simulators.pjlink import PJLinkProjector
from drivers.simulators.samsung_mdc import SamsungDisplay
from tests.e2e.harness import free_port, seed, start_cloud, start_node, wait_until

pytestmark = pytest.mark.slow


async def _get(api: httpx.AsyncClient, path: str) -> Any:
    try:
        response = await api.get(path)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


async def test_a_trigger_fires_offline_and_its_history_reaches_the_cloud_once(tmp_path: Path) -> None:
    projector = PJLinkProjector(lamps=[1200])
    matrix = ExtronMatrix()
    simulators = {"room1-display": projector, "room1-switcher": matrix, "room2-display": SamsungDisplay()}
    async with trio.open_nursery() as nursery:
        ports = {key: await nursery.start(sim.serve, 0) for key, sim in simulators.items()}
        port = free_port()
        cloud_url = f"http://127.0.0.1:{port}"
        cloud = await start_cloud(tmp_path / "cloud", port, tmp_path)
        site = await seed(cloud_url, ports)
        room1 = site.systems["Demo Room 1"]
        headers = {"x-api-key": site.api_key}
        async with httpx.AsyncClient(base_url=cloud_url + PREFIX, headers=headers, timeout=10) as api:
            trigger = await api.post(
                "/triggers",
                json={
                    "name": "Lamp worn: route the backup source",
                    "conditions": {
                        "comparisons": [
                            {
                                "left": {"mod": "Display_1", "status": "lamps", "keys": ["0", "hours"]},
                                "operator": "greater_than",
                                "right": 1500,
                            }
                        ]
                    },
                    "actions": {
                        "functions": [
                            {"mod": "Switcher_1", "method": "switch_video", "args": {"input": 3, "output": 1}}
                        ]
                    },
                },
            )
            assert trigger.status_code == 201, trigger.text
            made = await api.post(
                "/trigger_instances", json={"trigger_id": trigger.json()["id"], "control_system_id": room1}
            )
            assert made.status_code == 201, made.text
            instance_id = made.json()["id"]

        node, _ = await start_node(tmp_path / "node", cloud_url, site.edge_key, tmp_path / "node.log")
        await wait_until(
            lambda: f"evaluating trigger instance {instance_id}" in node.output(),
            seconds=60,
            what="the node evaluating the instance",
            proc=node,
        )
        async with httpx.AsyncClient(base_url=cloud_url + PREFIX, headers=headers, timeout=10) as api:
            await wait_until(
                lambda: _get(api, f"/systems/{room1}/Display_1/lamps"),
                seconds=60,
                what="lamp hours at the cloud",
            )
        assert await cloud.stop() == 0

        # The cloud is down; the lamp passes 1500 hours; the next poll sees it; the trigger acts.
        assert matrix.video[1] != 3
        projector.lamps = [1501]
        await wait_until(
            lambda: matrix.video[1] == 3, seconds=40, what="the matrix tie made by the trigger", proc=node
        )
        await trio.sleep(1.0)  # the firing is in the outbox (flushed within milliseconds)

        cloud = await start_cloud(tmp_path / "cloud", port, tmp_path)
        async with httpx.AsyncClient(base_url=cloud_url + PREFIX, headers=headers, timeout=10) as api:

            async def counted() -> Any:
                document = await _get(api, f"/trigger_instances/{instance_id}")
                return document if document and document["trigger_count"] >= 1 else None

            document = await wait_until(counted, seconds=60, what="trigger_count at the cloud", proc=node)
            history = await _get(api, f"/trigger_instances/{instance_id}/history")
            assert [(f["count"], f["cause"]) for f in history] == [(1, "Display_1.lamps")]
            await wait_until(
                lambda: _get(api, f"/trigger_instances/{instance_id}/history"),
                seconds=10,
                what="history",
            )
            # Let the node's link settle (resends of anything unacked are dropped), then look again.
            await trio.sleep(3.0)
            history = await _get(api, f"/trigger_instances/{instance_id}/history")
            assert len(history) == 1 and history[0]["outcomes"] == [{"action": "functions.0", "ok": True}]
            again = await _get(api, f"/trigger_instances/{instance_id}")
            assert again["trigger_count"] == 1 == document["trigger_count"]
        assert await node.stop() == 0
        assert await cloud.stop() == 0
        nursery.cancel_scope.cancel()
