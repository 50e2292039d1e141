"""A synced node cold-boots with the cloud down and still controls a device through its local API.

Real processes: `transom cloud run`, `transom edge run --cloud --edge-key`; the devices are
protocol simulators in the test process, so the test reads the projector's own power state.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from cli.demo.seed import PREFIX
from drivers.simulators.extron_sis import ExtronMatrix
from drivers.simulators.pjlink import COOLING, ON, STANDBY, WARMING, PJLinkProjector
from drivers.simulators.samsung_mdc import SamsungDisplay
from tests.e2e.harness import free_port, seed, start_cloud, start_node, wait_until

pytestmark = pytest.mark.slow


async def _status(client: httpx.AsyncClient, path: str, headers: dict[str, str] | None = None) -> Any:
    try:
        response = await client.get(path, headers=headers)
    except httpx.HTTPError:
        return None
    return response.json() if response.status_code == 200 else None


async def _exec(
    client: httpx.AsyncClient, path: str, args: list[Any], **headers: str
) -> httpx.Response | None:
    try:
        response = await client.post(path, json=args, headers=headers)
    except httpx.HTTPError:
        return None
    return response if response.status_code == 200 else None


async def test_cold_boot_with_the_cloud_down_controls_a_device_through_the_local_api(tmp_path: Path) -> None:
    projector = PJLinkProjector(warmup_seconds=0.5, cooldown_seconds=0.5)
    simulators = {
        "room1-display": projector,
        "room1-switcher": ExtronMatrix(),
        "room2-display": SamsungDisplay(),
    }
    async with trio.open_nursery() as nursery:
        ports = {key: await nursery.start(sim.serve, 0) for key, sim in simulators.items()}
        port = free_port()
        cloud_url = f"http://127.0.0.1:{port}"
        cloud = await start_cloud(tmp_path / "cloud", port, tmp_path)
        site = await seed(cloud_url, ports)
        room1 = site.systems["Demo Room 1"]
        display = f"/systems/{room1}/Display_1"

        # 1. One sync while the cloud is up: the device's status reaches the cloud.
        node, _ = await start_node(tmp_path / "node", cloud_url, site.edge_key, tmp_path / "node-1.log")
        async with httpx.AsyncClient(base_url=cloud_url + PREFIX, headers={"x-api-key": site.api_key}) as api:
            connected = f"{display}/connected"
            await wait_until(lambda: _status(api, connected), seconds=60, what="Display_1 up", proc=node)
        assert await node.stop() == 0
        assert await cloud.stop() == 0
        assert projector.power == STANDBY

        # 2. Cold boot with the cloud unreachable: configuration and credentials from the replica.
        node, local_url = await start_node(
            tmp_path / "node", cloud_url, site.edge_key, tmp_path / "node-2.log"
        )
        async with httpx.AsyncClient(base_url=local_url + PREFIX, timeout=10) as local:
            refused = await local.post(f"{display}/power", json=[True])
            assert refused.status_code == 401  # credentials are still checked offline

            # The API key was synced (its hash); power(true) goes to the projector.
            on = await wait_until(
                lambda: _exec(local, f"{display}/power", [True], **{"x-api-key": site.api_key}),
                seconds=30,
                what="power(true) through the local API",
                proc=node,
            )
            assert on.status_code == 200
            await wait_until(lambda: projector.power in (WARMING, ON), seconds=5, what="projector on")
            await wait_until(lambda: projector.power == ON, seconds=10, what="projector warmed up")
            headers = {"x-api-key": site.api_key}
            await wait_until(
                lambda: _status(local, f"{display}/power", headers), seconds=15, what="power status true"
            )

            # A JWT from the cloud (password grant while it was up), checked with the synced JWKS.
            off = await wait_until(
                lambda: _exec(local, f"{display}/power", [False], authorization=f"Bearer {site.token}"),
                seconds=15,
                what="power(false) with a bearer token",
                proc=node,
            )
            assert off.status_code == 200
            await wait_until(
                lambda: projector.power in (COOLING, STANDBY), seconds=5, what="projector powering off"
            )
        assert "cloud link up" not in node.output()  # it really ran without the cloud
        assert await node.stop() == 0
        nursery.cancel_scope.cancel()
