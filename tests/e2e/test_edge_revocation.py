"""What the cloud decides about a credential, a real edge node honours: revocation, deletion, demotion.

Real processes: `transom cloud run` and `transom edge run --cloud`; the projector is a
protocol simulator in the test process. Before: a token the cloud revoked, a deleted user's
token and a demoted support user's token all still worked on the edge's local API (exec and
`debug`) while the cloud refused them.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from trio_websocket import open_websocket_url

from cli.demo.seed import PREFIX
from drivers.simulators.extron_sis import ExtronMatrix
from drivers.simulators.pjlink import PJLinkProjector
from drivers.simulators.samsung_mdc import SamsungDisplay
from tests.e2e.harness import free_port, seed, start_cloud, start_node, wait_until

pytestmark = pytest.mark.slow

PASSWORD = "pw-of-a-person-1"


async def _token(client: httpx.AsyncClient, cloud_url: str, email: str) -> str:
    response = await client.post(
        f"{cloud_url}/auth/oauth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def _exec_status(local: httpx.AsyncClient, path: str, token: str) -> int:
    try:
        response = await local.post(path, json=[False], headers={"authorization": f"Bearer {token}"})
        print("edge answered", response.status_code, response.text[:200])
    except httpx.HTTPError:
        return 0
    return response.status_code


async def _answers(local: httpx.AsyncClient, path: str, token: str, status: int) -> bool:
    return await _exec_status(local, path, token) == status


async def _debug_answer(ws_url: str, token: str, room: str) -> dict[str, Any]:
    async with open_websocket_url(f"{ws_url}?bearer_token={token}") as ws:
        await ws.send_message(
            json.dumps({"id": 1, "cmd": "debug", "sys": room, "mod": "Display", "index": 1})
        )
        answer: dict[str, Any] = json.loads(await ws.get_message())
        return answer


async def test_the_edge_refuses_what_the_cloud_revoked_deleted_or_demoted(tmp_path: Path) -> None:
    simulators = {
        "room1-display": PJLinkProjector(warmup_seconds=0.2, cooldown_seconds=0.2),
        "room1-switcher": ExtronMatrix(),
        "room2-display": SamsungDisplay(),
    }
    async with trio.open_nursery() as nursery:
        ports = {key: await nursery.start(sim.serve, 0) for key, sim in simulators.items()}
        port = free_port()
        cloud_url = f"http://127.0.0.1:{port}"
        cloud = await start_cloud(tmp_path / "cloud", port, tmp_path)
        site = await seed(cloud_url, ports)
        room = site.systems["Demo Room 1"]
        node, local_url = await start_node(tmp_path / "node", cloud_url, site.edge_key, tmp_path / "node.log")
        admin = {"authorization": f"Bearer {site.token}"}
        async with (
            httpx.AsyncClient(base_url=cloud_url + PREFIX, headers=admin, timeout=30) as api,
            httpx.AsyncClient(base_url=local_url + PREFIX, timeout=30) as local,
        ):
            people = {}
            for name, support in (("una", False), ("sue", True), ("ray", False)):
                body = {
                    "name": name,
                    "email": f"{name}@example.com",
                    "password": PASSWORD,
                    "support": support,
                }
                created = await api.post("/users", json=body)
                assert created.status_code == 201, created.text
                people[name] = created.json()["id"]
            async with httpx.AsyncClient() as client:
                tokens = {name: await _token(client, cloud_url, f"{name}@example.com") for name in people}
            power_off = f"/systems/{room}/Display_1/power"
            for name, token in tokens.items():  # each works at the edge once its user has synced
                await wait_until(
                    partial(_answers, local, power_off, token, 200),
                    seconds=60,
                    what=f"{name}'s token accepted at the edge",
                    proc=node,
                )
            ws_url = local_url.replace("http://", "ws://") + PREFIX + "/systems/control"
            assert (await _debug_answer(ws_url, tokens["sue"], room))["type"] == "success"

            # Revoked at the cloud: refused at the edge.
            async with httpx.AsyncClient() as client:
                revoked = await client.post(f"{cloud_url}/auth/oauth/revoke", data={"token": tokens["ray"]})
            assert revoked.status_code == 200
            await wait_until(
                partial(_answers, local, power_off, tokens["ray"], 401), seconds=30, what="revoked"
            )
            # Deleted at the cloud: refused at the edge.
            assert (await api.delete(f"/users/{people['una']}")).status_code in (200, 202, 204)
            await wait_until(
                partial(_answers, local, power_off, tokens["una"], 401), seconds=30, what="deleted"
            )
            # Demoted at the cloud: the same token is a plain user's at the edge, so debug is refused.
            demoted = await api.patch(f"/users/{people['sue']}", json={"support": False})
            assert demoted.status_code == 200, demoted.text

            async def refused_debug() -> bool:
                answer = await _debug_answer(ws_url, tokens["sue"], room)
                return answer["type"] == "error" and answer["error_code"] == 2

            await wait_until(refused_debug, seconds=30, what="demoted")
            assert await _exec_status(local, power_off, tokens["sue"]) == 200  # still a user
        assert await node.stop() == 0
        assert await cloud.stop() == 0
        nursery.cancel_scope.cancel()
