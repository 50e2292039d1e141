"""A node through a real socket: exec and state over REST and the control WebSocket, with credentials."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from trio_websocket import ConnectionRejected, open_websocket_url

from tests.edge.node_harness import running_node, wait_for
from tests.edge.site_files import ADMIN_KEY, API_KEY

pytestmark = pytest.mark.slow


async def test_exec_and_state_over_rest(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node:

        async def connected() -> bool:
            response = await node.client.get("/api/engine/v2/systems/sys-room1/Display_1/connected")
            return response.status_code == 200 and response.json() is True

        await wait_for(connected)
        response = await node.exec("Display_1", "echo", "hello")
        assert response.status_code == 200, response.text
        assert response.json() == "hello"
        # Settings: Driver < Module for device modules.
        assert (await node.exec("Display_1", "greeting")).json() == "from the driver"
        assert (await node.exec("Display_2", "greeting")).json() == "from module 2"

        async def last_is_hello() -> bool:
            # Status arrives in the host's next batch (within a few ms), not with the result.
            state = await node.client.get("/api/engine/v2/systems/sys-room1/Display_1")
            return bool(state.json().get("last") == '"hello"')  # each value as its JSON text, as PlaceOS

        await wait_for(last_is_hello, 5)
        by_id = await node.client.post("/api/engine/v2/modules/mod-room/exec/ping", json=[])
        assert by_id.json() == "pong"
        assert (await node.client.get("/api/engine/v2/modules/mod-room/state/ready")).json() == "true"

        # Errors are answered with a status and a JSON body, never a traceback.
        missing = await node.exec("Display_1", "nope")
        assert (missing.status_code, missing.json()["error"]) == (404, "function_not_found")
        bad_args = await node.exec("Display_1", "echo", 1, 2, 3)
        assert (bad_args.status_code, bad_args.json()["error"]) == (400, "bad_arguments")
        raised = await node.exec("Display_1", "fail")
        assert raised.status_code == 500 and "on fire" in raised.json()["message"]
        assert (await node.exec("Projector_1", "echo", "x")).status_code == 404
        nowhere = await node.client.get("/api/engine/v2/systems/sys-nowhere/Display_1")
        assert nowhere.json()["error"] == "system_not_found"

        # Security levels: a user key may not call an admin function; an admin key may.
        denied = await node.exec("Display_1", "reboot")
        assert (denied.status_code, denied.json()["error"]) == (403, "access_denied")
        admin = await node.client.post(
            "/api/engine/v2/systems/sys-room1/Display_1/reboot", json=[], headers={"x-api-key": ADMIN_KEY}
        )
        assert admin.json() == "rebooting"

        health = (await node.client.get("/api/engine/v2/edge/health")).json()
        assert health["node_id"] == "node-a"
        assert health["modules"]["mod-display1"]["state"] == "running"
        assert {h["driver"].rpartition(":")[2] for h in health["hosts"]} == {"EchoDevice", "RoomLogic"}


async def test_unauthenticated_requests_are_refused(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node, httpx.AsyncClient(base_url=node.api) as anonymous:
        for response in (
            await anonymous.post("/api/engine/v2/systems/sys-room1/Room_1/ping", json=[]),
            await anonymous.get("/api/engine/v2/modules/mod-room/state"),
            await anonymous.get("/api/engine/v2/edge/health"),
            await anonymous.get("/api/engine/v2/edge/health", headers={"x-api-key": API_KEY + "x"}),
            await anonymous.get("/api/engine/v2/edge/health", headers={"authorization": "Bearer a.b.c"}),
        ):
            assert response.status_code == 401
            assert response.json()["error"] in ("missing_credentials", "invalid_api_key", "invalid_token")
        with pytest.raises(ConnectionRejected):
            async with open_websocket_url(node.ws_url):
                pass


async def test_control_websocket_bind_exec_and_errors(tmp_path: Path) -> None:
    async with running_node(tmp_path) as node, open_websocket_url(f"{node.ws_url}?api-key={API_KEY}") as ws:

        async def request(frame: dict[str, object]) -> dict[str, object]:
            await ws.send_message(json.dumps(frame))
            return dict(json.loads(await ws.get_message()))

        await ws.send_message("ping")
        assert await ws.get_message() == "pong"
        bind = {
            "id": 1,
            "cmd": "bind",
            "sys": "sys-room1",
            "mod": "Display",
            "index": 2,
            "name": "colour",
        }
        assert (await request(bind))["type"] == "success"
        reply = await request(
            {
                "id": 2,
                "cmd": "exec",
                "sys": "sys-room1",
                "mod": "Display",
                "index": 2,
                "name": "set_value",
                "args": ["colour", "blue"],
            }
        )
        frames = [reply, json.loads(await ws.get_message())]
        by_type = {f["type"]: f for f in frames}
        assert by_type["success"]["id"] == 2
        assert by_type["notify"] == {
            "id": 1,
            "type": "notify",
            "meta": {"sys": "sys-room1", "mod": "Display", "index": 2, "name": "colour"},
            "value": "blue",
        }
        exec_room = {
            "id": 3,
            "cmd": "exec",
            "sys": "sys-room1",
            "mod": "Room",
            "name": "ping",
            "args": [],
        }
        assert (await request(exec_room))["value"] == "pong"
        assert (await request({"id": 4, "cmd": "exec", "sys": "sys-x", "mod": "Room", "name": "ping"}))[
            "error_code"
        ] == 5
        assert (
            await request(
                {"id": 5, "cmd": "bind", "sys": "sys-room1", "mod": "Room", "index": 9, "name": "x"}
            )
        )["error_code"] == 6
        assert (await request({"id": 6, "cmd": "shout", "sys": "sys-room1"}))["error_code"] == 4
        malformed = await request({"cmd": "bind"})
        assert (malformed["type"], malformed["error_code"]) == ("error", 0)
        assert (await request({"id": 7, "cmd": "debug", "mod": "mod-room"}))["error_code"] == 2
        denied = {"id": 8, "cmd": "exec", "sys": "sys-room1", "mod": "Display", "name": "reboot"}
        assert (await request(denied))["error_code"] == 2
