"""Security of open control sockets and read-only scopes (issue: security findings 2, 5 and 8).

Before: a socket opened by a user kept executing after the user was deleted; a socket could
hold any number of bindings with keys of any length; a key with `systems.read` ran functions.
"""

from __future__ import annotations

import json
from typing import Any

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, open_websocket_url

from sync.control.frames import MAX_FIELD_CHARS
from sync.control.session import MAX_BINDINGS
from sync.model import Role
from tests.cloud.api.conftest import PREFIX, Api, seed_room
from tests.cloud.api.test_exec import recording_handler


async def _ask(ws: WebSocketConnection, frame: dict[str, Any]) -> dict[str, Any]:
    await ws.send_message(json.dumps(frame))
    while True:
        reply: dict[str, Any] = json.loads(await ws.get_message())
        if reply.get("id") == frame["id"] and reply.get("type") != "notify":
            return reply


async def test_a_read_only_key_cannot_run_functions(api: Api) -> None:
    room = await seed_room(api)
    api.router.set_fallback(recording_handler([]))
    _, key = await api.auth.create_api_key(api.user_ids[Role.USER], "reader", ["systems.read"])
    path = f"/systems/{room.system['id']}/Display_1/power"
    refused = await api.user.post(path, json=[True], headers={"X-API-Key": key})
    assert refused.status_code == 403 and "write" in refused.json()["message"]
    host = api.base_url.removeprefix("http://")
    async with open_websocket_url(f"ws://{host}{PREFIX}/systems/control?api-key={key}") as ws:
        exec_frame = {"id": 1, "cmd": "exec", "sys": room.system["id"], "mod": "Display", "name": "power"}
        reply = await _ask(ws, {**exec_frame, "args": [True]})
        assert reply["type"] == "error" and reply["error_code"] == 2
        bound = await _ask(
            ws, {"id": 2, "cmd": "bind", "sys": room.system["id"], "mod": "Display", "name": "power"}
        )
        assert bound["type"] == "success"  # reading is what the scope allows
    allowed = await api.user.post(path, json=[True])  # the user's full key may
    assert allowed.status_code == 200


async def test_bindings_and_field_lengths_are_bounded(api: Api) -> None:
    room = await seed_room(api)
    async with open_websocket_url(api.ws_url(Role.USER)) as ws:
        long_name = {"id": 1, "cmd": "bind", "sys": room.system["id"], "mod": "Display"}
        reply = await _ask(ws, {**long_name, "name": "k" * (MAX_FIELD_CHARS + 1)})
        assert reply["type"] == "error" and reply["error_code"] == 1
        base = {"cmd": "bind", "sys": room.system["id"], "mod": "Display"}
        for n in range(MAX_BINDINGS):
            await ws.send_message(json.dumps({**base, "id": 10 + n, "name": f"k{n}"}))
        last = await _ask(ws, {**base, "id": 5, "name": "one-too-many"})
        assert last["type"] == "error" and last["error_code"] == 1 and str(MAX_BINDINGS) in last["msg"]
        again = await _ask(ws, {**base, "id": 6, "name": "k0"})  # rebinding a held key is fine
        assert again["type"] == "success"


async def test_an_open_socket_stops_when_its_user_is_deleted(api: Api) -> None:
    room = await seed_room(api)
    api.router.set_fallback(recording_handler([]))
    async with open_websocket_url(api.ws_url(Role.USER)) as ws:
        frame = {
            "id": 1,
            "cmd": "exec",
            "sys": room.system["id"],
            "mod": "Display",
            "name": "power",
            "args": [True],
        }
        assert (await _ask(ws, frame))["type"] == "success"
        deleted = await api.admin.delete(f"/users/{api.user_ids[Role.USER]}")
        assert deleted.status_code in (200, 202, 204)
        await ws.send_message(json.dumps({**frame, "id": 2}))
        with trio.fail_after(30):  # generous: the session rechecks before every exec
            try:
                while True:
                    reply = json.loads(await ws.get_message())
                    assert not (reply.get("id") == 2 and reply.get("type") == "success"), reply
            except ConnectionClosed:
                pass
