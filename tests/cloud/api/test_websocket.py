"""The control WebSocket through a real server: bind/notify/unbind, exec, ping, errors, re-ordering, fuzz."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
import trio
from trio_websocket import ConnectionRejected, WebSocketConnection, open_websocket_url

from sync.model import Role
from sync.principal import Principal
from tests.cloud.api.conftest import Api, Room, seed_room

# Generous: a real socket on a busy machine, but a hang still fails the test.
TIMEOUT = 5


async def send(ws: WebSocketConnection, frame: dict[str, Any]) -> None:
    await ws.send_message(json.dumps(frame))


async def receive(ws: WebSocketConnection) -> Any:
    with trio.fail_after(TIMEOUT):
        message = await ws.get_message()
    return message if message == "pong" else json.loads(message)


def bind(
    request_id: int, room: Room, mod: str = "Display", index: int = 1, name: str = "power"
) -> dict[str, Any]:
    return {
        "id": request_id,
        "cmd": "bind",
        "sys": room.system["id"],
        "mod": mod,
        "index": index,
        "name": name,
    }


async def test_ping_pong(api: Api) -> None:
    async with open_websocket_url(api.ws_url()) as ws:
        await ws.send_message("ping")
        assert await receive(ws) == "pong"


async def test_bad_credentials_are_refused(api: Api) -> None:
    url = api.ws_url().split("?")[0] + "?api-key=nope"
    with pytest.raises(ConnectionRejected):
        async with open_websocket_url(url):
            pass


async def test_bind_notify_unbind(api: Api) -> None:
    room = await seed_room(api)
    display = room.displays[0]["id"]
    await api.bus.publish(display, "power", False)
    async with open_websocket_url(api.ws_url(Role.USER)) as ws:
        await send(ws, bind(1, room))
        meta = {"sys": room.system["id"], "mod": "Display", "index": 1, "name": "power"}
        assert await receive(ws) == {"id": 1, "type": "success", "meta": meta}
        assert await receive(ws) == {"id": 1, "type": "notify", "meta": meta, "value": False}
        await api.bus.publish(display, "power", True)
        assert (await receive(ws))["value"] is True
        await api.bus.publish(room.displays[1]["id"], "power", "other module")  # not bound
        await send(ws, {**bind(2, room), "cmd": "unbind"})
        assert (await receive(ws))["type"] == "success"
        await api.bus.publish(display, "power", "after unbind")
        await ws.send_message("ping")
        assert await receive(ws) == "pong"  # nothing was notified in between


async def test_bind_without_a_value_notifies_on_first_change(api: Api) -> None:
    room = await seed_room(api)
    async with open_websocket_url(api.ws_url()) as ws:
        await send(ws, bind(7, room, index=2, name="volume"))
        assert (await receive(ws))["type"] == "success"
        await api.bus.publish(room.displays[1]["id"], "volume", 42)
        frame = await receive(ws)
        assert frame["type"] == "notify" and frame["value"] == 42 and frame["meta"]["index"] == 2


async def test_exec_over_websocket(api: Api) -> None:
    room = await seed_room(api)

    async def handler(module_id: str, method: str, args: Any, who: Principal) -> Any:
        return {"module": module_id, "args": args}

    api.router.set_fallback(handler)
    async with open_websocket_url(api.ws_url(Role.USER)) as ws:
        request = {
            "id": 3,
            "cmd": "exec",
            "sys": room.system["id"],
            "mod": "Display",
            "index": 2,
            "name": "power",
            "args": [True],
        }
        await send(ws, request)
        reply = await receive(ws)
        assert reply["type"] == "success" and reply["id"] == 3
        assert reply["value"] == {"module": room.displays[1]["id"], "args": [True]}
        await send(ws, {**request, "id": 4, "name": "reboot"})
        denied = await receive(ws)
        assert denied["type"] == "error" and denied["error_code"] == 2 and denied["id"] == 4


async def test_exec_failure_is_error_3(api: Api) -> None:
    room = await seed_room(api)
    async with open_websocket_url(api.ws_url()) as ws:
        await send(
            ws,
            {
                "id": 5,
                "cmd": "exec",
                "sys": room.system["id"],
                "mod": "Display",
                "index": 1,
                "name": "power",
                "args": [],
            },
        )
        reply = await receive(ws)
        assert reply["error_code"] == 3 and "offline" in reply["msg"]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("{not json", 0),
        ("[1, 2, 3]", 0),
        ('{"cmd": "bind"}', 0),
        ('{"id": "1", "cmd": "bind", "sys": "s", "mod": "m", "name": "n"}', 0),
        ('{"id": 1, "cmd": "bind", "sys": "s", "mod": "m"}', 0),
        ('{"id": 1, "cmd": "bind", "sys": "s", "mod": "m", "name": "n", "index": 0}', 0),
        ('{"id": 1, "cmd": "dance", "sys": "s", "mod": "m", "name": "n"}', 4),
        ('{"id": 1, "cmd": "bind", "sys": "sys-NOPE", "mod": "m", "name": "n"}', 5),
    ],
)
async def test_request_errors(api: Api, frame: str, code: int) -> None:
    async with open_websocket_url(api.ws_url()) as ws:
        await ws.send_message(frame)
        reply = await receive(ws)
        assert reply["type"] == "error" and reply["error_code"] == code
        await ws.send_message("ping")
        assert await receive(ws) == "pong"


async def test_unknown_module_is_error_6(api: Api) -> None:
    room = await seed_room(api)
    async with open_websocket_url(api.ws_url()) as ws:
        await send(ws, bind(9, room, mod="Camera"))
        reply = await receive(ws)
        assert reply == {
            "id": 9,
            "type": "error",
            "error_code": 6,
            "msg": reply["msg"],
            "meta": reply["meta"],
        }
        assert reply["meta"]["mod"] == "Camera"


async def test_binding_follows_module_reordering(api: Api) -> None:
    room = await seed_room(api)
    first, second = room.displays[0]["id"], room.displays[1]["id"]
    await api.bus.publish(first, "power", "first")
    await api.bus.publish(second, "power", "second")
    async with open_websocket_url(api.ws_url()) as ws:
        await send(ws, bind(1, room))
        assert (await receive(ws))["type"] == "success"
        assert (await receive(ws))["value"] == "first"
        # Swap the displays: Display_1 now names the second module.
        reordered = [second, room.switcher["id"], first]
        response = await api.admin.patch(f"/systems/{room.system['id']}", json={"modules": reordered})
        assert response.status_code == 200
        frame = await receive(ws)
        assert frame["type"] == "notify" and frame["value"] == "second"
        await api.bus.publish(first, "power", "first changed")  # no longer bound
        await api.bus.publish(second, "power", "second changed")
        assert (await receive(ws))["value"] == "second changed"


async def test_debug_needs_support_and_streams(api: Api) -> None:
    room = await seed_room(api)
    module_id = room.displays[0]["id"]
    async with open_websocket_url(api.ws_url(Role.USER)) as ws:
        await send(ws, {"id": 1, "cmd": "debug", "sys": room.system["id"], "mod": module_id, "name": "debug"})
        assert (await receive(ws))["error_code"] == 2
    async with open_websocket_url(api.ws_url(Role.SUPPORT)) as ws:
        await send(ws, {"id": 2, "cmd": "debug", "sys": room.system["id"], "mod": module_id, "name": "debug"})
        assert (await receive(ws))["type"] == "success"
        api.router.emit_debug(module_id, "info", "sent POWR 1")
        frame = await receive(ws)
        assert frame["type"] == "debug" and frame["msg"] == "sent POWR 1" and frame["mod"] == module_id
        await send(
            ws, {"id": 3, "cmd": "ignore", "sys": room.system["id"], "mod": module_id, "name": "debug"}
        )
        assert (await receive(ws))["type"] == "success"


async def test_slow_client_does_not_stall_the_bus(api: Api) -> None:
    room = await seed_room(api)
    display = room.displays[0]["id"]
    async with open_websocket_url(api.ws_url()) as ws:
        await send(ws, bind(1, room))
        assert (await receive(ws))["type"] == "success"
        with trio.fail_after(TIMEOUT):
            for i in range(20_000):  # the client reads nothing meanwhile
                await api.bus.publish(display, "power", i)
        values = []
        while True:
            frame = await receive(ws)
            values.append(frame["value"])
            if frame["value"] == 19_999:
                break
        assert values == sorted(values)  # the newest arrives; older ones may be dropped


async def test_fuzz_keeps_server_and_session_alive(api: Api) -> None:
    room = await seed_room(api)
    rng = random.Random(1234)
    keys = ["id", "cmd", "sys", "mod", "index", "name", "args"]
    values: list[Any] = [
        None,
        True,
        0,
        -1,
        2**70,
        1.5,
        "",
        "bind",
        "exec",
        room.system["id"],
        "Display",
        [],
        {},
        [1, [2]],
        {"a": {"b": None}},
        "x" * 1000,
    ]
    async with open_websocket_url(api.ws_url()) as ws:
        for _ in range(300):
            kind = rng.random()
            if kind < 0.3:
                payload: str | bytes = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64)))
            elif kind < 0.5:
                payload = "".join(chr(rng.randint(1, 0x2FF)) for _ in range(rng.randint(0, 40)))
            else:
                frame = {rng.choice(keys): rng.choice(values) for _ in range(rng.randint(0, 7))}
                payload = json.dumps(frame)
            await ws.send_message(payload)
        await ws.send_message("ping")
        with trio.fail_after(TIMEOUT):
            while (message := await ws.get_message()) != "pong":
                if message != "pong":
                    reply = json.loads(message)
                    assert reply["type"] in ("error", "success", "notify")
    async with open_websocket_url(api.ws_url()) as ws:  # the server still accepts sessions
        await ws.send_message("ping")
        assert await receive(ws) == "pong"
